"""Strike-team cases: escalation rules, approval, verification, taking, closing, credits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from freezegun import freeze_time

from admissions.choices import CallbackStatus
from callbacks.casework_models import StrikeCase, StrikeCaseKind, StrikeCaseStatus, StrikeResult
from callbacks.casework_selectors import (
    StrikeCredit,
    may_log_contact,
    strike_cases_for,
    strike_credits,
    strike_queue,
)
from callbacks.casework_services import (
    strike_case_approve,
    strike_case_close,
    strike_case_decline,
    strike_case_escalate,
    strike_case_send_after_registration,
    strike_case_take,
)
from callbacks.models import Assignment
from tests.casework.factories import StrikeCaseFactory
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory

pytestmark = pytest.mark.django_db


def verify(case, supervisor):
    """What supervision's no-show verification writes (supervision.services.noshow_verify)."""
    StrikeCase.objects.filter(pk=case.pk).update(
        verified_by=supervisor, verified_at=timezone.now(), verification_note="听了录音，确认不来"
    )


def escalate(candidate, caller, kind=StrikeCaseKind.UNREACHABLE, steps=("empty_number", "lookup_114")):
    return strike_case_escalate(
        candidate=candidate, user=caller.user, kind=kind, steps_tried=list(steps), note="空号，114 查不到"
    )


@pytest.fixture
def refused(caller, sichuan):
    candidate = CandidateFactory(season=caller.season, province=sichuan, status=CallbackStatus.REFUSED)
    AssignmentFactory(caller=caller, candidate=candidate)
    return candidate


def test_escalation_is_pending_and_keeps_the_assignment(unreachable, caller):
    case = escalate(unreachable, caller)
    assert case.status == StrikeCaseStatus.PENDING
    assert case.requested_by == caller
    assert case.steps_tried == ["empty_number", "lookup_114"]
    assert case.steps_tried_display() == ["空号", "114 查询"]
    assert Assignment.objects.get(candidate=unreachable, active=True).caller == caller


def test_unreachable_needs_steps_tried(unreachable, caller):
    with pytest.raises(ValidationError, match="请勾选已经尝试过的联系办法"):
        escalate(unreachable, caller, steps=())


def test_unknown_step_is_refused(unreachable, caller):
    with pytest.raises(ValidationError, match="未知的联系办法"):
        escalate(unreachable, caller, steps=("telepathy",))


def test_reached_candidate_is_not_unreachable(mine, caller):
    with pytest.raises(ValidationError, match="只有联系不上的考生"):
        escalate(mine, caller)


def test_no_show_only_in_non_withdrawable_provinces(caller, henan, refused):
    in_henan = CandidateFactory(season=caller.season, province=henan, status=CallbackStatus.REFUSED)
    AssignmentFactory(caller=caller, candidate=in_henan)
    with pytest.raises(ValidationError, match="可退档省份的考生确认不来时应办理退档"):
        escalate(in_henan, caller, kind=StrikeCaseKind.NO_SHOW)
    case = escalate(refused, caller, kind=StrikeCaseKind.NO_SHOW, steps=())
    assert case.kind == StrikeCaseKind.NO_SHOW
    assert case.status == StrikeCaseStatus.PENDING


def test_caller_cannot_escalate_after_registration_kind(unreachable, caller):
    with pytest.raises(ValidationError, match="回访员只能转"):
        escalate(unreachable, caller, kind=StrikeCaseKind.AFTER_REGISTRATION)


def test_one_open_case_per_candidate(unreachable, caller):
    escalate(unreachable, caller)
    with pytest.raises(ValidationError, match="已在突击组处理中"):
        escalate(unreachable, caller)


def test_outsider_cannot_escalate(unreachable, outsider):
    with pytest.raises(PermissionDenied):
        escalate(unreachable, outsider)


def test_leader_approves_and_case_enters_the_queue(unreachable, caller, leader, striker):
    case = escalate(unreachable, caller)
    assert list(strike_queue(user=striker.user, season=caller.season)) == []
    approved = strike_case_approve(case=case, user=leader.user)
    assert approved.status == StrikeCaseStatus.APPROVED
    assert approved.approved_by == leader.user
    assert approved.approved_at is not None
    assert list(strike_queue(user=striker.user, season=caller.season)) == [case]


def test_approval_rights(unreachable, caller, other_leader, striker, supervisor):
    case = escalate(unreachable, caller)
    for user in (caller.user, other_leader.user, striker.user, supervisor.user):
        with pytest.raises(PermissionDenied):
            strike_case_approve(case=case, user=user)


def test_decline_needs_reason_and_is_final(unreachable, caller, leader):
    case = escalate(unreachable, caller)
    with pytest.raises(ValidationError, match="请写明未批准的原因"):
        strike_case_decline(case=case, user=leader.user, reason="")
    declined = strike_case_decline(case=case, user=leader.user, reason="还没找班主任")
    assert declined.status == StrikeCaseStatus.DECLINED
    with pytest.raises(ValidationError, match="不能改为"):
        strike_case_approve(case=case, user=leader.user)
    # a declined case is no longer open: the caller may escalate again later
    assert escalate(unreachable, caller).status == StrikeCaseStatus.PENDING


def test_no_show_needs_verification_before_taking(refused, caller, leader, striker, supervisor):
    case = escalate(refused, caller, kind=StrikeCaseKind.NO_SHOW, steps=())
    strike_case_approve(case=case, user=leader.user)
    assert list(strike_queue(user=striker.user, season=caller.season)) == []
    with pytest.raises(ValidationError, match="尚待督查组核实"):
        strike_case_take(case=case, user=striker.user)
    verify(case, supervisor)
    case.refresh_from_db()
    assert case.verified_by == supervisor
    assert list(strike_queue(user=striker.user, season=caller.season)) == [case]
    taken = strike_case_take(case=case, user=striker.user)
    assert taken.holder == striker


def test_dismissed_case_is_not_takeable(refused, caller, leader, striker):
    case = escalate(refused, caller, kind=StrikeCaseKind.NO_SHOW, steps=())
    strike_case_approve(case=case, user=leader.user)
    StrikeCase.objects.filter(pk=case.pk).update(status=StrikeCaseStatus.DISMISSED)
    assert list(strike_queue(user=striker.user, season=caller.season)) == []
    with pytest.raises(ValidationError):
        strike_case_take(case=StrikeCase.objects.get(pk=case.pk), user=striker.user)


def test_unreachable_is_takeable_without_verification(unreachable, caller, leader, striker):
    case = escalate(unreachable, caller)
    strike_case_approve(case=case, user=leader.user)
    case.refresh_from_db()
    assert case.takeable
    assert strike_case_take(case=case, user=striker.user).holder == striker


def test_after_registration_only_after_registration_closed(caller, leader, sichuan):
    candidate = CandidateFactory(season=caller.season, province=sichuan, status=CallbackStatus.CONFIRMED)
    AssignmentFactory(caller=caller, candidate=candidate)
    with pytest.raises(ValidationError, match="报到尚未结束"):
        strike_case_send_after_registration(
            candidate=candidate, user=leader.user, note="没来报到", today=dt.date(2023, 9, 8)
        )
    case = strike_case_send_after_registration(
        candidate=candidate, user=leader.user, note="没来报到", today=dt.date(2023, 9, 9)
    )
    assert case.kind == StrikeCaseKind.AFTER_REGISTRATION
    assert case.status == StrikeCaseStatus.APPROVED
    assert case.approved_by == leader.user
    assert not case.takeable


@freeze_time("2023-09-10 09:00:00+08:00")
def test_after_registration_rights_and_enrolled(caller, leader, office_user, sichuan):
    candidate = CandidateFactory(season=caller.season, province=sichuan)
    AssignmentFactory(caller=caller, candidate=candidate)
    with pytest.raises(PermissionDenied):
        strike_case_send_after_registration(candidate=candidate, user=caller.user, note="没来")
    candidate.enrolled_on = dt.date(2023, 9, 8)
    candidate.save()
    with pytest.raises(ValidationError, match="已报到"):
        strike_case_send_after_registration(candidate=candidate, user=office_user, note="没来")


def test_take_and_close(unreachable, caller, striker, striker2):
    case = StrikeCaseFactory(candidate=unreachable, requested_by=caller)
    taken = strike_case_take(case=case, user=striker.user)
    assert taken.status == StrikeCaseStatus.TAKEN
    assert taken.holder == striker
    with pytest.raises(ValidationError, match=r"不能改为|刚被他人处理"):
        strike_case_take(case=case, user=striker2.user)
    with pytest.raises(PermissionDenied):
        strike_case_close(case=case, user=striker2.user, result=StrikeResult.REACHED, note="")
    closed = strike_case_close(
        case=case, user=striker.user, result=StrikeResult.REACHED, note="通过班主任联系上"
    )
    assert closed.status == StrikeCaseStatus.CLOSED
    assert closed.result == StrikeResult.REACHED
    assert closed.result_note == "通过班主任联系上"
    assert closed.closed_at is not None
    assert Assignment.objects.get(candidate=unreachable, active=True).caller == caller


def test_only_strike_members_take(unreachable, caller, leader):
    case = StrikeCaseFactory(candidate=unreachable)
    for user in (caller.user, leader.user):
        with pytest.raises(PermissionDenied):
            strike_case_take(case=case, user=user)


def test_closing_a_pending_case_is_refused(unreachable, caller, leader):
    case = escalate(unreachable, caller)
    with pytest.raises(ValidationError, match="不能改为"):
        strike_case_close(case=case, user=leader.user, result=StrikeResult.OTHER, note="")


def test_holder_may_log_contacts_with_the_workspace_service(unreachable, caller, striker, striker2):
    from callbacks.choices import Outcome
    from callbacks.services import contact_log

    case = StrikeCaseFactory(candidate=unreachable)
    assert not may_log_contact(user=striker.user, candidate=unreachable)
    with pytest.raises(ValidationError):
        contact_log(
            caller=striker, candidate=unreachable, contacted_at=timezone.now(), outcome=Outcome.NO_ANSWER
        )
    strike_case_take(case=case, user=striker.user)
    assert may_log_contact(user=striker.user, candidate=unreachable)
    assert may_log_contact(user=caller.user, candidate=unreachable)
    assert not may_log_contact(user=striker2.user, candidate=unreachable)
    log = contact_log(
        caller=striker,
        candidate=unreachable,
        contacted_at=timezone.now(),
        outcome=Outcome.CONNECTED,
        duration_seconds=120,
    )
    assert log.caller == striker
    unreachable.refresh_from_db()
    assert unreachable.contact_count == 1


def test_scoping_of_cases(unreachable, caller, leader, other_leader, outsider, striker, office_user):
    pending = escalate(unreachable, caller)
    season = caller.season
    assert list(strike_cases_for(user=caller.user, season=season)) == [pending]
    assert list(strike_cases_for(user=leader.user, season=season)) == [pending]
    assert list(strike_cases_for(user=other_leader.user, season=season)) == []
    assert list(strike_cases_for(user=outsider.user, season=season)) == []
    assert list(strike_cases_for(user=striker.user, season=season)) == []
    assert list(strike_cases_for(user=office_user, season=season)) == [pending]


# --- strike_credits ----------------------------------------------------------------------------


def test_strike_credits(season, striker, striker2, supervisor, sichuan):
    now = timezone.now()

    def case(kind, *, holder=striker, verified=True, enrolled=True, **kw):
        candidate = CandidateFactory(
            season=season, province=sichuan, enrolled_on=dt.date(2023, 9, 12) if enrolled else None
        )
        return StrikeCaseFactory(
            candidate=candidate,
            kind=kind,
            status=StrikeCaseStatus.CLOSED if holder else StrikeCaseStatus.APPROVED,
            holder=holder,
            verified_by=supervisor if verified else None,
            verified_at=now if verified else None,
            **kw,
        )

    credited_no_show = case(StrikeCaseKind.NO_SHOW)
    credited_after = case(StrikeCaseKind.AFTER_REGISTRATION, holder=striker2)
    case(StrikeCaseKind.NO_SHOW, verified=False)
    case(StrikeCaseKind.NO_SHOW, enrolled=False)
    case(StrikeCaseKind.AFTER_REGISTRATION, holder=None)
    case(StrikeCaseKind.UNREACHABLE)
    # a no-show that became an after-registration case counts once, as the later kind
    twice = case(StrikeCaseKind.NO_SHOW)
    StrikeCaseFactory(
        candidate=twice.candidate,
        kind=StrikeCaseKind.AFTER_REGISTRATION,
        status=StrikeCaseStatus.TAKEN,
        holder=striker2,
        verified_by=supervisor,
        verified_at=now,
    )
    other_season_candidate = CandidateFactory(season__year=2024, enrolled_on=dt.date(2024, 9, 9))
    StrikeCaseFactory(
        candidate=other_season_candidate,
        kind=StrikeCaseKind.NO_SHOW,
        holder=striker,
        status=StrikeCaseStatus.CLOSED,
        verified_at=now,
    )

    credits = strike_credits(season=season)
    assert credits == sorted(
        [
            StrikeCredit(holder_id=striker.pk, candidate_id=credited_no_show.candidate_id, kind="no_show"),
            StrikeCredit(
                holder_id=striker2.pk, candidate_id=credited_after.candidate_id, kind="after_registration"
            ),
            StrikeCredit(holder_id=striker2.pk, candidate_id=twice.candidate_id, kind="after_registration"),
        ],
        key=lambda c: (c.holder_id, c.candidate_id),
    )


def test_strike_credits_query_count(season, striker, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert strike_credits(season=season) == []


def test_strike_member_of_another_season_is_not_a_holder(unreachable, striker):
    other = CallerFactory(season__year=2024, user=striker.user, staff_no="k1001")
    case = StrikeCaseFactory(candidate=unreachable)
    assert other.season_id != unreachable.season_id
    taken = strike_case_take(case=case, user=striker.user)
    assert taken.holder == striker
