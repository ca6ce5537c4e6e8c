"""Nightly reconciliation (对账) of the payment and registration lists with the candidates.

`reconcile(season_year=...)` reads every workbook dropped in
`IMPORT_DROP_DIR/<year>/payments/*.xlsx` and `IMPORT_DROP_DIR/<year>/registrations/*.xlsx`
(office uploads are saved there too), then in ONE database transaction:

1. upserts `PaymentRecord` (key: season + 考生号 + 缴费日期) and `RegistrationRecord` (key: season +
   考生号) in batches, linking them to the candidate;
2. sets `Candidate.paid_on` (earliest payment), `payment_amount` (sum of payments) and
   `enrolled_on` (registration date) where they differ;
3. records discrepancies, one row per (season, kind, 考生号): created, reopened or updated,
   never duplicated; state-based ones that no longer hold are closed automatically.

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Min, Q, Sum
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
) -> ReconciliationRun:
    """Reconcile the season's dropped lists (or the given `sources`); return the run's summary.

    Raises on failure after recording it (the job is then retried by rq); the database is left
    as it was.
    """
    season = Season.objects.get(year=season_year)
    today = today or timezone.localdate()
    if progress is None:
        from callback_office.jobs import report_progress as progress
    # One reconciliation per season at a time, from listing the dropped files to moving them:
    # a second run started at the same moment waits here, then finds the files already done.
    with season_lock(season):
        return _reconcile_locked(
            season=season, sources=sources, today=today, trigger=trigger, job_id=job_id, progress=progress
        )


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
            outcome = _apply(season=season, sources=sources, run=run, today=today, progress=progress)
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
    *, season: Season, sources: list[Source], run: ReconciliationRun, today: dt.date, progress: ProgressFn
) -> Outcome:
    out = Outcome()
    found: dict[tuple[str, str], tuple[int | None, str]] = {}

    def find(kind: str, exam_number: str, candidate_id: int | None, details: str) -> None:
        found.setdefault((kind, exam_number), (candidate_id, details))

    payments: dict[tuple[str, dt.date], dict] = {}
    registrations: dict[str, dict] = {}
    for source in sources:
        label = KIND_LABELS[source.kind]
        for number, row_number, first in source.duplicates:
            out.rows_read += 1
            find(
                DiscrepancyKind.DUPLICATE_ROW,
                number,
                None,
                f"{label} {source.name} 第{row_number}行与第{first}行重复",
            )
        for row in source.rows:
            out.rows_read += 1
            number = str(row["exam_number"]).strip()
            where = f"{label} {source.name} 第{row.get('row_number', '?')}行"
            if source.kind == "payments":
                key = (number, row["paid_on"])
                if key in payments:
                    first = payments[key]
                    find(
                        DiscrepancyKind.DUPLICATE_ROW,
                        number,
                        None,
                        f"{where}与{first['_where']}重复（缴费日期 {row['paid_on']}）",
                    )
                    continue
                payments[key] = {**row, "exam_number": number, "_where": where}
            else:
                if number in registrations:
                    first = registrations[number]
                    find(DiscrepancyKind.DUPLICATE_ROW, number, None, f"{where}与{first['_where']}重复")
                    continue
                registrations[number] = {**row, "exam_number": number, "_where": where}

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
        for r in PaymentRecord.objects.filter(season=season, exam_number__in={k[0] for k in payments})
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
        for r in RegistrationRecord.objects.filter(season=season, exam_number__in=set(registrations))
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
    for ids in _chunks(sorted(touched_paid), 5000):
        sums = (
            PaymentRecord.objects.filter(candidate_id__in=ids)
            .values("candidate_id")
            .annotate(first=Min("paid_on"), total=Sum("amount"))
        )
        for s in sums:
            c = by_id[s["candidate_id"]]
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
    for ids in _chunks(sorted(touched_enrolled), 5000):
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
    now = timezone.now()
    for obj in changed.values():
        obj.updated_at = now
    for batch in _chunks(list(changed.values()), size):
        Candidate.objects.bulk_update(batch, ["paid_on", "payment_amount", "enrolled_on", "updated_at"])
    out.rows_changed += len(changed)

    # 4. state-based discrepancies over the whole season
    _state_discrepancies(season=season, today=today, find=find)

    # 5. upsert discrepancies
    new, open_count = _upsert_discrepancies(season=season, found=found, run=run, known=set(candidates))
    out.discrepancies_new = new
    out.discrepancies_open = open_count
    progress(total_rows, total_rows)
    return out


def _state_discrepancies(*, season: Season, today: dt.date, find: Callable) -> None:
    base = Candidate.objects.filter(season=season)
    withdrawn = Q(status=CallbackStatus.WITHDRAWN) | Q(withdrawn_on__isnull=False)
    for c in base.filter(withdrawn, paid_on__isnull=False).values("id", "exam_number", "paid_on"):
        find(
            DiscrepancyKind.PAID_BUT_WITHDRAWN, c["exam_number"], c["id"], f"已退档，但 {c['paid_on']} 已缴费"
        )
    for c in base.filter(withdrawn, enrolled_on__isnull=False).values("id", "exam_number", "enrolled_on"):
        find(
            DiscrepancyKind.REGISTERED_BUT_WITHDRAWN,
            c["exam_number"],
            c["id"],
            f"已退档，但 {c['enrolled_on']} 已报到",
        )
    if season.admission_end and season.payment_close:
        deadline = season.admission_end + dt.timedelta(days=7)
        if today > deadline:
            for c in base.filter(status=CallbackStatus.CONFIRMED, paid_on__isnull=True).values(
                "id", "exam_number"
            ):
                find(
                    DiscrepancyKind.CONFIRMED_UNPAID_PAST_STAGE,
                    c["exam_number"],
                    c["id"],
                    f"确认就读，但第一阶段截止日 {deadline} 后仍未缴费",
                )
    for c in base.filter(enrolled_on__isnull=False, contact_count=0).values(
        "id", "exam_number", "enrolled_on"
    ):
        find(
            DiscrepancyKind.REGISTERED_NEVER_CONTACTED,
            c["exam_number"],
            c["id"],
            f"{c['enrolled_on']} 已报到，但从未回访",
        )


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
