"""Floor views: the least a Django request can cost on this stack, measured in the same run.

- GET floor: one indexed SELECT (a candidate by primary key) and a tiny template.
- POST floor: one INSERT (a contact) and one UPDATE (the candidate's counters) in a transaction.
Both pass the same middleware as the app (sessions, CSRF, auth) but no login check.
"""

from __future__ import annotations

import random

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from admissions.models import Candidate
from callbacks.models import ContactLog

TEMPLATE = engines["django"].from_string(
    "<!doctype html><title>floor</title><p>{{ c.exam_number }} {{ c.name }} {{ c.status }}</p>"
)
_max_id: list[int] = []


def _random_id() -> int:
    if not _max_id:
        _max_id.append(Candidate.objects.order_by("-id").values_list("id", flat=True).first() or 1)
    return random.randint(1, _max_id[0])


def get_floor(request: HttpRequest) -> HttpResponse:
    c = Candidate.objects.filter(pk=_random_id()).only("exam_number", "name", "status").first()
    return HttpResponse(TEMPLATE.render({"c": c}))


@require_POST
def post_floor(request: HttpRequest) -> HttpResponse:
    cid = _random_id()
    with transaction.atomic():
        ContactLog.objects.create(
            candidate_id=cid,
            caller_id=1,
            contacted_at=timezone.now(),
            duration_seconds=30,
            outcome="no_answer",
        )
        Candidate.objects.filter(pk=cid).update(contact_count=F("contact_count") + 1)
    return HttpResponse("ok")


urlpatterns = [
    path("floor/get/", get_floor),
    path("floor/post/", post_floor),
]
