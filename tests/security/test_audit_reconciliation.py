"""Audit trail of the nightly reconciliation (admissions/reconciliation.py): every candidate whose
paid_on / payment_amount / enrolled_on it changes gets one UPDATE entry (old → new of the changed
fields, actor = who started the run or nobody at night), written set-based — one
`INSERT … SELECT` on PostgreSQL, one `record_many` on the ORM path (SQLite) — in the run's
transaction. Both paths write the same entries; a repeated run writes none, a failed one none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import django_rq
import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from admissions import reconciliation
from admissions.models import Candidate, ReconciliationRun, ReconciliationStatus
from admissions.reconciliation import Source, reconcile
from tests.factories import CandidateFactory

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2023, 8, 25)


def paths() -> list[bool]:
    """The write paths this database has: set-based SQL (PostgreSQL only) and the ORM path."""
    return [True, False] if reconciliation._set_based() else [False]


@pytest.fixture
def people(season):
    return {n: CandidateFactory(season=season, exam_number=n) for n in ("A001", "B001", "C001", "D001")}


def pay(*rows: tuple[str, dt.date, str]) -> Source:
    return Source(
        kind="payments",
        name="p",
        rows=[
            {"exam_number": n, "paid_on": d, "amount": Decimal(a), "row_number": i}
            for i, (n, d, a) in enumerate(rows, start=2)
        ],
    )


def registered(*rows: tuple[str, dt.date]) -> Source:
    return Source(
        kind="registrations",
        name="r",
        rows=[
            {"exam_number": n, "registered_on": d, "row_number": i} for i, (n, d) in enumerate(rows, start=2)
        ],
    )


def candidate_entries() -> list[tuple]:
    """The candidates' UPDATE entries: (考生号, object_pk is the candidate's id, changes, actor id)."""
    ct = ContentType.objects.get_for_model(Candidate)
    ids = dict(Candidate.objects.values_list("exam_number", "id"))
    return [
        (
            e.object_repr,
            e.object_pk == str(ids[e.object_repr]) == str(e.object_id),
            e.changes_dict,
            e.actor_id,
        )
        for e in LogEntry.objects.filter(content_type=ct, action=LogEntry.Action.UPDATE).order_by(
            "object_repr", "pk"
        )
    ]


def updates() -> int:
    return LogEntry.objects.filter(action=LogEntry.Action.UPDATE).count()


def _runs(office_user) -> list[list[tuple]]:
    """Four runs with every kind of change; the entries each one wrote."""
    done: list[tuple] = []
    per_run = []

    def run(sources: list[Source], **kw) -> None:
        r = reconcile(season_year=2023, sources=sources, today=TODAY, progress=lambda *a: None, **kw)
        assert r.status == ReconciliationStatus.SUCCEEDED
        now = candidate_entries()
        per_run.append([e for e in now if e not in done] if len(now) > len(done) else [])
        done[:] = now

    first = [
        pay(
            ("A001", D(2023, 8, 1), "5000"), ("B001", D(2023, 8, 2), "3000"), ("B001", D(2023, 8, 5), "2000")
        ),
        registered(("B001", D(2023, 9, 8)), ("C001", D(2023, 9, 8))),
    ]
    run(first)  # the nightly job: no actor
    run(first, actor_id=office_user.pk)  # the same lists again: nothing changes, no entry
    # B pays more (amount only), A pays earlier (date and amount), C's date corrected, D pays
    run(
        [
            pay(
                ("A001", D(2023, 7, 30), "100"),
                ("B001", D(2023, 8, 5), "2500.50"),
                ("D001", D(2023, 8, 9), "1"),
            ),
            registered(("C001", D(2023, 9, 10))),
        ],
        actor_id=office_user.pk,
    )
    # a person changes D's amount by hand; a run with no lists leaves it (and writes nothing)
    Candidate.objects.filter(exam_number="D001").update(payment_amount=Decimal("2"))
    run([])
    return per_run


@pytest.mark.sqlite
def test_both_paths_write_the_same_entries(season, people, office_user, monkeypatch):
    results = {}
    for set_based in paths():
        monkeypatch.setattr(reconciliation, "_set_based", lambda v=set_based: v)
        with transaction.atomic():
            results[set_based] = _runs(office_user)
            transaction.set_rollback(True)
    orm = results[False]
    office = office_user.pk
    assert orm == [
        [
            ("A001", True, {"paid_on": ["None", "2023-08-01"], "payment_amount": ["None", "5000.00"]}, None),
            (
                "B001",
                True,
                {
                    "paid_on": ["None", "2023-08-02"],
                    "payment_amount": ["None", "5000.00"],
                    "enrolled_on": ["None", "2023-09-08"],
                },
                None,
            ),
            ("C001", True, {"enrolled_on": ["None", "2023-09-08"]}, None),
        ],
        [],
        [
            (
                "A001",
                True,
                {"paid_on": ["2023-08-01", "2023-07-30"], "payment_amount": ["5000.00", "5100.00"]},
                office,
            ),
            ("B001", True, {"payment_amount": ["5000.00", "5500.50"]}, office),
            ("C001", True, {"enrolled_on": ["2023-09-08", "2023-09-10"]}, office),
            ("D001", True, {"paid_on": ["None", "2023-08-09"], "payment_amount": ["None", "1.00"]}, office),
        ],
        [],
    ]
    if True in results:
        assert results[True] == orm


@pytest.mark.sqlite
@pytest.mark.parametrize("set_based", paths(), ids=lambda set_based: "sql" if set_based else "orm")
def test_a_second_identical_run_writes_no_entry(season, people, monkeypatch, set_based):
    monkeypatch.setattr(reconciliation, "_set_based", lambda: set_based)
    lists = [pay(("A001", D(2023, 8, 1), "5000")), registered(("C001", D(2023, 9, 8)))]
    reconcile(season_year=2023, sources=lists, today=TODAY, progress=lambda *a: None)
    assert updates() == 2
    run = reconcile(season_year=2023, sources=lists, today=TODAY, progress=lambda *a: None)
    assert run.rows_changed == 0
    assert updates() == 2


@pytest.mark.sqlite
@pytest.mark.parametrize("set_based", paths(), ids=lambda set_based: "sql" if set_based else "orm")
def test_a_failed_run_writes_no_entry(season, people, monkeypatch, set_based):
    """The run fails after its audit INSERT (the findings step): entries and changes roll back."""
    monkeypatch.setattr(reconciliation, "_set_based", lambda: set_based)

    def boom(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reconciliation, "_state_discrepancies", boom)
    with pytest.raises(RuntimeError):
        reconcile(
            season_year=2023,
            sources=[pay(("A001", D(2023, 8, 1), "5000")), registered(("C001", D(2023, 9, 8)))],
            today=TODAY,
            progress=lambda *a: None,
        )
    assert ReconciliationRun.objects.get().status == ReconciliationStatus.FAILED
    assert updates() == 0
    assert Candidate.objects.filter(paid_on__isnull=False).count() == 0


@pytest.mark.parametrize("set_based", paths(), ids=lambda set_based: "sql" if set_based else "orm")
def test_statements_do_not_grow_with_the_rows(season, monkeypatch, set_based):
    """3 or 300 candidates paying: the same number of statements, one of them the audit INSERT.

    Both paths on PostgreSQL (not marked sqlite: there Django splits every bulk write, the
    records' and the entries' alike, by SQLite's 999-parameter limit)."""
    monkeypatch.setattr(reconciliation, "_set_based", lambda: set_based)
    numbers = [f"P{i:04d}" for i in range(300)]
    province = CandidateFactory(season=season, exam_number="Z999").province
    Candidate.objects.bulk_create(
        [CandidateFactory.build(season=season, exam_number=n, province=province) for n in numbers]
    )
    ContentType.objects.get_for_model(Candidate)  # cached, as in a running worker
    counts = {}
    for size in (3, 300):
        with transaction.atomic():
            lists = [pay(*((n, D(2023, 8, 1), "5000") for n in numbers[:size]))]
            with CaptureQueriesContext(connection) as ctx:
                reconcile(season_year=2023, sources=lists, today=D(2023, 8, 1), progress=lambda *a: None)
            assert updates() == size
            audit_inserts = [q for q in ctx.captured_queries if "auditlog_logentry" in q["sql"]]
            assert len(audit_inserts) == 1
            counts[size] = len(ctx.captured_queries)
            transaction.set_rollback(True)
    assert counts[3] == counts[300]


@pytest.mark.sqlite
def test_the_actor_is_the_requests_user(season, people, office_user):
    with set_actor(office_user):
        reconcile(
            season_year=2023,
            sources=[pay(("A001", D(2023, 8, 1), "5000"))],
            today=TODAY,
            progress=lambda *a: None,
        )
    assert [e[3] for e in candidate_entries()] == [office_user.pk]


@pytest.fixture
def redis_conn():
    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.mark.sqlite
@pytest.mark.redis
def test_office_run_now_names_the_office_user(
    season, people, office_user, client, redis_conn, settings, tmp_path, django_capture_on_commit_callbacks
):
    """立即对账 over HTTP → a tracked job run by a real worker: its entries name the office user;
    the nightly cron job (untracked) names nobody."""
    from reports.jobs import nightly_reconciliation
    from tests.jobs.factories import drop_payments, run_burst

    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    drop_payments(2023, "pay.xlsx", [("A001", D(2023, 8, 1), Decimal("5000"))])
    client.force_login(office_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:reconciliation_run_now"))
    assert response.status_code == 302
    run_burst("nightly")
    assert candidate_entries() == [
        (
            "A001",
            True,
            {"paid_on": ["None", "2023-08-01"], "payment_amount": ["None", "5000.00"]},
            office_user.pk,
        )
    ]
    drop_payments(2023, "pay2.xlsx", [("B001", D(2023, 8, 2), Decimal("10"))])
    django_rq.get_queue("nightly", commit_mode="auto").enqueue(nightly_reconciliation, season_year=2023)
    run_burst("nightly")
    assert [(e[0], e[3]) for e in candidate_entries()] == [("A001", office_user.pk), ("B001", None)]
