"""Nightly reconciliation: correct, idempotent, every discrepancy kind, failures roll back."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import django_rq
import pytest
from rq import Retry
from rq.job import JobStatus

from admissions import reconciliation
from admissions.choices import CallbackStatus
from admissions.models import (
    Candidate,
    Discrepancy,
    DiscrepancyKind,
    PaymentRecord,
    ReconciliationRun,
    ReconciliationStatus,
    RegistrationRecord,
)
from admissions.reconciliation import Source, discrepancy_resolve, drop_dir, reconcile
from reports.jobs import nightly_reconciliation
from tests.factories import AssignmentFactory, CandidateFactory
from tests.jobs.factories import drop_payments, drop_registrations, run_burst

TODAY = dt.date(2023, 8, 25)  # after the first early-payment stage (admission end 8-10 + 7 days)
D = dt.date

pytestmark = pytest.mark.sqlite  # DB-agnostic: also run against SQLite


@pytest.fixture
def cast(season, caller, leader):
    c = {}
    c["a"] = CandidateFactory(season=season, exam_number="A001", status=CallbackStatus.CONFIRMED)
    c["b"] = CandidateFactory(season=season, exam_number="B001")
    c["c"] = CandidateFactory(season=season, exam_number="C001", contact_count=2, contact_seconds=600)
    c["d"] = CandidateFactory(season=season, exam_number="D001")
    c["e"] = CandidateFactory(season=season, exam_number="E001", status=CallbackStatus.WITHDRAWN)
    c["f"] = CandidateFactory(
        season=season, exam_number="F001", status=CallbackStatus.WITHDRAWN, contact_count=1
    )
    c["g"] = CandidateFactory(season=season, exam_number="G001", status=CallbackStatus.CONFIRMED)
    c["h"] = CandidateFactory(season=season, exam_number="H001")
    for key in "cdefg":
        AssignmentFactory(candidate=c[key], caller=caller)
    AssignmentFactory(candidate=c["h"], caller=leader)
    return c


@pytest.fixture
def rec(django_capture_on_commit_callbacks):
    """reconcile() with its after-commit steps (moving files) executed."""

    def go(**kwargs):
        kwargs.setdefault("today", TODAY)
        with django_capture_on_commit_callbacks(execute=True):
            return reconcile(season_year=2023, **kwargs)

    return go


def drop_lists(year: int) -> None:
    drop_payments(
        year,
        "pay-0825.xlsx",
        [
            ("A001", D(2023, 8, 1), Decimal("5000")),
            ("A001", D(2023, 8, 1), Decimal("5000")),  # duplicate inside the file
            ("B001", D(2023, 8, 2), Decimal("3000")),
            ("B001", D(2023, 8, 5), Decimal("2000")),
            ("E001", D(2023, 8, 3), Decimal("5000")),
            ("99999999", D(2023, 8, 4), Decimal("5000")),  # unknown 考生号
        ],
    )
    drop_registrations(
        year, "reg-1.xlsx", [("C001", D(2023, 9, 8)), ("D001", D(2023, 9, 8)), ("F001", D(2023, 9, 9))]
    )
    drop_registrations(year, "reg-2.xlsx", [("C001", D(2023, 9, 8))])  # duplicate across files


def state() -> dict:
    return {
        "candidates": sorted(
            Candidate.objects.values_list("exam_number", "paid_on", "payment_amount", "enrolled_on")
        ),
        "payments": sorted(
            PaymentRecord.objects.values_list("exam_number", "paid_on", "amount", "candidate_id")
        ),
        "registrations": sorted(
            RegistrationRecord.objects.values_list("exam_number", "registered_on", "candidate_id")
        ),
        "discrepancies": sorted(
            Discrepancy.objects.values_list("kind", "exam_number", "candidate_id", "resolved")
        ),
    }


def test_reconciliation_updates_candidates_and_records(season, cast, rec):
    drop_lists(2023)
    run = rec()

    assert run.status == ReconciliationStatus.SUCCEEDED
    assert run.rows_read == 10
    # 5 payment records + 3 registration records + 6 candidates (a, b, e paid; c, d, f enrolled)
    assert run.rows_changed == 14
    assert run.discrepancies_new == 7
    assert run.discrepancies_open == 7
    assert run.duration_seconds is not None
    a, b, c, e, h = (Candidate.objects.get(pk=cast[k].pk) for k in "abceh")
    assert (a.paid_on, a.payment_amount) == (D(2023, 8, 1), Decimal("5000.00"))
    assert (b.paid_on, b.payment_amount) == (D(2023, 8, 2), Decimal("5000.00"))
    assert (e.paid_on, e.payment_amount) == (D(2023, 8, 3), Decimal("5000.00"))
    assert c.enrolled_on == D(2023, 9, 8)
    assert (h.paid_on, h.enrolled_on) == (None, None)
    assert PaymentRecord.objects.get(exam_number="99999999").candidate_id is None
    # files are moved to done/ after the commit
    assert not list(drop_dir(2023, "payments").glob("*.xlsx"))
    assert sorted(p.name for p in (drop_dir(2023, "registrations") / "done").glob("*.xlsx")) == [
        "reg-1.xlsx",
        "reg-2.xlsx",
    ]


def test_each_discrepancy_kind_is_found(season, cast, rec):
    drop_lists(2023)
    rec()
    found = {(d.kind, d.exam_number): d for d in Discrepancy.objects.all()}
    assert set(found) == {
        (DiscrepancyKind.DUPLICATE_ROW, "A001"),
        (DiscrepancyKind.DUPLICATE_ROW, "C001"),
        (DiscrepancyKind.UNKNOWN_EXAM_NUMBER, "99999999"),
        (DiscrepancyKind.PAID_BUT_WITHDRAWN, "E001"),
        (DiscrepancyKind.REGISTERED_BUT_WITHDRAWN, "F001"),
        (DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE, "G001"),
        (DiscrepancyKind.REGISTERED_NEVER_CONTACTED, "D001"),
    }
    assert found[(DiscrepancyKind.UNKNOWN_EXAM_NUMBER, "99999999")].candidate_id is None
    assert found[(DiscrepancyKind.PAID_BUT_WITHDRAWN, "E001")].candidate_id == cast["e"].pk
    assert found[(DiscrepancyKind.DUPLICATE_ROW, "A001")].candidate_id == cast["a"].pk
    assert "第3行与第2行重复" in found[(DiscrepancyKind.DUPLICATE_ROW, "A001")].details
    assert "reg-2.xlsx" in found[(DiscrepancyKind.DUPLICATE_ROW, "C001")].details


def test_not_past_the_stage_deadline_no_unpaid_discrepancy(season, cast, rec):
    rec(sources=[], today=D(2023, 8, 17))
    assert not Discrepancy.objects.filter(kind=DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE).exists()


def test_second_run_changes_nothing(season, cast, rec):
    drop_lists(2023)
    rec()
    first = state()
    drop_lists(2023)  # the same lists delivered again
    run = rec()
    assert (run.rows_read, run.rows_changed, run.discrepancies_new, run.discrepancies_open) == (10, 0, 0, 7)
    assert state() == first
    assert Discrepancy.objects.count() == 7


def test_discrepancies_reopen_and_close_instead_of_duplicating(season, cast, office_user, rec):
    drop_lists(2023)
    rec()
    paid_withdrawn = Discrepancy.objects.get(kind=DiscrepancyKind.PAID_BUT_WITHDRAWN)
    discrepancy_resolve(discrepancy=paid_withdrawn, user=office_user)
    # G pays: its "confirmed but unpaid" discrepancy closes by itself
    drop_payments(2023, "pay-0826.xlsx", [("G001", D(2023, 8, 26), Decimal("5000"))])
    run = rec()
    assert run.discrepancies_new == 0
    assert Discrepancy.objects.get(kind=DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE).resolved is True
    # a human's resolution stands while the facts are unchanged
    assert Discrepancy.objects.get(pk=paid_withdrawn.pk).resolved is True
    # G's status changes back (no longer paid would be odd; instead un-resolve by new facts):
    Candidate.objects.filter(pk=cast["g"].pk).update(paid_on=None, payment_amount=None)
    PaymentRecord.objects.filter(exam_number="G001").delete()
    run = rec(sources=[])
    assert run.discrepancies_new == 1
    reopened = Discrepancy.objects.get(kind=DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE)
    assert reopened.resolved is False
    assert Discrepancy.objects.filter(kind=DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE).count() == 1


def test_failed_run_leaves_database_as_it_was(season, cast, monkeypatch, rec):
    drop_lists(2023)
    before = state()

    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reconciliation, "_state_discrepancies", boom)
    with pytest.raises(RuntimeError):
        rec()
    assert state() == before
    run = ReconciliationRun.objects.get()
    assert run.status == ReconciliationStatus.FAILED
    assert "disk on fire" in run.error
    assert len(list(drop_dir(2023, "payments").glob("*.xlsx"))) == 1  # the files stay for the retry


def test_rejected_file_is_listed_and_set_aside(season, cast, rec):
    bad = drop_dir(2023, "payments") / "wrong.xlsx"
    from tests.jobs.factories import write_xlsx

    write_xlsx(bad, ["学号", "日期"], [["A001", D(2023, 8, 1)]])
    run = rec()
    assert run.status == ReconciliationStatus.SUCCEEDED
    assert run.files[0]["rejected"] is True
    assert any("缺少列「考生号」" in e for e in run.files[0]["errors"])
    assert (drop_dir(2023, "payments") / "rejected" / "wrong.xlsx").exists()


def test_plain_rows_sources(season, cast, rec):
    """The core works on plain row dicts too (office uploads parsed elsewhere)."""
    rows = [{"exam_number": "H001", "paid_on": D(2023, 8, 9), "amount": Decimal("100"), "row_number": 2}]
    run = rec(sources=[Source(kind="payments", name="rows", rows=rows)])
    assert run.rows_changed == 2
    assert Candidate.objects.get(pk=cast["h"].pk).payment_amount == Decimal("100.00")


@pytest.mark.redis
def test_failed_job_is_retried_by_a_real_worker(season, cast, monkeypatch, redis_conn):
    drop_lists(2023)
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("database hiccup")
        return original(**kwargs)

    original = reconciliation._state_discrepancies
    monkeypatch.setattr(reconciliation, "_state_discrepancies", flaky)
    job = django_rq.get_queue("nightly", commit_mode="auto").enqueue(
        nightly_reconciliation, season_year=2023, retry=Retry(max=3), job_timeout=600
    )
    run_burst("nightly")
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert len(calls) == 3
    statuses = list(ReconciliationRun.objects.order_by("started_at").values_list("status", flat=True))
    assert statuses == ["failed", "failed", "succeeded"]
    assert Discrepancy.objects.count() == 7
    assert Candidate.objects.get(pk=cast["a"].pk).paid_on == D(2023, 8, 1)


@pytest.mark.redis
def test_nightly_job_also_takes_snapshots(season, cast, redis_conn):
    from reports.models import ProgressSnapshot

    django_rq.get_queue("nightly", commit_mode="auto").enqueue(nightly_reconciliation, season_year=2023)
    run_burst("nightly")
    assert ReconciliationRun.objects.get().status == ReconciliationStatus.SUCCEEDED
    assert ProgressSnapshot.objects.filter(scope="season", level="all").count() == 1


def test_copy_of_done_file_is_not_needed_for_idempotency(season, cast, rec):
    """Re-dropping a processed file (copied back from done/) changes nothing."""
    drop_lists(2023)
    rec()
    done = drop_dir(2023, "payments") / "done" / "pay-0825.xlsx"
    shutil.copy(done, drop_dir(2023, "payments") / "pay-0825.xlsx")
    run = rec()
    assert run.rows_changed == 0
    assert run.discrepancies_new == 0


def _scenario(office_user) -> list[tuple]:
    """Two runs with every kind of change; the outcomes and the final state, without ids."""
    from django.db.models import F

    pay = [
        {"exam_number": "A001", "paid_on": D(2023, 8, 1), "amount": Decimal("5000"), "row_number": 2},
        {"exam_number": "A001", "paid_on": D(2023, 8, 1), "amount": Decimal("4000"), "row_number": 3},
        {"exam_number": "B001", "paid_on": D(2023, 8, 2), "amount": Decimal("3000"), "row_number": 4},
        {"exam_number": "B001", "paid_on": D(2023, 8, 5), "amount": Decimal("2000"), "row_number": 5},
        {"exam_number": "E001", "paid_on": D(2023, 8, 3), "amount": Decimal("5000"), "row_number": 6},
        {"exam_number": "X999", "paid_on": D(2023, 8, 4), "amount": Decimal("10"), "row_number": 7},
        {"exam_number": "X999", "paid_on": D(2023, 8, 6), "amount": Decimal("20"), "row_number": 8},
    ]
    reg = [
        {"exam_number": "C001", "registered_on": D(2023, 9, 8), "row_number": 2},
        {"exam_number": "D001", "registered_on": D(2023, 9, 8), "row_number": 3},
        {"exam_number": "F001", "registered_on": D(2023, 9, 9), "row_number": 4},
        {"exam_number": "X999", "registered_on": D(2023, 9, 9), "row_number": 5},
        {"exam_number": "Y888", "registered_on": D(2023, 9, 9), "row_number": 6},
        {"exam_number": "C001", "registered_on": D(2023, 9, 7), "row_number": 7},
    ]
    outcomes = []

    def run(sources: list[Source], today: dt.date = TODAY) -> None:
        r = reconcile(season_year=2023, sources=sources, today=today)
        outcomes.append((r.status, r.rows_read, r.rows_changed, r.discrepancies_new, r.discrepancies_open))

    run(
        [
            Source(kind="payments", name="p1", rows=pay, duplicates=[("A001", 3, 2)]),
            Source(kind="registrations", name="r1", rows=reg[:3]),
            Source(kind="registrations", name="r2", rows=reg[3:]),
        ]
    )
    run([Source(kind="payments", name="p1", rows=pay), Source(kind="registrations", name="r1", rows=reg)])
    # people resolve two findings; facts change; an unknown number becomes a candidate
    for kind in ("paid_but_withdrawn", "registered_never_contacted"):
        discrepancy_resolve(discrepancy=Discrepancy.objects.get(kind=kind), user=office_user)
    CandidateFactory(season=Candidate.objects.get(exam_number="A001").season, exam_number="Y888")
    Candidate.objects.filter(exam_number="D001").update(contact_count=F("contact_count") + 1)
    changed = [
        {"exam_number": "B001", "paid_on": D(2023, 8, 2), "amount": Decimal("3500.50"), "row_number": 2},
        {"exam_number": "G001", "paid_on": D(2023, 8, 26), "amount": Decimal("5000"), "row_number": 3},
    ]
    run(
        [
            Source(kind="payments", name="p2", rows=changed),
            Source(
                kind="registrations", name="r3", rows=[{**reg[0], "registered_on": D(2023, 9, 10)}, reg[4]]
            ),
        ],
        today=D(2023, 9, 20),
    )
    Candidate.objects.filter(exam_number="E001").update(paid_on=D(2023, 8, 4))  # new facts: reopens
    run([])
    return [
        *outcomes,
        *sorted(Candidate.objects.values_list("exam_number", "paid_on", "payment_amount", "enrolled_on")),
        *sorted(
            PaymentRecord.objects.values_list("exam_number", "paid_on", "amount", "candidate__exam_number")
        ),
        *sorted(
            RegistrationRecord.objects.values_list("exam_number", "registered_on", "candidate__exam_number")
        ),
        *sorted(
            Discrepancy.objects.values_list(
                "kind", "exam_number", "candidate__exam_number", "details", "resolved", "resolved_by_id"
            )
        ),
    ]


def test_set_based_and_orm_paths_agree(season, cast, office_user, monkeypatch):
    """PostgreSQL runs the set-based SQL path, SQLite the ORM path: same data, same results."""
    from django.db import transaction

    results = {}
    for set_based in (True, False):
        if set_based and not reconciliation._set_based():
            continue  # SQLite: only the ORM path exists
        monkeypatch.setattr(reconciliation, "_set_based", lambda v=set_based: v)
        with transaction.atomic():
            results[set_based] = _scenario(office_user)
            transaction.set_rollback(True)
    orm = results[False]
    # run 1: 1 duplicate + 7 + 6 rows read; 6 payment + 5 registration records + 6 candidates;
    #   dup A001/C001, unknown X999/Y888, E paid+withdrawn, F registered+withdrawn, G unpaid, D
    # run 2: the same lists again; run 3: B's amount, G pays, C's date, Y888 now a candidate
    #   (2 + 2 records, 4 candidates; Y888 never contacted is new; G and unknown Y888 close)
    # run 4: E's facts change, so the office's resolution of its finding is reopened
    assert orm[:4] == [
        ("succeeded", 14, 17, 8, 8),
        ("succeeded", 13, 0, 0, 8),
        ("succeeded", 4, 8, 1, 5),
        ("succeeded", 0, 0, 1, 6),
    ]
    if True in results:
        assert results[True] == orm
