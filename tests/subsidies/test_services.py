"""Facts loading, payout runs (create, approve/lock, recompute + diff), deductions, inquiries,
adjustments — over a factory-built season."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from admissions.choices import Level
from admissions.models import Candidate
from callbacks.models import Caller
from subsidies.engine import Scheme
from subsidies.facts import load_facts
from subsidies.models import Adjustment, PayoutLine, PayoutRun, RunStatus
from subsidies.services import (
    adjustment_create,
    deduction_record,
    inquiry_answer,
    inquiry_raise,
    payout_run_approve,
    payout_run_create,
    payout_run_delete,
    payout_run_diff,
    scheme_for,
    scheme_update,
)
from tests.factories import CallerFactory, TeamFactory
from tests.subsidies.factories import give_attendance, give_candidates

D = Decimal


def one_bottom(season, user):
    params = Scheme.from_dict(scheme_for(season).params).to_dict()
    params["bottom_count"] = 1
    return scheme_update(season=season, params=params, note="倒数1名", user=user)


def totals(run) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in PayoutLine.objects.filter(run=run).select_related("person"):
        out[line.person.staff_no] = out.get(line.person.staff_no, D("0.00")) + line.amount
    return out


@pytest.mark.django_db
def test_facts_count_active_assignments_without_completed_withdrawals(small_season, caller, team, supervisor):
    facts = load_facts(season=small_season)
    me = next(c for c in facts.callers if c.id == caller.pk)
    assert (me.undergraduate.assigned, me.undergraduate.admitted, me.undergraduate.enrolled) == (105, 100, 98)
    assert (me.junior.admitted, me.junior.enrolled) == (10, 10)
    assert me.attended_days == 3
    assert me.team_id == team.pk
    t = next(t for t in facts.teams if t.id == team.pk)
    assert t.supervisor_ids == (supervisor.pk,)


@pytest.mark.django_db
def test_a_withdrawal_date_alone_also_removes_the_candidate(season, caller):
    (first, *_rest) = give_candidates(caller, admitted=3, enrolled=0)
    Candidate.objects.filter(pk=first.pk).update(withdrawn_on="2023-07-21")
    me = next(c for c in load_facts(season=season).callers if c.id == caller.pk)
    assert (me.undergraduate.assigned, me.undergraduate.admitted) == (3, 2)


@pytest.mark.django_db
def test_inactive_assignments_do_not_count(small_season, caller, outsider):
    from callbacks.models import Assignment

    Assignment.objects.filter(caller=outsider).update(active=False)
    facts = load_facts(season=small_season)
    out = next(c for c in facts.callers if c.id == outsider.pk)
    assert out.undergraduate.admitted == 0


@pytest.mark.django_db
def test_withdrawable_provinces_are_counted_for_the_standards(season, caller):
    give_candidates(caller, admitted=4, enrolled=4, province="江苏", withdrawable=True)
    give_candidates(caller, admitted=6, enrolled=6, province="四川", withdrawable=False)
    me = next(c for c in load_facts(season=season).callers if c.id == caller.pk)
    assert (me.undergraduate.admitted, me.undergraduate.admitted_withdrawable) == (10, 4)


def _count_fact_queries(season) -> int:
    with CaptureQueriesContext(connection) as ctx:
        load_facts(season=season)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_facts_loading_takes_the_same_queries_for_5_and_30_callers(season, django_assert_num_queries):
    team = TeamFactory(season=season, name="甲组")
    callers = [CallerFactory(season=season, team=team) for _ in range(5)]
    for c in callers:
        give_candidates(c, admitted=3, enrolled=2)
        give_candidates(c, admitted=2, enrolled=2, level=Level.JUNIOR)
        give_attendance(c, 2)
    five = _count_fact_queries(season)
    more_teams = [TeamFactory(season=season, name=f"乙组{i}") for i in range(3)]
    for i in range(25):
        c = CallerFactory(season=season, team=more_teams[i % 3])
        give_candidates(c, admitted=3, enrolled=3, province=f"省{i % 4}", withdrawable=i % 2 == 0)
        give_attendance(c, 1)
    assert Caller.objects.filter(season=season).count() == 30
    with django_assert_num_queries(five):
        facts = load_facts(season=season)
    assert len(facts.callers) == 30


@pytest.mark.django_db
def test_payout_run_over_a_season(small_season, office_user, leader, caller, outsider, supervisor):
    one_bottom(small_season, office_user)
    run = payout_run_create(season=small_season, user=office_user)
    assert run.number == 1 and run.status == RunStatus.DRAFT and run.scheme.version == 2
    # leader: 6,000 phone + 1,500 leader (team 本科 198/200 = 99% = target, 专科 100%) + 5,000 special
    # caller: 本科 98/100 → 45 × 98 = 4,410; 专科 10/10 → 85 × 10 = 850; 3 days × 80 = 240
    # outsider: 90% → nothing (and is the bottom 1)
    assert totals(run) == {
        leader.staff_no: D("12500.00"),
        caller.staff_no: D("5500.00"),
        outsider.staff_no: D("0.00"),
    }
    assert run.total == D("18000.00")
    assert run.person_count == 4  # the supervisor has no lines but a row
    line = PayoutLine.objects.get(run=run, person=caller, rule="phone", subject="undergraduate")
    assert (line.rate, line.tier, line.steps, line.amount) == (D("0.980000"), ">97.00%", 10, D("4410.00"))
    assert line.inputs["admitted"] == 100 and line.inputs["enrolled"] == 98
    assert run.facts["callers"][0]["staff_no"] <= run.facts["callers"][1]["staff_no"]


@pytest.mark.django_db
def test_approved_run_is_locked(small_season, office_user):
    run = payout_run_create(season=small_season, user=office_user)
    payout_run_approve(run=run, user=office_user)
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED and run.approved_by == office_user
    with pytest.raises(ValidationError, match="已审批并锁定"):
        payout_run_approve(run=run, user=office_user)
    with pytest.raises(ValidationError, match="已审批并锁定"):
        payout_run_delete(run=run)
    assert PayoutLine.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_draft_run_can_be_deleted(small_season, office_user):
    run = payout_run_create(season=small_season, user=office_user)
    payout_run_delete(run=run)
    assert not PayoutLine.objects.exists()


@pytest.mark.django_db
def test_recompute_makes_a_new_run_and_diff_shows_the_change(small_season, office_user, caller, leader):
    first = payout_run_create(season=small_season, user=office_user)
    payout_run_approve(run=first, user=office_user)
    late = Candidate.objects.filter(
        assignments__caller=caller, level=Level.UNDERGRADUATE, enrolled_on__isnull=True, status="confirmed"
    ).first()
    late.enrolled_on = "2023-09-10"
    late.save()
    second = payout_run_create(season=small_season, user=office_user)
    assert second.number == 2
    first.refresh_from_db()
    assert first.status == RunStatus.APPROVED
    diff = {d.staff_no: d for d in payout_run_diff(first, second)}
    assert set(diff) == {caller.staff_no}
    change = diff[caller.staff_no]
    # 99/100 = 99% → >98.5% 50 + 5 steps = 52.5 × 99 = 5,197.50
    assert [(c.rule, c.subject, c.old, c.new) for c in change.changes] == [
        ("phone", "undergraduate", D("4410.00"), D("5197.50"))
    ]
    assert change.delta == D("787.50")


@pytest.mark.django_db
def test_inquiry_answer_with_adjustment_is_carried_until_approved(
    small_season, office_user, caller, outsider
):
    run1 = payout_run_create(season=small_season, user=office_user)
    line = PayoutLine.objects.filter(run=run1, person=caller).first()
    with pytest.raises(ValidationError, match="只能对本人"):
        inquiry_raise(line=line, person=outsider, question="?")
    inquiry = inquiry_raise(line=line, person=caller, question="少算了一天考勤")
    inquiry_answer(
        inquiry=inquiry,
        answer="已核实，补发一天",
        user=office_user,
        adjustment_amount=D("80.00"),
        reason_code="attendance",
    )
    inquiry.refresh_from_db()
    assert inquiry.status == "answered" and inquiry.answered_by == office_user
    run2 = payout_run_create(season=small_season, user=office_user)
    adj = PayoutLine.objects.get(run=run2, rule="adjustment")
    assert (adj.person_id, adj.amount) == (caller.pk, D("80.00"))
    assert adj.reason == "招生办调整（考勤更正）：已核实，补发一天"
    # a recomputed draft carries it again; once a run with it is approved it is settled
    run3 = payout_run_create(season=small_season, user=office_user)
    assert PayoutLine.objects.filter(run=run3, rule="adjustment").count() == 1
    payout_run_approve(run=run3, user=office_user)
    assert Adjustment.objects.get().settled_run == run3
    run4 = payout_run_create(season=small_season, user=office_user)
    assert not PayoutLine.objects.filter(run=run4, rule="adjustment").exists()


@pytest.mark.django_db
def test_adjustment_needs_a_reason_code(small_season, office_user, caller):
    with pytest.raises(ValidationError, match="原因类别"):
        adjustment_create(
            season=small_season, person=caller, amount=D("5"), reason_code="", reason="x", user=office_user
        )


@pytest.mark.django_db
def test_misconduct_deduction_range_and_effect(small_season, office_user, caller):
    with pytest.raises(ValidationError, match="20% 到 100%"):
        deduction_record(
            season=small_season, person=caller, percent=D("0.10"), reason="迟到", user=office_user
        )
    deduction_record(
        season=small_season, person=caller, percent=D("0.30"), reason="虚假回访", user=office_user
    )
    run = payout_run_create(season=small_season, user=office_user)
    line = PayoutLine.objects.get(run=run, person=caller, rule="misconduct")
    # the lone team 第一组 caller total before: 4,410 + 850 + 240 − 120 (bottom 3: allowance halved)
    before = sum(
        x.amount for x in PayoutLine.objects.filter(run=run, person=caller).exclude(rule="misconduct")
    )
    assert before == D("5380.00")
    assert line.amount == D("-1614.00")
    assert "虚假回访" in line.reason


@pytest.mark.django_db
def test_scheme_is_created_lazily_and_versioned(season, office_user):
    first = scheme_for(season)
    assert first.version == 1 and Scheme.from_dict(first.params) == Scheme()
    assert scheme_for(season).pk == first.pk
    params = first.params | {"leader_bonus_basic": "2000"}
    with pytest.raises(ValidationError) as exc:
        scheme_update(season=season, params=params, note="x", user=office_user)
    assert "达基本任务的组长补贴不能高于达目标任务的补贴" in str(exc.value)
    new = scheme_update(
        season=season, params=first.params | {"workload_minimum": 30}, note="最低量", user=office_user
    )
    assert new.version == 2 and scheme_for(season).params["workload_minimum"] == 30


def _count_run_queries(season, user) -> int:
    with CaptureQueriesContext(connection) as ctx:
        payout_run_create(season=season, user=user)
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_payout_run_takes_the_same_queries_for_5_and_30_callers(season, office_user):
    teams = [TeamFactory(season=season, name=f"组{i}") for i in range(3)]
    for _ in range(5):
        c = CallerFactory(season=season, team=teams[0])
        give_candidates(c, admitted=4, enrolled=4)
        give_attendance(c, 1)
    # a first run creates the scheme and fills auditlog's content-type cache
    payout_run_create(season=season, user=office_user)
    five = _count_run_queries(season, office_user)
    for i in range(25):
        c = CallerFactory(season=season, team=teams[1 + i % 2])
        give_candidates(c, admitted=4, enrolled=3, level=Level.JUNIOR)
        give_attendance(c, 2)
    assert _count_run_queries(season, office_user) == five
    # the lines went in with one COPY (PostgreSQL) or batched INSERTs: JSON inputs as objects,
    # positions in order, amounts adding up to the run's total
    run = PayoutRun.objects.filter(season=season).order_by("-number").first()
    phone = run.lines.filter(rule="phone", subject="junior").order_by("position").first()
    assert phone.inputs["admitted"] == 4 and phone.inputs["level"] == "junior"
    assert phone.amount == D("0.00") and "75.00%" in phone.reason  # 3/4 is below every tier
    count = run.lines.count()
    assert count > 30 and list(run.lines.values_list("position", flat=True)) == list(range(count))
    assert sum(run.lines.values_list("amount", flat=True), D("0.00")) == run.total
