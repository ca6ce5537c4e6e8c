"""Services of the caller workspace: pool, claim, distribution, 报备, contacts, follow-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from admissions.choices import CallbackStatus, Level, PhoneOwner
from admissions.models import Candidate, CandidatePhone
from callbacks.choices import AssignmentSource, CallerKind, Channel, Intent, Outcome, QualificationStatus
from callbacks.models import Assignment, ContactLog
from callbacks.selectors import CONTACT_LOG_GRANTS, ledger_summary
from callbacks.services import (
    apportion,
    assignment_claim,
    assignment_distribute,
    contact_log,
    followup_schedule,
    pool_release,
    pool_withdraw,
    prospect_report_create,
    status_after_contact,
)
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, PhoneFactory
from tests.workspace.factories import ProspectReportFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def pool_of(season, n, **kw):
    return [CandidateFactory(season=season, in_pool=True, **kw) for _ in range(n)]


def active_pairs(season):
    return set(
        Assignment.objects.filter(active=True, candidate__season=season).values_list(
            "candidate_id", "caller_id"
        )
    )


# --- claiming -------------------------------------------------------------------------------


def test_claim_takes_next_candidates_by_id_and_empties_them_from_the_pool(caller, season):
    pool = pool_of(season, 5)
    claimed = assignment_claim(caller=caller, count=3)
    assert [a.candidate_id for a in claimed] == [c.pk for c in pool[:3]]
    assert {a.source for a in claimed} == {AssignmentSource.POOL}
    assert set(Candidate.objects.filter(in_pool=True).values_list("id", flat=True)) == {
        pool[3].pk,
        pool[4].pk,
    }


def test_second_claim_gets_the_rest_and_an_empty_pool_gives_nothing(caller, outsider, season):
    pool = pool_of(season, 4)
    assignment_claim(caller=caller, count=3)
    second = assignment_claim(caller=outsider, count=3)
    assert [a.candidate_id for a in second] == [pool[3].pk]
    assert assignment_claim(caller=outsider, count=3) == []
    assert len(active_pairs(season)) == 4


def test_unqualified_caller_is_refused_in_chinese(caller, season):
    pool_of(season, 2)
    caller.qualification_status = QualificationStatus.PENDING
    caller.save()
    with pytest.raises(ValidationError) as exc:
        assignment_claim(caller=caller, count=1)
    assert exc.value.messages == ["你的回访资格审查尚未通过，暂不能领取或分配考生。请联系督查组。"]
    assert Assignment.objects.count() == 0


@pytest.mark.parametrize("count", [0, 51])
def test_claim_count_is_bounded(caller, season, count):
    with pytest.raises(ValidationError) as exc:
        assignment_claim(caller=caller, count=count)
    assert exc.value.message_dict == {"count": ["每次可领取 1–50 名考生。"]}


def test_claim_skips_candidates_already_assigned_even_if_flagged_in_pool(caller, outsider, season):
    taken, free = pool_of(season, 2)
    AssignmentFactory(caller=outsider, candidate=taken)
    claimed = assignment_claim(caller=caller, count=2)
    assert [a.candidate_id for a in claimed] == [free.pk]


def test_own_reported_candidates_come_first_and_others_reports_are_left(caller, outsider, season):
    plain, reported_by_me, reported_by_other = pool_of(season, 3)
    ProspectReportFactory(season=season, caller=caller, exam_number=reported_by_me.exam_number)
    ProspectReportFactory(
        season=season, caller=outsider, exam_number="", id_number=reported_by_other.id_number
    )
    claimed = assignment_claim(caller=caller, count=5)
    assert [(a.candidate_id, a.source) for a in claimed] == [
        (reported_by_me.pk, AssignmentSource.REPORT),
        (plain.pk, AssignmentSource.POOL),
    ]
    theirs = assignment_claim(caller=outsider, count=5)
    assert [(a.candidate_id, a.source) for a in theirs] == [(reported_by_other.pk, AssignmentSource.REPORT)]


def test_report_by_an_unqualified_caller_reserves_nothing(caller, outsider, season):
    (candidate,) = pool_of(season, 1)
    outsider.qualification_status = QualificationStatus.REJECTED
    outsider.save()
    ProspectReportFactory(season=season, caller=outsider, exam_number=candidate.exam_number)
    assert [a.candidate_id for a in assignment_claim(caller=caller, count=1)] == [candidate.pk]


# --- releasing ------------------------------------------------------------------------------


def test_release_by_province_and_level_sends_reported_candidates_to_the_reporter(
    caller, season, sichuan, henan
):
    a = CandidateFactory(season=season, province=sichuan, level=Level.UNDERGRADUATE)
    b = CandidateFactory(season=season, province=sichuan, level=Level.UNDERGRADUATE)
    other_level = CandidateFactory(season=season, province=sichuan, level=Level.JUNIOR)
    other_province = CandidateFactory(season=season, province=henan, level=Level.UNDERGRADUATE)
    withdrawn = CandidateFactory(season=season, province=sichuan, status=CallbackStatus.WITHDRAWN)
    ProspectReportFactory(season=season, caller=caller, exam_number=b.exam_number)

    result = pool_release(season=season, province_id=sichuan.pk, level=Level.UNDERGRADUATE)

    assert (result.released, result.to_reporters) == (1, 1)
    assert set(Candidate.objects.filter(in_pool=True).values_list("id", flat=True)) == {a.pk}
    assert active_pairs(season) == {(b.pk, caller.pk)}
    assert Assignment.objects.get(candidate=b).source == AssignmentSource.REPORT
    for c in (other_level, other_province, withdrawn):
        c.refresh_from_db()
        assert not c.in_pool


def test_release_by_batch_leaves_assigned_candidates_alone(caller, season):
    first = CandidateFactory(season=season, batch="本科一批")
    assigned = AssignmentFactory(
        caller=caller, candidate=CandidateFactory(season=season, batch="本科一批")
    ).candidate
    CandidateFactory(season=season, batch="专科批")
    assert pool_release(season=season, batch="本科一批").released == 1
    assert list(Candidate.objects.filter(in_pool=True).values_list("id", flat=True)) == [first.pk]
    assigned.refresh_from_db()
    assert not assigned.in_pool


def test_release_and_withdrawal_write_one_audit_entry_per_candidate_with_the_actor(
    caller, season, office_user
):
    from auditlog.context import set_actor
    from auditlog.models import LogEntry

    taken = CandidateFactory(season=season)
    left = CandidateFactory(season=season)
    with set_actor(office_user):
        pool_release(season=season)
        assignment_claim(caller=caller, count=1)  # takes `taken` (the lowest id)
        assert pool_withdraw(season=season) == 1

    entries = LogEntry.objects.filter(
        object_pk__in=[str(taken.pk), str(left.pk)], changes__has_key="in_pool", action=LogEntry.Action.UPDATE
    )
    flags = sorted((e.object_repr, e.changes["in_pool"], e.actor_id) for e in entries)
    assert flags == sorted(
        [
            (taken.exam_number, ["False", "True"], office_user.pk),
            (left.exam_number, ["False", "True"], office_user.pk),
            (left.exam_number, ["True", "False"], office_user.pk),
        ]
    )
    left.refresh_from_db()
    assert not left.in_pool


# --- fair distribution ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (5, ["1", "0.5", "0.5"], [3, 1, 1]),
        (10, ["1", "0.5", "0.5"], [5, 3, 2]),
        (10, ["1", "1", "1"], [4, 3, 3]),
        (2, ["1", "1", "1"], [1, 1, 0]),
        (0, ["1"], [0]),
        (7, ["0", "1"], [0, 7]),
    ],
)
def test_apportion_by_largest_remainder(total, weights, expected):
    assert apportion(total, [Decimal(w) for w in weights]) == expected


def test_distribute_weights_by_capacity_and_never_double_assigns(season, team):
    teacher = CallerFactory(season=season, team=team, kind=CallerKind.TEACHER)
    student1 = CallerFactory(season=season, team=team, kind=CallerKind.STUDENT)
    student2 = CallerFactory(season=season, team=team, kind=CallerKind.STUDENT)
    CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    pool = pool_of(season, 10)

    given = assignment_distribute(season=season)

    assert given == {teacher.pk: 5, student1.pk: 3, student2.pk: 2}
    pairs = active_pairs(season)
    assert {cid for cid, _ in pairs} == {c.pk for c in pool}
    assert len(pairs) == 10
    assert not Candidate.objects.filter(in_pool=True).exists()
    assert set(Assignment.objects.values_list("source", flat=True)) == {AssignmentSource.OFFICE}


def test_distribute_honours_explicit_capacity_and_reports(season, team):
    a = CallerFactory(season=season, team=team, capacity=Decimal("0.25"))
    b = CallerFactory(season=season, team=team, capacity=Decimal("0.75"))
    pool = pool_of(season, 5)
    ProspectReportFactory(season=season, caller=a, exam_number=pool[0].exam_number)
    given = assignment_distribute(season=season)
    assert given == {a.pk: 2, b.pk: 3}
    assert Assignment.objects.get(candidate=pool[0]).caller_id == a.pk
    assert Assignment.objects.get(candidate=pool[0]).source == AssignmentSource.REPORT


def test_distribute_without_qualified_callers_is_refused(season, team):
    CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    pool_of(season, 2)
    with pytest.raises(ValidationError) as exc:
        assignment_distribute(season=season)
    assert exc.value.messages == ["没有资格审查已通过的回访员，无法分配。"]


# --- 报备 -------------------------------------------------------------------------------------


def test_report_first_reporter_wins(caller, outsider):
    prospect_report_create(caller=caller, exam_number="23510101000001")
    with pytest.raises(ValidationError) as exc:
        prospect_report_create(caller=outsider, exam_number="23510101000001")
    assert exc.value.message_dict == {"exam_number": ["该考生已由其他回访员报备（谁报备谁回访）。"]}
    with pytest.raises(ValidationError) as exc:
        prospect_report_create(caller=caller, exam_number="23510101000001")
    assert exc.value.message_dict == {"exam_number": ["你已报备过该考生。"]}


def test_report_needs_exam_or_id_number(caller):
    with pytest.raises(ValidationError) as exc:
        prospect_report_create(caller=caller, name="张三")
    assert exc.value.message_dict == {"exam_number": ["请填写考生号或身份证号。"]}


def test_report_of_a_candidate_waiting_in_the_pool_assigns_it_at_once(caller, season):
    waiting, _other = pool_of(season, 2)
    prospect_report_create(caller=caller, id_number=waiting.id_number.lower())
    assert active_pairs(season) == {(waiting.pk, caller.pk)}


# --- contacts ---------------------------------------------------------------------------------

S = CallbackStatus


@pytest.mark.parametrize(
    ("current", "outcome", "intent", "expected"),
    [
        (S.UNCONTACTED, Outcome.CONNECTED, Intent.CONFIRMED, S.CONFIRMED),
        (S.UNCONTACTED, Outcome.CONNECTED, Intent.NONE, S.HESITANT),
        (S.UNREACHABLE, Outcome.REPLIED, Intent.NONE, S.HESITANT),
        (S.CONFIRMED, Outcome.CONNECTED, Intent.NONE, S.CONFIRMED),
        (S.HESITANT, Outcome.CONNECTED, Intent.WANTS_WITHDRAWAL, S.WITHDRAWAL_REQUESTED),
        (S.CONFIRMED, Outcome.CONNECTED, Intent.REFUSED, S.REFUSED),
        (S.UNCONTACTED, Outcome.NO_ANSWER, Intent.NONE, S.UNREACHABLE),
        (S.HESITANT, Outcome.POWERED_OFF, Intent.NONE, S.UNREACHABLE),
        (S.CONFIRMED, Outcome.EMPTY_NUMBER, Intent.NONE, S.CONFIRMED),
        (S.REFUSED, Outcome.NO_REPLY, Intent.NONE, S.REFUSED),
        (S.WITHDRAWAL_REQUESTED, Outcome.SUSPENDED, Intent.NONE, S.WITHDRAWAL_REQUESTED),
        (S.WITHDRAWN, Outcome.CONNECTED, Intent.CONFIRMED, S.WITHDRAWN),
        (S.UNCONTACTED, Outcome.OTHER, Intent.NONE, S.UNCONTACTED),
    ],
)
def test_status_after_contact(current, outcome, intent, expected):
    assert status_after_contact(current=current, outcome=outcome, intent=intent) == expected


def log(caller, candidate, **kw):
    kw.setdefault("contacted_at", timezone.now() - dt.timedelta(minutes=5))
    kw.setdefault("outcome", Outcome.CONNECTED)
    return contact_log(caller=caller, candidate=candidate, **kw)


def test_contact_log_updates_status_counters_and_phones(caller, mine):
    PhoneFactory(candidate=mine, number="13800000001")
    t1 = timezone.now() - dt.timedelta(hours=2)
    t2 = timezone.now() - dt.timedelta(hours=1)
    log(
        caller,
        mine,
        contacted_at=t2,
        duration_seconds=125,
        intent=Intent.HESITANT,
        risk_signals=["tuition", "distance", "tuition"],
        new_phones=[("138-0000-0002", PhoneOwner.PARENT), ("13800000001", PhoneOwner.OTHER)],
    )
    log(caller, mine, contacted_at=t1, duration_seconds=60, outcome=Outcome.NO_ANSWER, channel=Channel.PHONE)

    mine.refresh_from_db()
    assert mine.status == S.UNREACHABLE
    assert (mine.contact_count, mine.contact_seconds) == (2, 185)
    assert mine.last_contact_at == t2  # an older contact logged later does not move it back
    assert list(mine.phones.values_list("number", "owner")) == [
        ("13800000001", PhoneOwner.SELF),
        ("13800000002", PhoneOwner.PARENT),
    ]
    first = ContactLog.objects.get(contacted_at=t2)
    assert first.risk_signals == ["tuition", "distance"]
    assert first.new_numbers == "13800000002, 13800000001"


def test_contact_log_marks_masters_interest(caller, mine):
    log(caller, mine, masters_track_interest=True)
    mine.refresh_from_db()
    assert mine.masters_track_interest is True


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        (
            {"contacted_at": timezone.now() + dt.timedelta(hours=1)},
            {"contacted_at": ["回访时间不能晚于现在。"]},
        ),
        ({"duration_seconds": -1}, {"duration": ["通话时长不能为负数。"]}),
        ({"duration_seconds": 4 * 3600 + 1}, {"duration": ["通话时长不能超过 4 小时，请检查。"]}),
        (
            {"intent": Intent.WANTS_WITHDRAWAL},
            {"intent": ["四川不可退档：请按劝来策略沟通，不能记录为要求退档。"]},
        ),
        (
            {"outcome": Outcome.NO_ANSWER, "intent": Intent.CONFIRMED},
            {"intent": ["未联系上考生时不能记录意向。"]},
        ),
        ({"new_phones": [("12ab", PhoneOwner.SELF)]}, {"new_phones": ["号码格式不对：12ab"]}),
        ({"risk_signals": ["nonsense"]}, {"risk_signals": ["未知的风险信号。"]}),
    ],
)
def test_contact_log_validation(caller, mine, kwargs, errors):
    with pytest.raises(ValidationError) as exc:
        log(caller, mine, **kwargs)
    assert exc.value.message_dict == errors
    assert ContactLog.objects.count() == 0
    mine.refresh_from_db()
    assert mine.contact_count == 0


def test_four_hours_exactly_is_allowed(caller, mine):
    log(caller, mine, duration_seconds=4 * 3600)
    mine.refresh_from_db()
    assert mine.contact_seconds == 14400


def test_withdrawal_intent_allowed_in_withdrawable_province(caller, henan):
    candidate = AssignmentFactory(
        caller=caller, candidate=CandidateFactory(season=caller.season, province=henan)
    ).candidate
    log(caller, candidate, intent=Intent.WANTS_WITHDRAWAL)
    candidate.refresh_from_db()
    assert candidate.status == S.WITHDRAWAL_REQUESTED


def test_only_the_assigned_caller_may_log(outsider, leader, mine):
    for who in (outsider, leader):
        with pytest.raises(ValidationError) as exc:
            log(who, mine)
        assert exc.value.messages == ["只有负责该考生的回访员可以记录回访。"]


def test_registered_grant_lets_someone_else_log(outsider, mine):
    def grant(caller, candidate):
        return caller.pk == outsider.pk and candidate.pk == mine.pk

    CONTACT_LOG_GRANTS.append(grant)
    try:
        log(outsider, mine)
    finally:
        CONTACT_LOG_GRANTS.remove(grant)
    mine.refresh_from_db()
    assert mine.contact_count == 1


# --- follow-ups -------------------------------------------------------------------------------


def test_followup_set_then_cleared_by_a_contact_when_due(caller, mine):
    later = timezone.now() + dt.timedelta(days=1)
    followup_schedule(caller=caller, candidate=mine, next_call_at=later)
    assignment = Assignment.objects.get(candidate=mine, active=True)
    assert assignment.next_call_at == later
    # not yet due: a contact keeps it
    log(caller, mine)
    assignment.refresh_from_db()
    assert assignment.next_call_at == later
    # due: a contact clears it
    Assignment.objects.filter(pk=assignment.pk).update(next_call_at=timezone.now() - dt.timedelta(minutes=1))
    log(caller, mine)
    assignment.refresh_from_db()
    assert assignment.next_call_at is None


def test_contact_can_book_the_next_call(caller, mine):
    later = timezone.now() + dt.timedelta(hours=3)
    log(caller, mine, next_call_at=later)
    assert Assignment.objects.get(candidate=mine, active=True).next_call_at == later


def test_followup_in_the_past_or_for_someone_else_is_refused(caller, outsider, mine):
    with pytest.raises(ValidationError) as exc:
        followup_schedule(caller=caller, candidate=mine, next_call_at=timezone.now() - dt.timedelta(hours=1))
    assert exc.value.message_dict == {"next_call_at": ["下次回访时间必须晚于现在。"]}
    with pytest.raises(ValidationError) as exc:
        followup_schedule(
            caller=outsider, candidate=mine, next_call_at=timezone.now() + dt.timedelta(hours=1)
        )
    assert exc.value.messages == ["只有负责该考生的回访员可以安排回访。"]


# --- ledger -----------------------------------------------------------------------------------


def test_ledger_summary_against_the_plan(caller, season):
    a = AssignmentFactory(caller=caller, candidate=CandidateFactory(season=season)).candidate
    b = AssignmentFactory(caller=caller, candidate=CandidateFactory(season=season)).candidate
    for _ in range(5):
        log(caller, a, duration_seconds=300)
    log(caller, b, duration_seconds=90, channel=Channel.WECHAT, outcome=Outcome.REPLIED)
    summary = ledger_summary(caller=caller)
    assert (summary.candidates, summary.contacts, summary.seconds, summary.own_contacts) == (2, 6, 1590, 6)
    assert summary.minutes == Decimal("26.5")
    assert summary.avg_contacts == Decimal("3.0")
    assert summary.avg_minutes == Decimal("13.3")
    assert (summary.meets_contacts, summary.meets_minutes) == (False, False)
    assert summary.channels == {"phone": 5, "wechat": 1}
    assert CandidatePhone.objects.count() == 0


@given(
    total=st.integers(min_value=0, max_value=5000),
    weights=st.lists(st.sampled_from(["0.25", "0.5", "0.75", "1.0", "1.5"]), min_size=1, max_size=30),
)
@hypothesis_settings(max_examples=200, deadline=None)
def test_apportion_is_exact_and_within_one_of_the_fair_share(total, weights):
    ws = [Decimal(w) for w in weights]
    shares = apportion(total, ws)
    assert sum(shares) == total
    for share, w in zip(shares, ws, strict=True):
        fair = Decimal(total) * w / sum(ws)
        assert fair - 1 < share < fair + 1


def test_claim_clears_the_pool_flag_of_a_held_candidate_and_claims_the_next(caller, outsider, season):
    """The claim trusts the `in_pool` flag; a candidate held by someone but still flagged (a path
    that assigned without clearing it) trips the unique constraint, gets its flag cleared, and
    the claim takes the next one instead."""
    taken, free, later = pool_of(season, 3)
    AssignmentFactory(caller=outsider, candidate=taken)
    claimed = assignment_claim(caller=caller, count=1)
    assert [a.candidate_id for a in claimed] == [free.pk]
    taken.refresh_from_db()
    assert not taken.in_pool
    assert list(Candidate.objects.filter(in_pool=True).values_list("id", flat=True)) == [later.pk]
    assert active_pairs(season) == {(taken.pk, outsider.pk), (free.pk, caller.pk)}


def test_the_unique_constraint_backstop_becomes_a_chinese_error(caller, outsider, season, monkeypatch):
    """If the pool query ever let an assigned candidate through again after the flag repair, the
    claim fails as a whole."""
    from callbacks import services

    taken, free = pool_of(season, 2)
    AssignmentFactory(caller=outsider, candidate=taken)
    monkeypatch.setattr(services, "_pool_flagged", lambda season: Candidate.objects.filter(season=season))
    services._pool_claim_prepared.cache_clear()  # compiled again from the patched query
    try:
        with pytest.raises(ValidationError) as exc:
            assignment_claim(caller=caller, count=2)
    finally:
        services._pool_claim_prepared.cache_clear()  # not left compiled from the patched query
    assert exc.value.messages == ["有考生刚刚被分配给别人，请重试。"]
    assert not Assignment.objects.filter(caller=caller).exists()
    free.refresh_from_db()
    assert free.in_pool
