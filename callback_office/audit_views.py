"""The office's audit log page: who changed what and when (old → new), newest first."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from callback_office.roles import Role, require_role

PAGE_SIZE = 100


@require_role(Role.OFFICE)
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    model = request.GET.get("model", "")
    object_pk = request.GET.get("object", "")
    if model:
        entries = entries.filter(content_type__model=model)
    if object_pk:
        entries = entries.filter(object_pk=object_pk)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    models = LogEntry.objects.values_list("content_type__model", flat=True).distinct().order_by()
    return render(
        request,
        "audit/log.html",
        {"page": page, "model": model, "object_pk": object_pk, "models": sorted(set(models))},
    )
