"""Nightly reconciliation (对账) of the payment and registration lists with the candidates.

`reconcile(season_year=...)` reads every workbook dropped in
`IMPORT_DROP_DIR/<year>/payments/*.xlsx` and `IMPORT_DROP_DIR/<year>/registrations/*.xlsx`
(office uploads are saved there too), then in ONE database transaction:

1. upserts `PaymentRecord` (key: season + 考生号 + 缴费日期) and `RegistrationRecord` (key: season +
   考生号) in batches, linking them to the candidate;
2. sets `Candidate.paid_on` (earliest payment), `payment_amount` (sum of payments) and
   `enrolled_on` (registration date) where they differ, writing one audit-log entry per changed
   candidate (old → new of the changed fields; actor: who started the run, none at night);
3. records discrepancies, one row per (season, kind, 考生号): created, reopened or updated,
   never duplicated; state-based ones that no longer hold are closed automatically.

How: the rows are read and de-duplicated in Python; on PostgreSQL the writes are set-based —
the lists are COPYed into temp tables and a handful of INSERT … ON CONFLICT / UPDATE … FROM /
INSERT … SELECT statements do steps 1–3 whatever the number of rows (100,000 payment rows:
~3.5 s at office scale, was ~15 s with `bulk_update`'s CASE; ~7 s at platform scale, 1M
candidates, of which ~5 s are the rows written and their indexes: the candidates' UPDATE ~2 s,
the audit entries ~1 s, the new discrepancies ~1 s, the payment records ~0.6 s). The
statements are written so that their plans do not hang on statistics (tables emptied by a
vacuum look empty to the planner): index probes for the candidates, ON CONFLICT for the new
discrepancies, no anti-join against a table the statement fills. Other databases (SQLite, the
demo) take the batched ORM path; a test runs both on the same data and compares the results.
The candidates' audit entries (django-auditlog's table, bulk paths send no model signal): on
PostgreSQL one `INSERT INTO auditlog_logentry … SELECT` from the candidates' old and new values,
on the ORM path one `callback_office.audit.record_many` call — the same entries
(tests/security/test_audit_reconciliation.py).

Running it twice with the same lists changes nothing the second time (`rows_changed == 0`,
`discrepancies_new == 0`). The files are moved to `done/` only after the transaction commits; a
failed or killed run leaves the database as it was and the files where they were, so a re-run
reaches the same final state. The run's summary is kept in `ReconciliationRun` (written outside
the transaction so that failures are recorded too).

Readings of the plan:
- "confirmed but unpaid past the stage deadline": status 确认就读, no payment, and the run day is
  after the end of the first early-payment stage (`Season.payment_stage`: admission end + 7 days).
- "duplicate": the same payment (考生号 + 缴费日期) or registration (考生号) twice in the lists of one
  run (within a file or across files); the first row counts, the others are reported.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Func, Min, Q, QuerySet, Sum, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.choices import CallbackStatus
from admissions.models import (
    Candidate,
    Discrepancy,
    DiscrepancyKind,
    PaymentRecord,
    ReconciliationRun,
    ReconciliationStatus,
    RegistrationRecord,
    Season,
)
from callback_office.audit import current_actor, record_many

logger = logging.getLogger(__name__)

KINDS = ("payments", "registrations")
STATE_KINDS = frozenset(
    {
        DiscrepancyKind.PAID_BUT_WITHDRAWN,
        DiscrepancyKind.REGISTERED_BUT_WITHDRAWN,
        DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE,
        DiscrepancyKind.REGISTERED_NEVER_CONTACTED,
    }
)
KIND_LABELS = {"payments": "缴费名单", "registrations": "报到名单"}
ProgressFn = Callable[[int, int], None]


@dataclass
class Source:
    """The rows of one list (a dropped workbook or plain rows handed in by a caller)."""

    kind: str  # "payments" | "registrations"
    name: str
    rows: list[dict[str, Any]]
    path: Path | None = None
    errors: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, int, int]] = field(default_factory=list)  # (考生号, row, first row)
    rejected: bool = False


@dataclass
class Outcome:
    rows_read: int = 0
    rows_changed: int = 0
    discrepancies_new: int = 0
    discrepancies_open: int = 0


def drop_dir(season_year: int, kind: str) -> Path:
    return Path(settings.IMPORT_DROP_DIR) / str(season_year) / kind


CENTS = Decimal("0.01")  # Candidate.payment_amount's scale

# keys per IN list on the ORM path (SQLite allows 32,766 parameters per statement)
IN_CHUNK = 5000


# the set-based run's temp tables (ON COMMIT DROP; dropped at its end, for a caller's transaction)
TEMP_TABLES = ("recon_payment", "recon_registration", "recon_found", "recon_state")
# work_mem of the set-based run's transaction (SET LOCAL)
WORK_MEM = "64MB"


def _batch_size() -> int:
    return int(getattr(settings, "RECONCILIATION_BATCH_SIZE", 1000))


def _between_batches() -> None:
    """Fault-injection hook for tests (a pause between batches); zero in production."""
    pause = float(getattr(settings, "RECONCILIATION_BATCH_PAUSE", 0) or 0)
    if pause:
        time.sleep(pause)


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- reading the lists ---------------------------------------------------------------------------


DUPLICATE_RE = re.compile(r"“([^”\s]+)[^”]*”与第(\d+)行重复")


def read_workbook(kind: str, path: Path) -> Source:
    """Parse a dropped workbook with the shared import parser (structural + per-cell checks).

    Rows with cell errors are left out by the parser and listed in `Source.errors`; rows the
    parser reports as duplicates inside the file become `duplicates` (→ duplicate_row). A file
    that cannot be read at all (not xlsx, wrong headers) is `rejected`: listed with its errors on
    the run and moved to `rejected/` after the run commits; the rest of the run goes on.
    """
    from callback_office.importing import parse_workbook

    with path.open("rb") as fh:
        parsed = parse_workbook(kind, fh)
    source = Source(kind=kind, name=path.name, rows=list(parsed.rows), path=path)
    for err in parsed.errors:
        source.errors.append(str(err))
        match = DUPLICATE_RE.search(err.message) if err.row_number else None
        if match:
            source.duplicates.append((match.group(1), err.row_number, int(match.group(2))))
    source.rejected = not parsed.rows and bool(parsed.errors) and not _is_empty_notice(parsed)
    return source


def _is_empty_notice(parsed: Any) -> bool:
    """True when the only problem is an empty sheet (nothing to do, not an error)."""
    return parsed.total_rows == 0 and all(
        e.row_number is None and "没有数据行" in e.message for e in parsed.errors
    )


def dropped_files(season_year: int) -> list[tuple[str, Path]]:
    files = []
    for kind in KINDS:
        folder = drop_dir(season_year, kind)
        if folder.is_dir():
            files += [(kind, p) for p in sorted(folder.glob("*.xlsx")) if p.is_file()]
    return files


def _move_to_done(path: Path, folder: str = "done") -> None:
    done = path.parent / folder
    done.mkdir(parents=True, exist_ok=True)
    target = done / path.name
    if target.exists():
        target = done / f"{path.stem}-{timezone.now():%Y%m%d%H%M%S%f}{path.suffix}"
    shutil.move(str(path), str(target))


# --- the run -------------------------------------------------------------------------------------


def reconcile(
    *,
    season_year: int,
    sources: list[Source] | None = None,
    today: dt.date | None = None,
    trigger: str = "",
    job_id: str = "",
    progress: ProgressFn | None = None,
    actor_id: int | None = None,
) -> ReconciliationRun:
    """Reconcile the season's dropped lists (or the given `sources`); return the run's summary.

    `actor_id`: the user named as actor of the candidates' audit entries; by default the user
    of the request (auditlog's context) or of the tracked job (the office's 立即对账), none for
    the nightly cron job.

    Raises on failure after recording it (the job is then retried by rq); the database is left
    as it was.
    """
    season = Season.objects.get(year=season_year)
    today = today or timezone.localdate()
    if progress is None:
        from callback_office.jobs import report_progress as progress
    if actor_id is None:
        actor_id = _default_actor_id()
    # One reconciliation per season at a time, from listing the dropped files to moving them:
    # a second run started at the same moment waits here, then finds the files already done.
    with season_lock(season):
        return _reconcile_locked(
            season=season,
            sources=sources,
            today=today,
            trigger=trigger,
            job_id=job_id,
            progress=progress,
            actor_id=actor_id,
        )


def _default_actor_id() -> int | None:
    """Who started the run: the request's user, else the owner of the tracked rq job that runs
    it (an office user's 立即对账), else nobody (the nightly cron job, a shell)."""
    from rq import get_current_job

    actor = current_actor()
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.pk
    job = get_current_job()
    owner_id = job.meta.get("owner_id") if job is not None else None
    if owner_id is None:
        return None
    # the entries' actor is a foreign key: a user deleted since the click is nobody
    return owner_id if get_user_model().objects.filter(pk=owner_id).exists() else None


# Class id of the PostgreSQL advisory locks taken by reconciliations (object id: the season).
LOCK_CLASS = 7301


@contextmanager
def season_lock(season: Season) -> Iterator[None]:
    """Hold the season's reconciliation lock (a session-level PostgreSQL advisory lock).

    Session-level, not transaction-level, so that the run's summary can be written in its own
    transactions while the lock is held; a killed worker's connection ends and releases it. On
    SQLite (the demo) writers are serialised by the database itself.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, season.pk])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, season.pk])
        except DatabaseError:  # the connection is broken: its end releases the lock
            logger.warning("could not release the reconciliation lock of season %s", season.pk)


def _reconcile_locked(
    *,
    season: Season,
    sources: list[Source] | None,
    today: dt.date,
    trigger: str,
    job_id: str,
    progress: ProgressFn,
    actor_id: int | None,
) -> ReconciliationRun:
    season_year = season.year
    # Runs killed with their worker never finished (the lock is ours, so none is still going):
    # record that before starting again.
    ReconciliationRun.objects.filter(season=season, status=ReconciliationStatus.RUNNING).update(
        status=ReconciliationStatus.FAILED,
        error=_("运行中断（进程被终止），已由后续运行重做。"),
        finished_at=timezone.now(),
    )
    run = ReconciliationRun.objects.create(season=season, trigger=trigger, job_id=job_id)
    started = time.monotonic()
    try:
        if sources is None:
            sources = [read_workbook(kind, path) for kind, path in dropped_files(season_year)]
        run.files = [
            {
                "kind": s.kind,
                "name": s.name,
                "rows": len(s.rows),
                "errors": s.errors[:50],
                "rejected": s.rejected,
            }
            for s in sources
        ]
        with transaction.atomic():
            Season.objects.select_for_update().filter(pk=season.pk).first()
            outcome = _apply(
                season=season, sources=sources, run=run, today=today, progress=progress, actor_id=actor_id
            )
            for s in sources:
                if s.path is not None:
                    folder = "rejected" if s.rejected else "done"
                    transaction.on_commit(lambda p=s.path, f=folder: _move_to_done(p, f))
    except Exception as exc:
        run.status = ReconciliationStatus.FAILED
        run.error = (
            "；".join(exc.messages) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
        )
        run.finished_at = timezone.now()
        run.duration_seconds = Decimal(f"{time.monotonic() - started:.2f}")
        run.save()
        logger.exception("reconciliation of %s failed", season_year)
        raise
    run.status = ReconciliationStatus.SUCCEEDED
    run.rows_read = outcome.rows_read
    run.rows_changed = outcome.rows_changed
    run.discrepancies_new = outcome.discrepancies_new
    run.discrepancies_open = outcome.discrepancies_open
    run.finished_at = timezone.now()
    run.duration_seconds = Decimal(f"{time.monotonic() - started:.2f}")
    run.save()
    return run


def _apply(
    *,
    season: Season,
    sources: list[Source],
    run: ReconciliationRun,
    today: dt.date,
    progress: ProgressFn,
    actor_id: int | None = None,
) -> Outcome:
    """Collect the rows (duplicates dropped and reported), then write: set-based SQL on
    PostgreSQL (a temp table per list, a handful of statements whatever the number of rows),
    batched ORM writes elsewhere (SQLite, the demo). Both give the same results."""
    out = Outcome()
    found: Found = {}
    payments, registrations = _collect(sources, out, found)
    if _set_based():
        _apply_sql(
            season=season,
            payments=payments,
            registrations=registrations,
            found=found,
            run=run,
            today=today,
            progress=progress,
            out=out,
            actor_id=actor_id,
        )
    else:
        _apply_orm(
            season=season,
            payments=payments,
            registrations=registrations,
            found=found,
            run=run,
            today=today,
            progress=progress,
            out=out,
            actor_id=actor_id,
        )
    return out


def _set_based() -> bool:
    return connection.vendor == "postgresql"


# (kind, 考生号) → (candidate id, details); the first finding of a key stands
Found = dict[tuple[str, str], tuple[int | None, str]]


def _collect(
    sources: list[Source], out: Outcome, found: Found
) -> tuple[dict[tuple[str, dt.date], dict], dict[str, dict]]:
    """The lists' rows keyed as stored (payments by 考生号 + 缴费日期, registrations by 考生号), in
    the order first seen; later rows with a key already seen become duplicate_row findings."""
    payments: dict[tuple[str, dt.date], dict] = {}
    registrations: dict[str, dict] = {}
    for source in sources:
        label = KIND_LABELS[source.kind]
        for number, row_number, first in source.duplicates:
            out.rows_read += 1
            found.setdefault(
                (DiscrepancyKind.DUPLICATE_ROW, number),
                (None, f"{label} {source.name} 第{row_number}行与第{first}行重复"),
            )
        for row in source.rows:
            out.rows_read += 1
            number = str(row["exam_number"]).strip()
            where = f"{label} {source.name} 第{row.get('row_number', '?')}行"
            if source.kind == "payments":
                key = (number, row["paid_on"])
                if key in payments:
                    first = payments[key]
                    found.setdefault(
                        (DiscrepancyKind.DUPLICATE_ROW, number),
                        (None, f"{where}与{first['_where']}重复（缴费日期 {row['paid_on']}）"),
                    )
                    continue
                payments[key] = {**row, "exam_number": number, "_where": where}
            else:
                if number in registrations:
                    first = registrations[number]
                    found.setdefault(
                        (DiscrepancyKind.DUPLICATE_ROW, number), (None, f"{where}与{first['_where']}重复")
                    )
                    continue
                registrations[number] = {**row, "exam_number": number, "_where": where}
    return payments, registrations


class IsoDate(Func):
    """A date as text the way Python's str(date) writes it (YYYY-MM-DD), on every database."""

    template = "CAST(%(expressions)s AS TEXT)"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')")


@dataclass(frozen=True)
class StateCheck:
    """One state-based finding: the candidates it holds for, and its details (SQL expressions)."""

    kind: str
    condition: Q
    details: Concat


def _state_checks(*, season: Season, today: dt.date) -> list[StateCheck]:
    withdrawn = Q(status=CallbackStatus.WITHDRAWN) | Q(withdrawn_on__isnull=False)

    def details(*parts: Any) -> Concat:
        return Concat(*(Value(p) if isinstance(p, str) else p for p in parts), output_field=TextField())

    checks = [
        StateCheck(
            DiscrepancyKind.PAID_BUT_WITHDRAWN,
            withdrawn & Q(paid_on__isnull=False),
            details("已退档，但 ", IsoDate("paid_on"), " 已缴费"),
        ),
        StateCheck(
            DiscrepancyKind.REGISTERED_BUT_WITHDRAWN,
            withdrawn & Q(enrolled_on__isnull=False),
            details("已退档，但 ", IsoDate("enrolled_on"), " 已报到"),
        ),
    ]
    if season.admission_end and season.payment_close:
        deadline = season.admission_end + dt.timedelta(days=7)
        if today > deadline:
            checks.append(
                StateCheck(
                    DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE,
                    Q(status=CallbackStatus.CONFIRMED, paid_on__isnull=True),
                    details(f"确认就读，但第一阶段截止日 {deadline} 后仍未缴费", ""),
                )
            )
    checks.append(
        StateCheck(
            DiscrepancyKind.REGISTERED_NEVER_CONTACTED,
            Q(enrolled_on__isnull=False, contact_count=0),
            details(IsoDate("enrolled_on"), " 已报到，但从未回访"),
        )
    )
    return checks


def _state_discrepancies(
    *, season: Season, today: dt.date, record: Callable[[list[StateCheck]], None]
) -> None:
    """The state-based findings over the whole season, handed to `record` as checks run by the
    database (not row by row): one query per kind on the ORM path, one pass over the season's
    candidates for all kinds on PostgreSQL (`_state_findings_sql`)."""
    record(_state_checks(season=season, today=today))


def _state_rows(*, season: Season, check: StateCheck) -> QuerySet:
    """(考生号, candidate id, details) of the candidates a check holds for."""
    return (
        Candidate.objects.filter(season=season)
        .filter(check.condition)
        .annotate(details=check.details)
        .values_list("exam_number", "id", "details")
        .order_by()
    )


# --- PostgreSQL: set-based -----------------------------------------------------------------------


def _apply_sql(
    *,
    season: Season,
    payments: dict[tuple[str, dt.date], dict],
    registrations: dict[str, dict],
    found: Found,
    run: ReconciliationRun,
    today: dt.date,
    progress: ProgressFn,
    out: Outcome,
    actor_id: int | None,
) -> None:
    """COPY the lists into temp tables, then upsert records, update candidates and upsert
    discrepancies with a few INSERT … SELECT / UPDATE … FROM statements."""
    cand = Candidate._meta.db_table
    pay = PaymentRecord._meta.db_table
    reg = RegistrationRecord._meta.db_table
    now = timezone.now()
    total_rows = len(payments) + len(registrations)
    progress(0, total_rows)
    with connection.cursor() as cursor:
        raw = cursor.cursor

        def execute(sql: str, params: Sequence[Any] = ()) -> int:
            cursor.execute(sql, params)
            return cursor.rowcount

        # Sorts and hashes of 100,000 rows in memory, for this transaction only (the default
        # 4 MB spilled the candidates' hash join to 8 batches on disk, the sorts to files).
        cursor.execute("SHOW work_mem")  # the value to restore at the end
        (work_mem,) = cursor.fetchone()
        cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])

        # the run's rows (seq: the order they were read in, payments first), and its findings
        for table in (*TEMP_TABLES, "recon_payment_in", "recon_registration_in"):
            execute(f"DROP TABLE IF EXISTS {table}")
        # the lists as read (_in), then with their candidates (below)
        execute(
            "CREATE TEMP TABLE recon_payment_in (seq integer, exam_number varchar(32), paid_on date,"
            " amount numeric(10, 2), place text) ON COMMIT DROP"
        )
        execute(
            "CREATE TEMP TABLE recon_registration_in (seq integer, exam_number varchar(32),"
            " registered_on date, place text) ON COMMIT DROP"
        )
        execute(
            # its key (kind, 考生号) is unique by construction — duplicates keyed in Python, unknown
            # numbers DISTINCT, state findings one per candidate and kind — and indexed once all
            # are in (an index kept up row by row cost 0.4 s for 100,000 findings)
            "CREATE TEMP TABLE recon_found (kind varchar(32), exam_number varchar(32), candidate_id bigint,"
            " details text) ON COMMIT DROP"
        )
        seq = 0
        with raw.copy("COPY recon_payment_in FROM STDIN") as copy:
            for row in payments.values():
                seq += 1
                amount = Decimal(row["amount"])
                copy.write_row((seq, row["exam_number"], row["paid_on"], amount, row["_where"]))
        with raw.copy("COPY recon_registration_in FROM STDIN") as copy:
            for row in registrations.values():
                seq += 1
                copy.write_row((seq, row["exam_number"], row["registered_on"], row["_where"]))
        with raw.copy("COPY recon_found (kind, exam_number, details) FROM STDIN") as copy:
            for (kind, number), (_cid, details) in found.items():
                copy.write_row((kind, number, details))
        # The candidates by 考生号: one probe of the (season, 考生号) unique index per row, whatever
        # the statistics (a hash join read all 1M candidates for 100,000 rows: 0.4–0.8 s), into
        # a new table (an UPDATE would leave a dead copy of every row in the temp table, twice
        # the pages for every later scan of it).
        lookup = f"(SELECT c.id FROM {cand} c WHERE c.season_id = %s AND c.exam_number = t.exam_number)"
        for table in ("recon_payment", "recon_registration"):
            execute(
                f"CREATE TEMP TABLE {table} ON COMMIT DROP AS"
                f" SELECT t.*, {lookup} AS candidate_id FROM {table}_in t",
                [season.pk],
            )
            execute(f"DROP TABLE {table}_in")
            execute(f"ANALYZE {table}")
        execute(f"UPDATE recon_found t SET candidate_id = {lookup}", [season.pk])
        # numbers that are no candidate's: the first row that named them (payments first)
        execute(
            "INSERT INTO recon_found (kind, exam_number, details)"
            " SELECT DISTINCT ON (exam_number) %s, exam_number, place || '：考生号不存在' FROM ("
            "  SELECT seq, exam_number, place FROM recon_payment WHERE candidate_id IS NULL"
            "  UNION ALL"
            "  SELECT seq, exam_number, place FROM recon_registration WHERE candidate_id IS NULL"
            " ) unknown ORDER BY exam_number, seq",
            [DiscrepancyKind.UNKNOWN_EXAM_NUMBER],
        )

        # 1. payment records: new ones inserted, changed ones updated (rowcount: both)
        out.rows_changed += execute(
            f"INSERT INTO {pay} (season_id, exam_number, candidate_id, paid_on, amount, imported_at)"
            " SELECT %s, exam_number, candidate_id, paid_on, amount, %s FROM recon_payment"
            " ON CONFLICT (season_id, exam_number, paid_on) DO UPDATE"
            " SET amount = EXCLUDED.amount, candidate_id = EXCLUDED.candidate_id,"
            " imported_at = EXCLUDED.imported_at"
            f" WHERE {pay}.amount <> EXCLUDED.amount"
            f" OR {pay}.candidate_id IS DISTINCT FROM EXCLUDED.candidate_id",
            [season.pk, now],
        )
        progress(len(payments), total_rows)
        _between_batches()

        # 2. registration records
        out.rows_changed += execute(
            f"INSERT INTO {reg} (season_id, exam_number, candidate_id, registered_on, imported_at)"
            " SELECT %s, exam_number, candidate_id, registered_on, %s FROM recon_registration"
            " ON CONFLICT (season_id, exam_number) DO UPDATE"
            " SET registered_on = EXCLUDED.registered_on, candidate_id = EXCLUDED.candidate_id,"
            " imported_at = EXCLUDED.imported_at"
            f" WHERE {reg}.registered_on <> EXCLUDED.registered_on"
            f" OR {reg}.candidate_id IS DISTINCT FROM EXCLUDED.candidate_id",
            [season.pk, now],
        )
        progress(total_rows, total_rows)
        _between_batches()
        # Fresh statistics for the tables just written (ANALYZE sees this transaction's rows):
        # a records table vacuumed while empty has reltuples = 0, and the planner would then
        # join 100,000 rows against it by nested loops (a 10 s run took 450 s). Only a list that
        # has rows: ANALYZE waits for an autovacuum of the table (up to deadlock_timeout, 1 s).
        if payments:
            execute(f"ANALYZE {pay}")
        if registrations:
            execute(f"ANALYZE {reg}")

        # 3. the listed candidates' payment and registration state, from all their records:
        # the candidates it changes, old and new values side by side (their rows locked, so the
        # old values are the ones the UPDATE overwrites), then their audit entries, then the
        # UPDATE — three statements whatever the number of candidates.
        execute(
            "CREATE TEMP TABLE recon_state ON COMMIT DROP AS"
            " SELECT c.id, c.exam_number, n.paid_listed, n.first, n.total, n.registered_listed,"
            " n.registered_on, c.paid_on AS old_paid_on, c.payment_amount AS old_payment_amount,"
            " c.enrolled_on AS old_enrolled_on"
            " FROM (SELECT coalesce(s.candidate_id, r.candidate_id) AS id,"
            "  s.candidate_id IS NOT NULL AS paid_listed, s.first, s.total,"
            "  r.candidate_id IS NOT NULL AS registered_listed, r.registered_on"
            "  FROM (SELECT p.candidate_id, min(p.paid_on) AS first, sum(p.amount) AS total"
            f"   FROM {pay} p WHERE p.candidate_id IN (SELECT candidate_id FROM recon_payment)"
            "   GROUP BY p.candidate_id) s"
            "  FULL JOIN (SELECT DISTINCT ON (candidate_id) candidate_id, registered_on"
            f"   FROM {reg} WHERE candidate_id IN (SELECT candidate_id FROM recon_registration)"
            "   ORDER BY candidate_id, id DESC) r ON r.candidate_id = s.candidate_id ORDER BY 1) n"
            # each listed candidate by its primary key (a LATERAL subquery with a row lock is not
            # flattened: no hash of the 1M candidates, 0.5 s, whatever the statistics). What is
            # guaranteed: the rows it returns stay locked until commit. The order they are locked
            # in is the plan's: n is sorted by id and the nested loop reads it in that order
            # today, but SQL does not promise that a subquery's ORDER BY survives a join
            " CROSS JOIN LATERAL (SELECT c.id, c.exam_number, c.paid_on, c.payment_amount, c.enrolled_on"
            f"  FROM {cand} c WHERE c.id = n.id"
            "  AND ((n.paid_listed AND (c.paid_on IS DISTINCT FROM n.first"
            "   OR c.payment_amount IS DISTINCT FROM n.total))"
            "  OR (n.registered_listed AND c.enrolled_on IS DISTINCT FROM n.registered_on))"
            "  FOR NO KEY UPDATE) c"
        )
        execute("ANALYZE recon_state")  # the UPDATE's join: by the primary key, not a hash of 1M rows
        _audit_candidates_sql(execute=execute, now=now, actor_id=actor_id)
        out.rows_changed += execute(
            f"UPDATE {cand} c SET"
            " paid_on = CASE WHEN n.paid_listed THEN n.first ELSE c.paid_on END,"
            " payment_amount = CASE WHEN n.paid_listed THEN n.total ELSE c.payment_amount END,"
            " enrolled_on = CASE WHEN n.registered_listed THEN n.registered_on ELSE c.enrolled_on END,"
            " updated_at = %s FROM recon_state n WHERE c.id = n.id",
            [now],
        )
        _between_batches()

        # 4. state-based findings over the whole season
        def record(checks: list[StateCheck]) -> None:
            _state_findings_sql(execute=execute, season=season, checks=checks)

        _state_discrepancies(season=season, today=today, record=record)
        execute("ALTER TABLE recon_found ADD PRIMARY KEY (kind, exam_number)")
        execute("ANALYZE recon_found")

        # 5. discrepancies: new, reopened, updated, closed
        out.discrepancies_new, out.discrepancies_open = _upsert_discrepancies_sql(
            execute=execute, cursor=cursor, season=season, run=run, now=now
        )
        for table in TEMP_TABLES:
            execute(f"DROP TABLE {table}")
        execute("SELECT set_config('work_mem', %s, true)", [work_mem])
    progress(total_rows, total_rows)


def _state_findings_sql(*, execute: Callable[..., int], season: Season, checks: list[StateCheck]) -> None:
    """All state-based findings into recon_found in one pass over the season's candidates (a
    query per kind read the 1M candidates four times: ~1.5 s instead of ~0.5 s): each candidate
    row gives one details column per check (NULL where it does not hold), unpivoted by a
    LATERAL VALUES list. The kinds differ from the findings already there (duplicates, unknown
    numbers) and a candidate's 考生号 is unique in its season, so no key repeats: the same rows
    as a query per kind."""
    if not checks:
        return
    names = [f"finding_{i}" for i in range(len(checks))]
    condition = Q()
    for check in checks:
        condition |= check.condition
    rows = (
        Candidate.objects.filter(season=season)
        .filter(condition)
        .annotate(
            **{
                name: Case(When(check.condition, then=check.details), output_field=TextField())
                for name, check in zip(names, checks, strict=True)
            }
        )
        .values_list("exam_number", "id", *names)
        .order_by()
    )
    sql, params = rows.query.sql_with_params()
    unpivot = ", ".join(f"(%s, q.{name})" for name in names)
    execute(
        "INSERT INTO recon_found (kind, exam_number, candidate_id, details)"
        f" SELECT v.kind, q.exam_number, q.id, v.details FROM ({sql}) q"
        f" CROSS JOIN LATERAL (VALUES {unpivot}) v (kind, details)"
        " WHERE v.details IS NOT NULL",
        [*params, *(check.kind for check in checks)],
    )


def _audit_text(column: str, kind: str) -> str:
    """SQL for a value as `callback_office.audit.record_many` writes it: str(value), "None"."""
    text = f"to_char({column}, 'YYYY-MM-DD')" if kind == "date" else f"{column}::text"
    return f"coalesce({text}, 'None')"


# recon_state's (listed flag, old column, new column, kind) per audited candidate field
AUDITED_SQL = {
    "paid_on": ("paid_listed", "old_paid_on", "first", "date"),
    "payment_amount": ("paid_listed", "old_payment_amount", "total", "numeric"),
    "enrolled_on": ("registered_listed", "old_enrolled_on", "registered_on", "date"),
}


def _audit_candidates_sql(*, execute: Callable[..., int], now: dt.datetime, actor_id: int | None) -> int:
    """The audit entries of the candidates in recon_state, in one INSERT … SELECT: the same rows
    `record_many(Candidate, [(id, 考生号, {field: (old, new)})])` writes on the ORM path — UPDATE,
    object_repr = 考生号 (no personal data), `changes` {"field": ["old", "new"]} with the changed
    fields only, changes_text empty, the run's time, the actor or NULL."""
    pairs = ", ".join(
        f"'{name}', CASE WHEN {listed} AND {old} IS DISTINCT FROM {new}"
        f" THEN jsonb_build_array({_audit_text(old, kind)}, {_audit_text(new, kind)}) END"
        for name, (listed, old, new, kind) in AUDITED_SQL.items()
    )
    return execute(
        f"INSERT INTO {LogEntry._meta.db_table} (content_type_id, object_pk, object_id, object_repr,"
        " action, changes, changes_text, timestamp, actor_id)"
        " SELECT %s, id::text, id, exam_number, %s, jsonb_strip_nulls(jsonb_build_object("
        f"{pairs})), '', %s, %s FROM recon_state ORDER BY recon_state.id",
        [ContentType.objects.get_for_model(Candidate).pk, LogEntry.Action.UPDATE, now, actor_id],
    )


def _upsert_discrepancies_sql(
    *, execute: Callable[..., int], cursor: Any, season: Season, run: ReconciliationRun, now: dt.datetime
) -> tuple[int, int]:
    disc = Discrepancy._meta.db_table
    cand = Candidate._meta.db_table
    match = "d.season_id = %s AND d.kind = f.kind AND d.exam_number = f.exam_number"
    # reopened: resolved by a run (the fact came back) or by a person whose facts have changed
    reopened = execute(
        f"UPDATE {disc} d SET resolved = FALSE, resolved_at = NULL, resolved_by_id = NULL,"
        " details = f.details, candidate_id = f.candidate_id, last_run_id = %s, updated_at = %s"
        f" FROM recon_found f WHERE {match}"
        " AND d.resolved AND (d.resolved_by_id IS NULL OR d.details <> f.details)",
        [run.pk, now, season.pk],
    )
    execute(
        f"UPDATE {disc} d SET details = f.details, candidate_id = f.candidate_id, last_run_id = %s,"
        f" updated_at = %s FROM recon_found f WHERE {match}"
        " AND (d.details <> f.details OR d.candidate_id IS DISTINCT FROM f.candidate_id)",
        [run.pk, now, season.pk],
    )
    # new: the findings without a row yet, by the unique key's index. Not an anti-join against
    # the table: when the table is empty at plan time (vacuumed after a failed or rolled-back
    # run) the planner picks a nested loop that rescans the pages this INSERT fills, once per
    # row — 100,000 findings took 100 s instead of 1 s.
    created = execute(
        f"INSERT INTO {disc} (season_id, kind, exam_number, candidate_id, details, resolved,"
        " resolved_at, resolved_by_id, first_run_id, last_run_id, created_at, updated_at)"
        " SELECT %s, f.kind, f.exam_number, f.candidate_id, f.details, FALSE, NULL, NULL, %s, %s, %s, %s"
        " FROM recon_found f ON CONFLICT (season_id, kind, exam_number) DO NOTHING",
        [season.pk, run.pk, run.pk, now, now],
    )
    # closed: state-based kinds not found again, unknown numbers that are now a candidate's
    execute(
        f"UPDATE {disc} d SET resolved = TRUE, resolved_at = %s, resolved_by_id = NULL,"
        " last_run_id = %s, updated_at = %s"
        " WHERE d.season_id = %s AND NOT d.resolved"
        # this run's rows (new, reopened, updated) are findings of this run: no probe needed
        " AND d.last_run_id IS DISTINCT FROM %s"
        " AND NOT EXISTS (SELECT 1 FROM recon_found f"
        "  WHERE f.kind = d.kind AND f.exam_number = d.exam_number)"
        " AND (d.kind = ANY(%s) OR (d.kind = %s AND EXISTS ("
        f"  SELECT 1 FROM {cand} c WHERE c.season_id = d.season_id AND c.exam_number = d.exam_number)))",
        [now, run.pk, now, season.pk, run.pk, sorted(STATE_KINDS), DiscrepancyKind.UNKNOWN_EXAM_NUMBER],
    )
    cursor.execute(f"SELECT count(*) FROM {disc} WHERE season_id = %s AND NOT resolved", [season.pk])
    (open_count,) = cursor.fetchone()
    return created + reopened, open_count


# --- other databases (SQLite): batched ORM writes ------------------------------------------------


def _apply_orm(
    *,
    season: Season,
    payments: dict[tuple[str, dt.date], dict],
    registrations: dict[str, dict],
    found: Found,
    run: ReconciliationRun,
    today: dt.date,
    progress: ProgressFn,
    out: Outcome,
    actor_id: int | None,
) -> None:
    def find(kind: str, exam_number: str, candidate_id: int | None, details: str) -> None:
        found.setdefault((kind, exam_number), (candidate_id, details))

    total_rows = len(payments) + len(registrations)
    progress(0, total_rows)
    candidates = {
        c["exam_number"]: c
        for c in Candidate.objects.filter(season=season).values(
            "id", "exam_number", "paid_on", "payment_amount", "enrolled_on"
        )
    }
    for (kind, number), _value in list(found.items()):
        if kind == DiscrepancyKind.DUPLICATE_ROW and number in candidates:
            found[(kind, number)] = (candidates[number]["id"], found[(kind, number)][1])

    # 1. payment records
    done = 0
    touched_paid: set[int] = set()
    existing_pay = {
        (r.exam_number, r.paid_on): r
        for numbers in _chunks(sorted({k[0] for k in payments}), IN_CHUNK)
        for r in PaymentRecord.objects.filter(season=season, exam_number__in=numbers)
    }
    size = _batch_size()
    for batch in _chunks(list(payments.values()), size):
        create, update = [], []
        for row in batch:
            cand = candidates.get(row["exam_number"])
            cand_id = cand["id"] if cand else None
            if cand is None:
                find(
                    DiscrepancyKind.UNKNOWN_EXAM_NUMBER,
                    row["exam_number"],
                    None,
                    f"{row['_where']}：考生号不存在",
                )
            else:
                touched_paid.add(cand_id)
            amount = Decimal(row["amount"])
            rec = existing_pay.get((row["exam_number"], row["paid_on"]))
            if rec is None:
                create.append(
                    PaymentRecord(
                        season=season,
                        exam_number=row["exam_number"],
                        candidate_id=cand_id,
                        paid_on=row["paid_on"],
                        amount=amount,
                    )
                )
            elif rec.amount != amount or rec.candidate_id != cand_id:
                rec.amount, rec.candidate_id = amount, cand_id
                update.append(rec)
        PaymentRecord.objects.bulk_create(create)
        PaymentRecord.objects.bulk_update(update, ["amount", "candidate"])
        out.rows_changed += len(create) + len(update)
        done += len(batch)
        progress(done, total_rows)
        _between_batches()

    # 2. registration records
    touched_enrolled: set[int] = set()
    existing_reg = {
        r.exam_number: r
        for numbers in _chunks(sorted(registrations), IN_CHUNK)
        for r in RegistrationRecord.objects.filter(season=season, exam_number__in=numbers)
    }
    for batch in _chunks(list(registrations.values()), size):
        create, update = [], []
        for row in batch:
            cand = candidates.get(row["exam_number"])
            cand_id = cand["id"] if cand else None
            if cand is None:
                find(
                    DiscrepancyKind.UNKNOWN_EXAM_NUMBER,
                    row["exam_number"],
                    None,
                    f"{row['_where']}：考生号不存在",
                )
            else:
                touched_enrolled.add(cand_id)
            rec = existing_reg.get(row["exam_number"])
            if rec is None:
                create.append(
                    RegistrationRecord(
                        season=season,
                        exam_number=row["exam_number"],
                        candidate_id=cand_id,
                        registered_on=row["registered_on"],
                    )
                )
            elif rec.registered_on != row["registered_on"] or rec.candidate_id != cand_id:
                rec.registered_on, rec.candidate_id = row["registered_on"], cand_id
                update.append(rec)
        RegistrationRecord.objects.bulk_create(create)
        RegistrationRecord.objects.bulk_update(update, ["registered_on", "candidate"])
        out.rows_changed += len(create) + len(update)
        done += len(batch)
        progress(done, total_rows)
        _between_batches()

    # 3. candidates' payment and registration state, from all their records
    by_id = {c["id"]: c for c in candidates.values()}
    changed: dict[int, Candidate] = {}
    for ids in _chunks(sorted(touched_paid), IN_CHUNK):
        sums = (
            PaymentRecord.objects.filter(candidate_id__in=ids)
            .values("candidate_id")
            .annotate(first=Min("paid_on"), total=Sum("amount"))
        )
        for s in sums:
            c = by_id[s["candidate_id"]]
            # at the column's scale (SQLite's SUM of 5000.00 reads back as Decimal("5000"))
            s["total"] = s["total"].quantize(CENTS)
            if c["paid_on"] != s["first"] or c["payment_amount"] != s["total"]:
                obj = changed.setdefault(
                    c["id"],
                    Candidate(
                        id=c["id"],
                        paid_on=c["paid_on"],
                        payment_amount=c["payment_amount"],
                        enrolled_on=c["enrolled_on"],
                    ),
                )
                obj.paid_on, obj.payment_amount = s["first"], s["total"]
    for ids in _chunks(sorted(touched_enrolled), IN_CHUNK):
        for cid, day in RegistrationRecord.objects.filter(candidate_id__in=ids).values_list(
            "candidate_id", "registered_on"
        ):
            c = by_id[cid]
            if c["enrolled_on"] != day:
                obj = changed.setdefault(
                    cid,
                    Candidate(
                        id=cid,
                        paid_on=c["paid_on"],
                        payment_amount=c["payment_amount"],
                        enrolled_on=c["enrolled_on"],
                    ),
                )
                obj.enrolled_on = day
    # their audit entries (old → new; bulk_update sends no model signal), in this transaction
    record_many(
        Candidate,
        [
            (pk, by_id[pk]["exam_number"], {f: (by_id[pk][f], getattr(obj, f)) for f in AUDITED_SQL})
            for pk, obj in sorted(changed.items())
        ],
        actor=get_user_model()(pk=actor_id) if actor_id is not None else None,
    )
    now = timezone.now()
    for obj in changed.values():
        obj.updated_at = now
    for batch in _chunks(list(changed.values()), size):
        Candidate.objects.bulk_update(batch, ["paid_on", "payment_amount", "enrolled_on", "updated_at"])
    out.rows_changed += len(changed)

    # 4. state-based discrepancies over the whole season
    def record(checks: list[StateCheck]) -> None:
        for check in checks:
            for number, cand_id, details in _state_rows(season=season, check=check):
                find(check.kind, number, cand_id, details)

    _state_discrepancies(season=season, today=today, record=record)

    # 5. upsert discrepancies
    new, open_count = _upsert_discrepancies(season=season, found=found, run=run, known=set(candidates))
    out.discrepancies_new = new
    out.discrepancies_open = open_count
    progress(total_rows, total_rows)


def _upsert_discrepancies(
    *,
    season: Season,
    found: dict[tuple[str, str], tuple[int | None, str]],
    run: ReconciliationRun,
    known: set[str],
) -> tuple[int, int]:
    existing = {(d.kind, d.exam_number): d for d in Discrepancy.objects.filter(season=season)}
    create, update = [], []
    new = 0
    for (kind, number), (cand_id, details) in found.items():
        d = existing.get((kind, number))
        if d is None:
            create.append(
                Discrepancy(
                    season=season,
                    kind=kind,
                    exam_number=number,
                    candidate_id=cand_id,
                    details=details,
                    first_run=run,
                    last_run=run,
                )
            )
            new += 1
            continue
        dirty = False
        if d.resolved and (d.resolved_by_id is None or d.details != details):
            d.resolved, d.resolved_at, d.resolved_by_id = False, None, None
            new += 1
            dirty = True
        if d.details != details or d.candidate_id != cand_id:
            d.details, d.candidate_id = details, cand_id
            dirty = True
        if dirty:
            d.last_run, d.updated_at = run, timezone.now()
            update.append(d)
    # close what no longer holds: state-based kinds not found again, unknown numbers now known
    now = timezone.now()
    for key, d in existing.items():
        if d.resolved or key in found:
            continue
        gone = d.kind in STATE_KINDS or (
            d.kind == DiscrepancyKind.UNKNOWN_EXAM_NUMBER and d.exam_number in known
        )
        if gone:
            d.resolved, d.resolved_at, d.resolved_by_id, d.last_run, d.updated_at = True, now, None, run, now
            update.append(d)
    Discrepancy.objects.bulk_create(create)
    for batch in _chunks(update, _batch_size()):
        Discrepancy.objects.bulk_update(
            batch,
            ["resolved", "resolved_at", "resolved_by", "details", "candidate", "last_run", "updated_at"],
        )
    open_count = Discrepancy.objects.filter(season=season, resolved=False).count()
    return new, open_count


def discrepancy_resolve(*, discrepancy: Discrepancy, user: Any) -> Discrepancy:
    """Mark a discrepancy as handled by `user` (a later run reopens it only if its facts change)."""
    if discrepancy.resolved:
        return discrepancy
    discrepancy.resolved = True
    discrepancy.resolved_at = timezone.now()
    discrepancy.resolved_by = user
    discrepancy.save(update_fields=["resolved", "resolved_at", "resolved_by", "updated_at"])
    return discrepancy
