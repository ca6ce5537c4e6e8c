"""Nightly progress snapshots: exact numbers per caller / team / season, idempotent, few queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from admissions.choices import CallbackStatus, Level
from reports.models import ProgressSnapshot, Scope
from reports.services import snapshot_take
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory

DAY = dt.date(2023, 8, 20)  # stage 2 (after 8-17, before 8-25)

pytestmark = pytest.mark.sqlite  # DB-agnostic: also run against SQLite


@pytest.fixture
def data(season, caller, leader, outsider):
    def cand(who, **kw):
        c = CandidateFactory(season=season, **kw)
        if who:
            AssignmentFactory(candidate=c, caller=who)
        return c

    cand(caller, paid_on=dt.date(2023, 8, 1), contact_count=3, contact_seconds=600)
    cand(
        caller,
        paid_on=dt.date(2023, 8, 19),
        enrolled_on=dt.date(2023, 8, 20),
        contact_count=1,
        contact_seconds=60,
    )
    cand(caller, paid_on=dt.date(2023, 8, 21))  # paid after the day: not counted
    cand(caller, status=CallbackStatus.WITHDRAWN, paid_on=dt.date(2023, 8, 2))  # not admitted
    cand(leader, level=Level.JUNIOR, paid_on=dt.date(2023, 8, 3), contact_count=2, contact_seconds=120)
    cand(outsider)
    cand(None, paid_on=dt.date(2023, 8, 4))  # nobody's yet: season only


def snap(scope, scope_id, level="all"):
    return ProgressSnapshot.objects.get(day=DAY, scope=scope, scope_id=scope_id, level=level)


def test_snapshot_numbers(season, caller, leader, outsider, data):
    snapshot_take(season=season, day=DAY)
    c = snap(Scope.CALLER, caller.pk)
    assert (c.candidates, c.admitted, c.paid, c.enrolled, c.contacts, c.minutes) == (
        4,
        3,
        2,
        1,
        4,
        Decimal("11.0"),
    )
    assert c.early_payment_rate == Decimal("0.66667")
    assert c.enrollment_rate == Decimal("0.33333")
    assert (c.stage, c.stage_target) == (2, Decimal("0.60000"))
    t = snap(Scope.TEAM, caller.team_id)
    assert (t.candidates, t.admitted, t.paid, t.enrolled, t.contacts) == (5, 4, 3, 1, 6)
    assert t.early_payment_rate == Decimal("0.75000")
    tj = snap(Scope.TEAM, caller.team_id, Level.JUNIOR)
    assert (tj.candidates, tj.paid) == (1, 1)
    s = snap(Scope.SEASON, 0)
    assert (s.candidates, s.admitted, s.paid, s.enrolled) == (7, 6, 4, 1)
    o = snap(Scope.TEAM, outsider.team_id)
    assert (o.candidates, o.paid, o.early_payment_rate) == (1, 0, Decimal("0"))


def test_snapshot_is_idempotent_per_day(season, data, caller):
    n = snapshot_take(season=season, day=DAY)
    before = list(ProgressSnapshot.objects.order_by("id").values_list("scope", "scope_id", "level", "paid"))
    assert snapshot_take(season=season, day=DAY) == n
    assert ProgressSnapshot.objects.count() == n
    after = list(ProgressSnapshot.objects.order_by("id").values_list("scope", "scope_id", "level", "paid"))
    assert after == before
    snapshot_take(season=season, day=DAY + dt.timedelta(days=1))
    assert ProgressSnapshot.objects.count() == 2 * n


def test_snapshot_query_count_does_not_grow_with_callers(season, team, data, django_assert_max_num_queries):
    for i in range(5):
        extra = CallerFactory(season=season, team=team, user__username=f"x{i}")
        AssignmentFactory(candidate=CandidateFactory(season=season), caller=extra)
    with django_assert_max_num_queries(3):
        snapshot_take(season=season, day=DAY)


def test_retaking_the_day_rewrites_every_number_in_place(season, caller, data):
    """The second take of a day (the refresh job) goes through the upsert's update branch: the
    same rows (same ids), every number of the day's new state, other days untouched."""
    from admissions.models import Candidate

    n = snapshot_take(season=season, day=DAY)
    snapshot_take(season=season, day=DAY - dt.timedelta(days=1))
    first = snap(Scope.CALLER, caller.pk)
    assert (first.reached, first.confirmed, first.contacted) == (1, 0, 2)  # the withdrawn one answered
    late = Candidate.objects.get(paid_on=dt.date(2023, 8, 21))
    late.paid_on, late.status, late.contact_count, late.contact_seconds = (
        dt.date(2023, 8, 10),
        CallbackStatus.CONFIRMED,
        2,
        240,
    )
    late.save()

    assert snapshot_take(season=season, day=DAY) == n
    assert ProgressSnapshot.objects.filter(day=DAY).count() == n
    c = snap(Scope.CALLER, caller.pk)
    assert c.pk == first.pk and c.created_at >= first.created_at
    assert (c.candidates, c.admitted, c.paid, c.enrolled, c.contacts, c.minutes) == (
        4,
        3,
        3,
        1,
        6,
        Decimal("15.0"),
    )
    assert (c.early_payment_rate, c.enrollment_rate) == (Decimal("1.00000"), Decimal("0.33333"))
    assert (c.stage, c.stage_target) == (2, Decimal("0.60000"))
    assert (c.reached, c.confirmed, c.contacted) == (2, 1, 3)
    s = snap(Scope.SEASON, 0)
    assert (s.candidates, s.admitted, s.paid, s.confirmed) == (7, 6, 5, 1)
    before = ProgressSnapshot.objects.get(
        day=DAY - dt.timedelta(days=1), scope=Scope.CALLER, scope_id=caller.pk, level="all"
    )
    assert (before.paid, before.confirmed, before.contacts) == (2, 0, 4)


def test_a_season_without_payment_dates_writes_empty_stage_columns(season, caller, data):
    season.payment_close = None  # no stages until the dates are set
    season.save()
    assert season.payment_stage(DAY) is None
    snapshot_take(season=season, day=DAY)
    c = snap(Scope.CALLER, caller.pk)
    assert (c.stage, c.stage_target, c.paid) == (None, None, 2)
