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


@require_role(Role.OFFICE)
def pii_log(request: HttpRequest) -> HttpResponse:
    """个人信息查看记录: who was shown which candidate's full ID number / phones, and when."""
    from admissions.models import PiiAccessLog

    entries = PiiAccessLog.objects.select_related("user", "candidate").order_by("-created_at", "-pk")
    exam_number = request.GET.get("exam_number", "").strip()
    username = request.GET.get("user", "").strip()
    if exam_number:
        entries = entries.filter(candidate__exam_number=exam_number)
    if username:
        entries = entries.filter(user__username=username)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "audit/pii_log.html", {"page": page, "exam_number": exam_number, "username": username}
    )
