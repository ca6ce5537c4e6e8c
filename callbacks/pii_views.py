"""Revealing a candidate's full ID number: an explicit POST by the office or the assigned caller,
logged (PiiAccessLog: who, when, which candidate). Everyone else gets 403 (out of scope: 404)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from admissions.models import PiiField
from admissions.selectors import season_current
from admissions.services import pii_access_record
from callbacks import selectors


@require_POST
@login_required
def reveal_id_number(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: answers the ID-number fragment with the full value; without JS: a small page."""
    season = season_current()
    qs = selectors.candidates_for(user=request.user, season=season).select_related("season")
    candidate = get_object_or_404(qs, pk=pk)
    if not selectors.candidate_access(user=request.user, candidate=candidate).full_pii:
        raise PermissionDenied
    pii_access_record(user=request.user, candidate=candidate, field=PiiField.ID_NUMBER, path=request.path)
    context = {"candidate": candidate, "id_number": candidate.id_number, "revealed": True}
    if request.htmx:
        return render(request, "callbacks/_id_number.html", context)
    return render(request, "callbacks/id_number_revealed.html", context)
