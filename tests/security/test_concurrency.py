"""Concurrency on PostgreSQL with real threads: two reconciliations started together, two payout
runs started and approved together, a caller logging while the reconciliation updates the same
candidate."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Candidate, ReconciliationRun, ReconciliationStatus
from admissions.reconciliation import drop_dir, reconcile
from callbacks.choices import Intent, Outcome
from callbacks.services import contact_log
from subsidies.models import PayoutLine, PayoutRun, RunStatus
from subsidies.services import payout_run_approve, payout_run_create
from tests.factories import (
    AssignmentFactory,
    CallerFactory,
    CandidateFactory,
    SeasonFactory,
    TeamFactory,
    UserFactory,
)
from tests.jobs.factories import drop_payments
from tests.subsidies.factories import give_attendance, give_candidates

pytestmark = pytest.mark.django_db(transaction=True)
TODAY = dt.date(2023, 8, 25)


def run_together(*funcs: Callable[[], object], stagger: Callable[[], bool] | None = None) -> list:
    """Run the functions in threads started at the same moment; return results or exceptions.

    With `stagger`, the second and later threads start once `stagger()` is true (polled)."""
    results: list = [None] * len(funcs)
    barrier = threading.Barrier(len(funcs))

    def go(i: int, func: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            if stagger is not None and i > 0:
                deadline = time.monotonic() + 30
                while not stagger() and time.monotonic() < deadline:
                    time.sleep(0.02)
            results[i] = func()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i, f)) for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def noop(done: int, total: int) -> None:
    return None


@pytest.fixture
def slow_reconciliation(settings):
    settings.RECONCILIATION_BATCH_SIZE = 1
    settings.RECONCILIATION_BATCH_PAUSE = 0.15


def test_two_reconciliations_started_together(settings, slow_reconciliation):
    """Before the fix the second run listed the dropped files before waiting for the season lock,
    found them moved and failed, and marked the first (still running) run as failed."""
    assert connection.vendor == "postgresql"
    season = SeasonFactory()
    numbers = [CandidateFactory(season=season).exam_number for _ in range(6)]
    drop_payments(2023, "pay.xlsx", [(n, dt.date(2023, 8, 1), Decimal("5000")) for n in numbers])

    def running() -> bool:
        return ReconciliationRun.objects.filter(status=ReconciliationStatus.RUNNING).exists()

    def one() -> ReconciliationRun:
        return reconcile(season_year=2023, today=TODAY, trigger="test", progress=noop)

    first, second = run_together(one, one, stagger=running)

    assert isinstance(first, ReconciliationRun), first
    assert isinstance(second, ReconciliationRun), second
    runs = list(ReconciliationRun.objects.order_by("started_at"))
    assert [r.status for r in runs] == [ReconciliationStatus.SUCCEEDED] * 2
    assert [r.rows_read for r in runs] == [6, 0]  # the second found nothing left to do
    assert [r.error for r in runs] == ["", ""]
    assert sorted(p.name for p in (drop_dir(2023, "payments") / "done").iterdir()) == ["pay.xlsx"]
    assert Candidate.objects.filter(season=season, paid_on=dt.date(2023, 8, 1)).count() == 6


def test_caller_logging_while_reconciliation_updates_the_same_candidate(settings, slow_reconciliation):
    season = SeasonFactory()
    team = TeamFactory(season=season)
    caller = CallerFactory(season=season, team=team)
    others = [CandidateFactory(season=season) for _ in range(5)]
    target = CandidateFactory(season=season, status=CallbackStatus.UNCONTACTED)
    AssignmentFactory(candidate=target, caller=caller)
    drop_payments(
        2023,
        "pay.xlsx",
        [(c.exam_number, dt.date(2023, 8, 1), Decimal("5000")) for c in [*others, target]],
    )

    def running() -> bool:
        return ReconciliationRun.objects.filter(status=ReconciliationStatus.RUNNING).exists()

    def log():
        return contact_log(
            caller=caller,
            candidate=Candidate.objects.get(pk=target.pk),
            contacted_at=timezone.now() - dt.timedelta(minutes=5),
            outcome=Outcome.CONNECTED,
            intent=Intent.CONFIRMED,
            duration_seconds=120,
        )

    results = run_together(
        lambda: reconcile(season_year=2023, today=TODAY, trigger="test", progress=noop), log, stagger=running
    )

    assert not any(isinstance(r, BaseException) for r in results), results
    target.refresh_from_db()
    assert target.paid_on == dt.date(2023, 8, 1)  # the reconciliation's update
    assert target.payment_amount == Decimal("5000")
    assert target.status == CallbackStatus.CONFIRMED  # the caller's update
    assert (target.contact_count, target.contact_seconds) == (1, 120)


@pytest.fixture
def payroll():
    season = SeasonFactory()
    team = TeamFactory(season=season)
    office = UserFactory(username="office")
    for i in range(3):
        caller = CallerFactory(season=season, team=team)
        give_candidates(caller, admitted=10 + i, enrolled=8 + i)
        give_attendance(caller, 10)
    return season, office


def test_two_payout_runs_started_together(payroll):
    season, office = payroll
    first, second = run_together(
        lambda: payout_run_create(season=season, user=office),
        lambda: payout_run_create(season=season, user=office),
    )
    assert isinstance(first, PayoutRun), first
    assert isinstance(second, PayoutRun), second
    runs = list(PayoutRun.objects.filter(season=season).order_by("number"))
    assert [r.number for r in runs] == [1, 2]  # numbered one after the other, not twice "1"
    assert runs[0].total == runs[1].total > 0  # the same computation, nothing doubled
    lines = [PayoutLine.objects.filter(run=r).count() for r in runs]
    assert lines[0] == lines[1] > 0


def test_two_approvals_of_the_same_run(payroll):
    season, office = payroll
    run = payout_run_create(season=season, user=office)
    results = run_together(
        lambda: payout_run_approve(run=run, user=office),
        lambda: payout_run_approve(run=run, user=office),
    )
    approved = [r for r in results if isinstance(r, PayoutRun)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(approved), len(refused)) == (1, 1), results
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED
