"""The qualification gate (资格审查, issue 5): a caller whose review is pending or rejected may
neither claim candidates nor log contacts — even for a candidate still assigned to them (an
assignment from before a rejection, or one an import made) — and is told why in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from callbacks import selectors, services
from callbacks.casework_models import StrikeCaseStatus
from callbacks.choices import Intent, Outcome, QualificationStatus
from callbacks.models import Assignment, ContactLog
from tests.casework.factories import StrikeCaseFactory
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory

pytestmark = pytest.mark.django_db

GATE = "你的回访资格审查尚未通过，暂不能记录回访。请联系督查组。"
NOT_QUALIFIED = [QualificationStatus.PENDING, QualificationStatus.REJECTED]


@pytest.fixture
def held(caller, season):
    candidate = CandidateFactory(season=season)
    AssignmentFactory(candidate=candidate, caller=caller)
    return candidate


def disqualify(caller, status):
    caller.qualification_status = status
    caller.save(update_fields=["qualification_status"])


def form_data():
    when = timezone.localtime(timezone.now() - dt.timedelta(minutes=3))
    return {
        "contacted_at": when.strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "outcome": Outcome.CONNECTED,
        "intent": Intent.CONFIRMED,
        "duration_minutes": "4",
        "duration_seconds": "0",
        "notes": "家长同意就读",
        "new_owner_1": "parent",
        "new_owner_2": "other",
    }


@pytest.mark.parametrize("status", NOT_QUALIFIED)
def test_service_refuses_an_unqualified_assigned_caller(caller, held, status):
    disqualify(caller, status)
    assert not selectors.caller_may_log_contact(caller=caller, candidate=held)
    assert not selectors.candidate_access(user=caller.user, candidate=held).may_log
    with pytest.raises(ValidationError) as exc:
        services.contact_log(
            caller=caller, candidate=held, contacted_at=timezone.now(), outcome=Outcome.NO_ANSWER
        )
    assert exc.value.messages == [GATE]
    assert not ContactLog.objects.exists()


def test_a_qualified_caller_still_logs(caller, held):
    assert selectors.caller_may_log_contact(caller=caller, candidate=held)
    services.contact_log(
        caller=caller, candidate=held, contacted_at=timezone.now(), outcome=Outcome.NO_ANSWER
    )
    assert ContactLog.objects.filter(caller=caller, candidate=held).count() == 1


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("status", NOT_QUALIFIED)
def test_contact_form_post_shows_the_gate_and_saves_nothing(client, caller, held, status, htmx):
    disqualify(caller, status)
    client.force_login(caller.user)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(reverse("callbacks:contact_create", args=[held.pk]), form_data(), headers=headers)
    assert response.status_code == 200
    assert GATE in response.content.decode()
    assert not ContactLog.objects.exists()
    held.refresh_from_db()
    assert held.contact_count == 0


def test_candidate_page_hides_the_form_and_says_why(client, caller, held):
    disqualify(caller, QualificationStatus.PENDING)
    client.force_login(caller.user)
    page = client.get(reverse("callbacks:candidate_detail", args=[held.pk])).content.decode()
    assert GATE in page
    assert reverse("callbacks:contact_create", args=[held.pk]) not in page
    disqualify(caller, QualificationStatus.QUALIFIED)
    page = client.get(reverse("callbacks:candidate_detail", args=[held.pk])).content.decode()
    assert GATE not in page
    assert reverse("callbacks:contact_create", args=[held.pk]) in page


def test_followup_scheduling_is_refused(client, caller, held):
    disqualify(caller, QualificationStatus.REJECTED)
    client.force_login(caller.user)
    response = client.post(reverse("callbacks:followup_set", args=[held.pk]), {"next_call_at": ""})
    assert response.status_code == 403


def test_strike_team_holder_needs_the_review_too(season, caller, held):
    """The strike-team grant lets the holder log; an unreviewed holder is still refused."""
    strike = CallerFactory(season=season, team=None, user__username="k9001")
    StrikeCaseFactory(candidate=held, requested_by=caller, holder=strike, status=StrikeCaseStatus.TAKEN)
    assert selectors.caller_may_log_contact(caller=strike, candidate=held)
    disqualify(strike, QualificationStatus.PENDING)
    assert not selectors.caller_may_log_contact(caller=strike, candidate=held)
    with pytest.raises(ValidationError):
        services.contact_log(
            caller=strike, candidate=held, contacted_at=timezone.now(), outcome=Outcome.NO_ANSWER
        )


@pytest.mark.parametrize("status", NOT_QUALIFIED)
def test_claiming_is_refused_with_the_gate_message(client, caller, season, status):
    CandidateFactory(season=season, in_pool=True)
    disqualify(caller, status)
    client.force_login(caller.user)
    response = client.post(reverse("callbacks:pool_claim"), {"count": "1"}, follow=True)
    assert "你的回访资格审查尚未通过，暂不能领取或分配考生。请联系督查组。" in response.content.decode()
    assert not Assignment.objects.exists()
