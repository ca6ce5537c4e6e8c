"""Writes of the reports app: nightly progress snapshots and weekly team reports.

Numbers (the glossary's words):
- candidates: active assignments (a caller's / team's candidates) or all candidates (season);
- admitted: candidates minus completed withdrawals (status 已退档 or a withdrawal date);
- paid / enrolled: admitted candidates with a payment / registration date on or before the day;
- early_payment_rate = paid ÷ admitted, enrollment_rate = enrolled ÷ admitted (0 when none);
- contacts / minutes in snapshots: the candidates' contact summaries (all contacts so far);
- reached (联系上): the status says someone answered (not 未联系 / 联系不上); confirmed: status
  确认就读; contacted: candidates with at least one contact (the office dashboard's funnel);
- weekly report: contacts and minutes are the member's own contact log entries in the week;
  averages per candidate use the candidates' contact summaries and are compared with the
  manual's minimum of 4 contacts and 20 minutes per candidate;
- weekly "status changes" (本周状态变化): real moves of a candidate's callback status (未联系 →
  考虑中·犹豫 → 确认就读, … → 申请退档 → 已退档) made in the week, read from the audit trail
  (django-auditlog `LogEntry` UPDATE rows of `Candidate` whose `changes` hold `status` with
  old ≠ new — see callback_office/audit.py: contact logging, withdrawal requests and their
  completion/rejection, the withdrawal list import, admin edits each write one). Counted per new
  status, as moves (a candidate moved twice in the week counts once under each new status; a
  contact that restates the status on file is no move), and given to the caller who holds the
  candidate's active assignment when the report is made, whoever made the move.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from admissions.choices import CallbackStatus
from admissions.models import Candidate, Season
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callbacks.choices import TeamKind
from callbacks.models import TEAM_ORDER, Assignment, Caller, ContactLog, Team
from reports.models import ALL_LEVELS, ProgressSnapshot, Scope, WeeklyReport

RATE_PLACES = Decimal("0.00001")
MIN_CONTACTS = Decimal(4)
MIN_MINUTES = Decimal(20)
STATUS_LABELS = {s.value: s.label for s in CallbackStatus}
STATUS_ORDER = {s.value: i for i, s in enumerate(CallbackStatus)}


def rate(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0")
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES)


def _withdrawn(prefix: str = "") -> Q:
    return Q(**{f"{prefix}status": CallbackStatus.WITHDRAWN}) | Q(**{f"{prefix}withdrawn_on__isnull": False})


def _counts(prefix: str, day: dt.date) -> dict[str, Any]:
    """Aggregates over candidates (reached through `prefix`, e.g. "candidate__")."""
    w = _withdrawn(prefix)
    return {
        "n": Count("id"),
        "withdrawn": Count("id", filter=w),
        "paid": Count("id", filter=Q(**{f"{prefix}paid_on__lte": day}) & ~w),
        "enrolled": Count("id", filter=Q(**{f"{prefix}enrolled_on__lte": day}) & ~w),
        "contacts": Sum(f"{prefix}contact_count"),
        "seconds": Sum(f"{prefix}contact_seconds"),
    }


def _progress(prefix: str, day: dt.date) -> dict[str, Any]:
    """`_counts` plus the office dashboard's funnel steps (reached, confirmed, contacted)."""
    return {
        **_counts(prefix, day),
        "reached": Count(
            "id",
            filter=~Q(**{f"{prefix}status__in": (CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE)}),
        ),
        "confirmed": Count("id", filter=Q(**{f"{prefix}status": CallbackStatus.CONFIRMED})),
        "contacted": Count("id", filter=Q(**{f"{prefix}contact_count__gt": 0})),
    }


@dataclass
class Tally:
    candidates: int = 0
    admitted: int = 0
    paid: int = 0
    enrolled: int = 0
    contacts: int = 0
    seconds: int = 0
    reached: int = 0
    confirmed: int = 0
    contacted: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.candidates += row["n"]
        self.admitted += row["n"] - row["withdrawn"]
        self.paid += row["paid"]
        self.enrolled += row["enrolled"]
        self.contacts += row["contacts"] or 0
        self.seconds += row["seconds"] or 0
        self.reached += row["reached"]
        self.confirmed += row["confirmed"]
        self.contacted += row["contacted"]


# --- snapshots -----------------------------------------------------------------------------------


SNAPSHOT_KEY = ("season", "day", "scope", "scope_id", "level")
# the per-row numbers; season, day, stage, stage_target and created_at are the same for every row
SNAPSHOT_NUMBERS = (
    "candidates",
    "admitted",
    "paid",
    "enrolled",
    "contacts",
    "minutes",
    "early_payment_rate",
    "enrollment_rate",
    "reached",
    "confirmed",
    "contacted",
)
# PostgreSQL array types of the per-row columns (scope, scope_id, level, then SNAPSHOT_NUMBERS)
_SNAPSHOT_ARRAY_TYPES = ("text", "int8", "text", *["int8"] * 5, *["numeric"] * 3, *["int8"] * 3)


def snapshot_take(*, season: Season, day: dt.date | None = None) -> int:
    """Write the day's snapshots for every caller, team, province and the season (replacing any
    taken earlier that day); return rows written.

    Three queries whatever the number of callers: one grouped aggregate over active
    assignments, one over the season's candidates (by level and province), one write — on
    PostgreSQL a single INSERT … SELECT FROM unnest(arrays) … ON CONFLICT DO UPDATE (one array
    parameter per column instead of ~19 parameters per row and no model instances), elsewhere
    `bulk_create(update_conflicts=True)`. 33,000 rows (the platform's 10,000 callers): first take
    of a day 3.0 → 0.75 s, retake 3.2 → 0.85 s. DELETE of the day + COPY measured ~0.5 s but
    needs a second statement and a lock, or two concurrent takes of one day (nightly job and a
    refresh) fail on the unique key; the one upsert statement cannot.
    """
    day = day or timezone.localdate()
    tallies: dict[tuple[str, int, str], Tally] = defaultdict(Tally)
    per_caller = (
        Assignment.objects.filter(active=True, candidate__season=season)
        .values("caller_id", "caller__team_id", "candidate__level")
        .annotate(**_progress("candidate__", day))
        .order_by()
    )
    for row in per_caller:
        for level in (row["candidate__level"], ALL_LEVELS):
            tallies[(Scope.CALLER, row["caller_id"], level)].add(row)
            if row["caller__team_id"]:
                tallies[(Scope.TEAM, row["caller__team_id"], level)].add(row)
    whole = (
        Candidate.objects.filter(season=season)
        .values("level", "province_id")
        .annotate(**_progress("", day))
        .order_by()
    )
    for row in whole:
        for level in (row["level"], ALL_LEVELS):
            tallies[(Scope.SEASON, 0, level)].add(row)
            tallies[(Scope.PROVINCE, row["province_id"], level)].add(row)
    tallies.setdefault((Scope.SEASON, 0, ALL_LEVELS), Tally())
    stage = season.payment_stage(day)
    rows = [
        (
            str(scope),
            scope_id,
            level,
            t.candidates,
            t.admitted,
            t.paid,
            t.enrolled,
            t.contacts,
            (Decimal(t.seconds) / 60).quantize(Decimal("0.1")),
            rate(t.paid, t.admitted),
            rate(t.enrolled, t.admitted),
            t.reached,
            t.confirmed,
            t.contacted,
        )
        for (scope, scope_id, level), t in sorted(tallies.items())
    ]
    snapshot_write(
        season=season,
        day=day,
        stage=stage[0] if stage else None,
        stage_target=stage[1] if stage else None,
        rows=rows,
    )
    return len(rows)


def snapshot_write(
    *,
    season: Season,
    day: dt.date,
    stage: int | None,
    stage_target: Decimal | None,
    rows: list[tuple],
) -> None:
    """Upsert one day's snapshot rows — (scope, scope_id, level, *SNAPSHOT_NUMBERS) tuples — in
    one statement."""
    if not rows:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        ProgressSnapshot.objects.bulk_create(
            [
                ProgressSnapshot(
                    season=season,
                    day=day,
                    scope=r[0],
                    scope_id=r[1],
                    level=r[2],
                    stage=stage,
                    stage_target=stage_target,
                    created_at=now,
                    **dict(zip(SNAPSHOT_NUMBERS, r[3:], strict=True)),
                )
                for r in rows
            ],
            update_conflicts=True,
            unique_fields=list(SNAPSHOT_KEY),
            update_fields=[*SNAPSHOT_NUMBERS, "stage", "stage_target", "created_at"],
        )
        return
    meta = ProgressSnapshot._meta
    col = {
        name: connection.ops.quote_name(meta.get_field(name).column)
        for name in (*SNAPSHOT_KEY, *SNAPSHOT_NUMBERS, "stage", "stage_target", "created_at")
    }
    per_row = ["scope", "scope_id", "level", *SNAPSHOT_NUMBERS]
    constant = ["season", "day", "stage", "stage_target", "created_at"]
    arrays = ", ".join(f"%s::{t}[]" for t in _SNAPSHOT_ARRAY_TYPES)
    update = [*SNAPSHOT_NUMBERS, "stage", "stage_target", "created_at"]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} "
        f"({', '.join(col[n] for n in (*constant, *per_row))}) "
        f"SELECT %s, %s, %s::smallint, %s::numeric, %s, u.* FROM unnest({arrays}) AS u "
        f"ON CONFLICT ({', '.join(col[n] for n in SNAPSHOT_KEY)}) DO UPDATE SET "
        + ", ".join(f"{col[n]} = EXCLUDED.{col[n]}" for n in update)
    )
    columns = [list(c) for c in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [season.pk, day, stage, stage_target, now, *columns])


# --- weekly team reports -------------------------------------------------------------------------


def week_start_before(day: dt.date) -> dt.date:
    """The Monday of the last full week before `day` (a Monday 07:00 run reports last week)."""
    return day - dt.timedelta(days=day.weekday() + 7)


@dataclass
class MemberRow:
    caller_id: int
    name: str
    staff_no: str
    candidates: int = 0
    admitted: int = 0
    paid: int = 0
    enrolled: int = 0
    contacts_total: int = 0
    seconds_total: int = 0
    contacts_week: int = 0
    seconds_week: int = 0
    status_changes: dict[str, int] = field(default_factory=dict)
    hesitant: list[dict[str, str]] = field(default_factory=list)
    unreachable: list[dict[str, str]] = field(default_factory=list)
    open_findings: int = 0
    enrollment_target_weight: Decimal = Decimal(0)

    @property
    def minutes_week(self) -> Decimal:
        return (Decimal(self.seconds_week) / 60).quantize(Decimal("0.1"))

    @property
    def avg_contacts(self) -> Decimal:
        if not self.candidates:
            return Decimal("0.0")
        return (Decimal(self.contacts_total) / self.candidates).quantize(Decimal("0.1"))

    @property
    def avg_minutes(self) -> Decimal:
        if not self.candidates:
            return Decimal("0.0")
        return (Decimal(self.seconds_total) / 60 / self.candidates).quantize(Decimal("0.1"))

    @property
    def below_minimum(self) -> bool:
        return bool(self.candidates) and (self.avg_contacts < MIN_CONTACTS or self.avg_minutes < MIN_MINUTES)

    @property
    def payment_rate(self) -> Decimal:
        return rate(self.paid, self.admitted)

    @property
    def enrollment_rate(self) -> Decimal:
        return rate(self.enrolled, self.admitted)

    @property
    def enrollment_target(self) -> Decimal:
        """The basic enrollment target, weighted by the member's admitted candidates' levels."""
        if not self.admitted:
            return Decimal("0")
        return (self.enrollment_target_weight / self.admitted).quantize(RATE_PLACES)

    @property
    def status_changes_total(self) -> int:
        return sum(self.status_changes.values())

    @property
    def status_changes_sorted(self) -> list[tuple[str, int]]:
        """(new status, moves) in the statuses' own order (未联系, 确认就读, 考虑中·犹豫, …)."""
        return sorted(self.status_changes.items(), key=lambda kv: STATUS_ORDER.get(kv[0], len(STATUS_ORDER)))

    @property
    def status_changes_labelled(self) -> list[tuple[str, int]]:
        return [(str(STATUS_LABELS.get(k, k)), n) for k, n in self.status_changes_sorted]

    def as_dict(self) -> dict[str, Any]:
        return {
            "caller_id": self.caller_id,
            "name": self.name,
            "staff_no": self.staff_no,
            "candidates": self.candidates,
            "admitted": self.admitted,
            "paid": self.paid,
            "enrolled": self.enrolled,
            "contacts_week": self.contacts_week,
            "minutes_week": str(self.minutes_week),
            "avg_contacts": str(self.avg_contacts),
            "avg_minutes": str(self.avg_minutes),
            "below_minimum": self.below_minimum,
            "status_changes": self.status_changes,
            "status_changes_total": self.status_changes_total,
            "hesitant": self.hesitant,
            "unreachable": self.unreachable,
            "payment_rate": str(self.payment_rate),
            "enrollment_rate": str(self.enrollment_rate),
            "enrollment_target": str(self.enrollment_target),
            "open_findings": self.open_findings,
        }


def _open_findings(season: Season) -> dict[int, int]:
    """Open audit findings per caller (supervision's selector), empty if not available."""
    try:
        from supervision.selectors import open_findings_by_caller
    except ImportError:
        return {}
    return open_findings_by_caller(season=season)


def _status_moves(*, caller_ids: list[int], start: dt.datetime, end: dt.datetime) -> list[tuple[int, str]]:
    """(holding caller, new status) for every move of a held candidate's status in [start, end).

    One query: the audit trail's UPDATE entries of candidates that name `status` in the window
    (index on `timestamp`), each with the caller of the candidate's active assignment (partial
    unique index on active assignments), kept when that caller is one of `caller_ids`."""
    from auditlog.models import LogEntry

    holder = Assignment.objects.filter(candidate_id=OuterRef("object_id"), active=True).values("caller_id")[
        :1
    ]
    entries = (
        LogEntry.objects.filter(
            content_type__app_label=Candidate._meta.app_label,
            content_type__model=Candidate._meta.model_name,
            action=LogEntry.Action.UPDATE,
            timestamp__gte=start,
            timestamp__lt=end,
            changes__has_key="status",
        )
        .annotate(holder=Subquery(holder))
        .filter(holder__in=caller_ids)
        .values_list("holder", "changes")
        .order_by()
    )
    moves = []
    for holder_id, changes in entries:
        old, new = (changes.get("status") or (None, None))[:2]
        if new and old != new and new in STATUS_LABELS:
            moves.append((holder_id, new))
    return moves


def weekly_members(*, season: Season, teams: list[Team], week_start: dt.date) -> dict[int, list[MemberRow]]:
    """Every team's member rows for the week starting `week_start` (a fixed number of queries)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(week_start, dt.time.min, tzinfo=tz)
    end = start + dt.timedelta(days=7)
    last_day = week_start + dt.timedelta(days=6)
    team_ids = [t.id for t in teams]
    members = list(Caller.objects.filter(season=season, team_id__in=team_ids).order_by("staff_no"))
    rows = {m.id: MemberRow(caller_id=m.id, name=m.name, staff_no=m.staff_no) for m in members}
    caller_ids = list(rows)
    for r in (
        Assignment.objects.filter(active=True, caller_id__in=caller_ids)
        .values("caller_id", "candidate__level")
        .annotate(**_counts("candidate__", last_day))
        .order_by()
    ):
        m = rows[r["caller_id"]]
        admitted = r["n"] - r["withdrawn"]
        m.candidates += r["n"]
        m.admitted += admitted
        m.paid += r["paid"]
        m.enrolled += r["enrolled"]
        m.contacts_total += r["contacts"] or 0
        m.seconds_total += r["seconds"] or 0
        m.enrollment_target_weight += season.targets(r["candidate__level"])[0] * admitted
    week = ContactLog.objects.filter(caller_id__in=caller_ids, contacted_at__gte=start, contacted_at__lt=end)
    for r in week.values("caller_id").annotate(n=Count("id"), secs=Sum("duration_seconds")).order_by():
        rows[r["caller_id"]].contacts_week = r["n"]
        rows[r["caller_id"]].seconds_week = r["secs"] or 0
    for holder, new_status in _status_moves(caller_ids=caller_ids, start=start, end=end):
        changes = rows[holder].status_changes
        changes[new_status] = changes.get(new_status, 0) + 1
    for r in (
        Assignment.objects.filter(
            active=True,
            caller_id__in=caller_ids,
            candidate__status__in=[CallbackStatus.HESITANT, CallbackStatus.UNREACHABLE],
        )
        .values("caller_id", "candidate__name", "candidate__exam_number", "candidate__status")
        .order_by("candidate__exam_number")
    ):
        entry = {"name": r["candidate__name"], "exam_number": r["candidate__exam_number"]}
        target = rows[r["caller_id"]]
        (target.hesitant if r["candidate__status"] == CallbackStatus.HESITANT else target.unreachable).append(
            entry
        )
    findings = _open_findings(season)
    for cid, m in rows.items():
        m.open_findings = findings.get(cid, 0)
    by_team: dict[int, list[MemberRow]] = {t.id: [] for t in teams}
    for member in members:
        by_team[member.team_id].append(rows[member.id])
    return by_team


def _xlsx(team: Team, week_start: dt.date, members: list[MemberRow], payment_target: Decimal | None) -> bytes:
    wb = new_workbook()
    headers = [
        _("工号"),
        _("姓名"),
        _("考生数"),
        _("录取人数"),
        _("本周回访次数"),
        _("本周回访分钟"),
        _("人均回访次数"),
        _("人均回访分钟"),
        _("低于4次/20分钟"),
        _("本周状态变化"),
        _("犹豫"),
        _("联系不上"),
        _("已缴费"),
        _("提前缴费率"),
        _("缴费阶段目标"),
        _("已报到"),
        _("报到率"),
        _("报到基本任务"),
        _("未关闭督查问题"),
    ]
    sheet = SheetWriter(wb, _("成员"), headers, percent_columns=(13, 14, 16, 17))
    for m in members:
        sheet.append(
            [
                m.staff_no,
                m.name,
                m.candidates,
                m.admitted,
                m.contacts_week,
                float(m.minutes_week),
                float(m.avg_contacts),
                float(m.avg_minutes),
                _("是") if m.below_minimum else _("否"),
                m.status_changes_total,
                len(m.hesitant),
                len(m.unreachable),
                m.paid,
                m.payment_rate,
                payment_target if payment_target is not None else "",
                m.enrolled,
                m.enrollment_rate,
                m.enrollment_target,
                m.open_findings,
            ]
        )
    lists = SheetWriter(wb, _("犹豫与联系不上"), [_("回访员"), _("状态"), _("考生号"), _("姓名")])
    for m in members:
        for label, entries in ((_("考虑中·犹豫"), m.hesitant), (_("联系不上"), m.unreachable)):
            for e in entries:
                lists.append([m.name, label, e["exam_number"], e["name"]])
    changes = SheetWriter(wb, _("本周状态变化"), [_("回访员"), _("新状态"), _("次数")])
    for m in members:
        for status, n in m.status_changes_sorted:
            changes.append([m.name, str(STATUS_LABELS.get(status, status)), n])
    buf = io.BytesIO()
    save_workbook(wb, buf)
    return buf.getvalue()


def weekly_report_generate(*, season: Season, week_start: dt.date, progress=None) -> list[WeeklyReport]:
    """Create or replace every regular team's report for the week starting `week_start`."""
    teams = list(
        Team.objects.filter(season=season)
        .exclude(kind=TeamKind.STRIKE)
        .exclude(kind=TeamKind.SUPERVISION)
        .select_related("leader")
        .order_by(*TEAM_ORDER)
    )
    by_team = weekly_members(season=season, teams=teams, week_start=week_start)
    last_day = week_start + dt.timedelta(days=6)
    stage = season.payment_stage(last_day)
    payment_target = stage[1] if stage else None
    reports = []
    for i, team in enumerate(teams, 1):
        members = by_team[team.id]
        context = {
            "season": season,
            "team": team,
            "week_start": week_start,
            "week_end": last_day,
            "members": members,
            "stage": stage[0] if stage else None,
            "payment_target": payment_target,
            "min_contacts": MIN_CONTACTS,
            "min_minutes": MIN_MINUTES,
        }
        html = render_to_string("reports/_weekly_body.html", context)
        data = {
            "week_start": week_start.isoformat(),
            "stage": stage[0] if stage else None,
            "payment_target": str(payment_target) if payment_target is not None else None,
            "members": [m.as_dict() for m in members],
        }
        content = _xlsx(team, week_start, members, payment_target)
        with transaction.atomic():
            report, _created = WeeklyReport.objects.select_for_update().get_or_create(
                team=team, week_start=week_start, defaults={"season": season, "html": html, "data": data}
            )
            old = report.xlsx.name if report.xlsx else None
            report.html, report.data = html, data
            report.xlsx.save(f"team{team.id}-{week_start:%Y%m%d}.xlsx", ContentFile(content), save=False)
            report.save()
            if old and old != report.xlsx.name:
                transaction.on_commit(lambda name=old, storage=report.xlsx.storage: storage.delete(name))
        reports.append(report)
        if progress:
            progress(i, len(teams))
    return reports
