"""Dashboard reads: the team lead's week, the office's season, the supervisors' audits and the
province lists. Every dashboard is a fixed number of grouped (GROUP BY) queries, whatever the
number of teams, callers or candidates, plus the nightly snapshots for the trends. The office
dashboard's season-wide numbers are the latest snapshot rows (`season_numbers`): no request
aggregates every candidate of the season.

Numbers (the glossary's words, as in `reports.services`):
- candidates: a caller's / team's active assignments; the season's candidates (投档) for the office;
- withdrawn: status 已退档 or a withdrawal date; admitted = candidates − withdrawn;
- paid / enrolled: admitted candidates with a payment / registration date;
- early-payment rate = paid ÷ admitted, enrollment rate = enrolled ÷ admitted (None when none);
- contacted: candidates with at least one contact; reached (联系上): the status says someone
  answered (not 未联系 / 联系不上);
- overdue follow-up: an active assignment whose `next_call_at` is older than
  settings.FOLLOWUP_OVERDUE_HOURS (24 h by default);
- no-show (录取未报到): admitted, not enrolled;
- a member's basic / target standards: the subsidy scheme's per-province standards (withdrawable
  or not), weighted by the member's admitted candidates per level and province kind (the
  subsidies engine's `standards_for`), then by level.

Tables are `Table` values: the pages render them and the Excel exports write the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache
from math import ceil, floor
from typing import Any
from urllib.parse import quote_plus, urlencode

import django_rq
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Avg, Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import TruncWeek
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate, ProvincePolicy, Season
from callback_office.cache import cache_get, cache_set
from callback_office.roles import is_office
from callbacks.casework_models import (
    StrikeCase,
    StrikeCaseKind,
    StrikeCaseStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from callbacks.models import TEAM_ORDER, Assignment, Caller, ContactLog, Team
from callbacks.selectors import candidates_for, overdue_hours, team_ids_for
from reports.models import ALL_LEVELS, ProgressSnapshot, Scope
from reports.services import snapshot_take
from subsidies.engine.facts import LevelFacts
from subsidies.engine.numbers import frac, money
from subsidies.engine.phone import level_amount
from subsidies.engine.scheme import Scheme
from subsidies.engine.tiers import standards_for
from subsidies.engine.whatif import NextTier
from subsidies.models import SubsidyScheme
from supervision.choices import FindingCategory, FindingStatus
from supervision.models import AuditItem, AuditScore, Finding, Incident
from supervision.selectors import audited_record_counts, open_findings_by_caller, supervised_team_ids

logger = logging.getLogger(__name__)

RATE_PLACES = Decimal("0.00001")
SNAPSHOT_JOB_TIMEOUT = 1800
TENTH = Decimal("0.1")
MIN_CONTACTS = Decimal(4)
MIN_MINUTES = Decimal(20)
REACHED_EXCLUDED = (CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE)
STATUS_LABELS = {s.value: s.label for s in CallbackStatus}
LEVEL_LABELS = {lv.value: lv.label for lv in Level}
DRILL_MAX_ROWS = 500


PAST_SEASON_SECONDS = 24 * 3600


def cache_seconds() -> int:
    return int(settings.DASHBOARD_CACHE_SECONDS)


def cached(key: str, compute: Callable[[], Any], *, refresh: bool = False, seconds: int | None = None) -> Any:
    """`compute()` through the cache (per season key); `refresh` recomputes and stores again."""
    seconds = cache_seconds() if seconds is None else seconds
    if seconds <= 0:
        return compute()
    key = f"dashboards:v1:{key}"
    value = None if refresh else cache_get(key)  # Redis down: compute directly, no 500
    if value is None:
        value = compute()
        cache_set(key, value, seconds)
    return value


def rate(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def _avg(total: Decimal | int, n: int) -> Decimal:
    if not n:
        return Decimal("0.0")
    return (Decimal(total) / n).quantize(TENTH, rounding=ROUND_HALF_UP)


def _as_rate(value: Fraction | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def withdrawn_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}status": CallbackStatus.WITHDRAWN}) | Q(**{f"{prefix}withdrawn_on__isnull": False})


@lru_cache(maxsize=16)
def _drill_base(prefix: str, urlconf: Any) -> str:
    return reverse("reports:drilldown", urlconf=urlconf)


def drill_url(**params: Any) -> str:
    """The drill-down list behind a number (only the whitelisted filters). A dashboard links
    hundreds of numbers: the path is reversed once per script prefix and URLconf."""
    query = "&".join(
        f"{k}={v}" if isinstance(v, int) else f"{k}={quote_plus(str(v))}"
        for k, v in params.items()
        if v not in (None, "")
    )  # = urlencode(clean params): the keys are plain names, numbers need no quoting
    base = _drill_base(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return f"{base}?{query}" if query else base


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # text | note (long text) | int | rate | decimal | date | datetime


@dataclass
class Table:
    """One table of a dashboard: rendered on the page, written as one sheet of the export."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[list[str | None]] = field(default_factory=list)

    def add(self, values: list[Any], links: list[str | None] | None = None) -> None:
        self.rows.append(values)
        self.links.append(links or [None] * len(values))

    def cells(self) -> list[list[tuple[Any, str, str | None]]]:
        """(value, kind, link) per cell, for the template."""
        kinds = [c.kind for c in self.columns]
        return [
            list(zip(row, kinds, links, strict=True))
            for row, links in zip(self.rows, self.links, strict=True)
        ]


def chart(
    kind: str,
    labels: list[str],
    datasets: list[dict[str, Any]],
    *,
    percent: bool = False,
    stacked: bool = False,
    horizontal: bool = False,
    title: str = "",
) -> dict[str, Any]:
    """A chart description for `reports/dashboards.js` (numbers as floats, rates in percent)."""
    out = []
    for ds in datasets:
        data = [None if v is None else (float(v) * 100 if percent else float(v)) for v in ds["data"]]
        out.append({**ds, "data": data})
    return {
        "type": kind,
        "labels": labels,
        "datasets": out,
        "percent": percent,
        "stacked": stacked,
        "horizontal": horizontal,
        "title": title,
    }


# --- scheme ------------------------------------------------------------------------------------


def current_scheme(*, season: Season) -> Scheme:
    """The season's latest subsidy scheme (read only; the 2023 plan when none was saved)."""
    row = SubsidyScheme.objects.filter(season=season).order_by("-version").values("params").first()
    return Scheme.from_dict(row["params"]) if row else Scheme()


# --- team lead dashboard -----------------------------------------------------------------------


def dashboard_team_ids(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams whose dashboard the user may open: led and supervised teams; the office all."""
    return team_ids_for(user=user, season=season)


@dataclass
class TierEstimate:
    level: str
    rate: Decimal | None
    tier: str
    per_student: Decimal
    amount: Decimal
    more: int | None = None
    next_tier: str = ""
    gain: Decimal | None = None

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS[self.level])

    def describe(self) -> str:
        tier = self.tier or _("未达最低档")
        text = _("%(level)s %(tier)s，约 %(amount)s 元") % {
            "level": self.level_label,
            "tier": tier,
            "amount": self.amount,
        }
        if self.more is not None:
            text += _("；再报到 %(more)s 人升至 %(next)s（+%(gain)s 元）") % {
                "more": self.more,
                "next": self.next_tier,
                "gain": self.gain,
            }
        return text


@dataclass
class MemberStats:
    caller_id: int
    name: str
    staff_no: str
    candidates: int = 0
    contacted: int = 0
    contacts: int = 0
    seconds: int = 0
    admitted: int = 0
    paid: int = 0
    enrolled: int = 0
    overdue: int = 0
    open_findings: int = 0
    status: dict[str, int] = field(default_factory=dict)
    levels: dict[str, LevelFacts] = field(default_factory=dict)
    basic: Decimal | None = None
    target: Decimal | None = None
    tiers: list[TierEstimate] = field(default_factory=list)

    @property
    def minutes(self) -> Decimal:
        return (Decimal(self.seconds) / 60).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def avg_contacts(self) -> Decimal:
        return _avg(self.contacts, self.candidates)

    @property
    def avg_minutes(self) -> Decimal:
        return _avg(Decimal(self.seconds) / 60, self.candidates)

    @property
    def payment_rate(self) -> Decimal | None:
        return rate(self.paid, self.admitted)

    @property
    def enrollment_rate(self) -> Decimal | None:
        return rate(self.enrolled, self.admitted)

    def add_level(self, level: str, facts: LevelFacts) -> None:
        self.levels[level] = self.levels.get(level, LevelFacts()) + facts


def next_tier_for(facts: LevelFacts, level: str, scheme: Scheme, now: dict[str, Any]) -> NextTier | None:
    """`subsidies.engine.whatif.next_tier` without pricing every count from 1 up: the fewest more
    enrollments that beat a better tier's threshold follow from the thresholds alone
    (enrolled + more > threshold × admitted; ≥ for the last tier), and the engine prices that one
    count. `now` is `level_amount(facts, level, scheme)`. Same answer (a test compares them)."""
    tiers = scheme.tiers[level]
    current = now["match"].index if now["match"] else len(tiers)
    last = len(tiers) - 1
    more = None
    for i in range(current):
        need = frac(tiers[i].threshold) * facts.admitted - facts.enrolled
        m = max(1, ceil(need) if i == last else floor(need) + 1)
        more = m if more is None else min(more, m)
    if more is None or more > facts.admitted - facts.enrolled:
        return None
    then = level_amount(replace(facts, enrolled=facts.enrolled + more), level, scheme)
    assert then is not None and then["match"] is not None and then["match"].index < current
    return NextTier(level, more, then["match"].label, money(now["amount"]), money(then["amount"]))


def _member_standards(m: MemberStats, scheme: Scheme, *, tiers: bool = True) -> None:
    """Weighted basic / target standards and the phone-subsidy tier per level: one engine call
    (`level_amount`) per level with the member's aggregated facts, plus one for the next tier."""
    basic = target = Fraction(0)
    admitted = 0
    for level in (Level.UNDERGRADUATE, Level.JUNIOR):
        facts = m.levels.get(level)
        if facts is None or facts.admitted == 0:
            continue
        if not tiers:
            std = standards_for(facts, level, scheme)
            basic += std.basic * facts.admitted
            target += std.target * facts.admitted
            admitted += facts.admitted
            continue
        calc = level_amount(facts, level, scheme)
        basic += calc["basic"] * facts.admitted
        target += calc["target"] * facts.admitted
        admitted += facts.admitted
        tip = next_tier_for(facts, level, scheme, calc)
        m.tiers.append(
            TierEstimate(
                level=level,
                rate=_as_rate(calc["rate"]),
                tier=calc["match"].label if calc["match"] else "",
                per_student=_as_rate(calc["per_student"]).quantize(Decimal("0.01")),
                amount=_as_rate(calc["amount"]).quantize(Decimal("0.01")),
                more=tip.more if tip else None,
                next_tier=tip.tier if tip else "",
                gain=tip.gain if tip else None,
            )
        )
    if admitted:
        m.basic = _as_rate(basic / admitted)
        m.target = _as_rate(target / admitted)


@dataclass
class TeamDashboard:
    team: Team
    teams: list[Team]
    members: list[MemberStats]
    total: MemberStats
    stage: tuple[int, Decimal] | None
    trend: list[ProgressSnapshot]
    tables: list[Table]
    charts: dict[str, dict[str, Any]]


def _member_aggregates(team_ids: list[int], now: dt.datetime) -> QuerySet:
    cutoff = now - dt.timedelta(hours=overdue_hours())
    w = withdrawn_q("candidate__")
    return (
        Assignment.objects.filter(active=True, caller__team_id__in=team_ids)
        .values("caller_id", "candidate__level", "candidate__province__withdrawable", "candidate__status")
        .annotate(
            n=Count("id"),
            contacted=Count("id", filter=Q(candidate__contact_count__gt=0)),
            contacts=Sum("candidate__contact_count"),
            seconds=Sum("candidate__contact_seconds"),
            withdrawn=Count("id", filter=w),
            paid=Count("id", filter=Q(candidate__paid_on__isnull=False) & ~w),
            enrolled=Count("id", filter=Q(candidate__enrolled_on__isnull=False) & ~w),
            overdue=Count("id", filter=Q(next_call_at__lt=cutoff)),
        )
        .order_by()
    )


def _weekly(snapshots: list[ProgressSnapshot]) -> list[ProgressSnapshot]:
    """The last snapshot of each ISO week (the trend over the season's weeks)."""
    by_week: dict[tuple[int, int], ProgressSnapshot] = {}
    for s in snapshots:
        by_week[s.day.isocalendar()[:2]] = s
    return [by_week[k] for k in sorted(by_week)]


def _weekly_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`_weekly` for snapshot rows read as dicts (`values()`)."""
    by_week: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        by_week[r["day"].isocalendar()[:2]] = r
    return [by_week[k] for k in sorted(by_week)]


def team_dashboard(
    *, user: AbstractBaseUser, season: Season, team_id: int | None = None, now: dt.datetime | None = None
) -> TeamDashboard | None:
    """One team's members with their numbers (None if the user may see no team).

    Queries: teams, members, one grouped aggregate, open findings, scheme, snapshots — the same
    for a team of 3 or 13 and for 2 or 60 teams.
    """
    now = now or timezone.now()
    allowed = dashboard_team_ids(user=user, season=season)
    if not allowed:
        return None
    teams = list(Team.objects.filter(id__in=allowed).select_related("leader").order_by(*TEAM_ORDER))
    if team_id is None:
        team = teams[0]
    else:
        team = next((t for t in teams if t.id == team_id), None)
        if team is None:
            return None
    members = {
        c.id: MemberStats(caller_id=c.id, name=c.name, staff_no=c.staff_no)
        for c in Caller.objects.filter(season=season, team=team).order_by("staff_no")
    }
    for r in _member_aggregates([team.id], now):
        m = members.get(r["caller_id"])
        if m is None:
            continue
        admitted = r["n"] - r["withdrawn"]
        m.candidates += r["n"]
        m.contacted += r["contacted"]
        m.contacts += r["contacts"] or 0
        m.seconds += r["seconds"] or 0
        m.admitted += admitted
        m.paid += r["paid"]
        m.enrolled += r["enrolled"]
        m.overdue += r["overdue"]
        status = r["candidate__status"]
        m.status[status] = m.status.get(status, 0) + r["n"]
        withdrawable = admitted if r["candidate__province__withdrawable"] else 0
        m.add_level(r["candidate__level"], LevelFacts(r["n"], admitted, r["enrolled"], withdrawable))
    findings = open_findings_by_caller(season=season)
    scheme = current_scheme(season=season)
    total = MemberStats(caller_id=0, name=_("全组"), staff_no="")
    for m in members.values():
        m.open_findings = findings.get(m.caller_id, 0)
        _member_standards(m, scheme)
        for attr in ("candidates", "contacted", "contacts", "seconds", "admitted", "paid", "enrolled"):
            setattr(total, attr, getattr(total, attr) + getattr(m, attr))
        total.overdue += m.overdue
        total.open_findings += m.open_findings
        for k, v in m.status.items():
            total.status[k] = total.status.get(k, 0) + v
        for lv, f in m.levels.items():
            total.add_level(lv, f)
    # the phone subsidy is per caller; the team row shows the team's standards only
    _member_standards(total, scheme, tiers=False)
    stage = season.payment_stage(timezone.localdate(now))
    trend = _weekly(
        list(
            ProgressSnapshot.objects.filter(
                season=season, scope=Scope.TEAM, scope_id=team.id, level=ALL_LEVELS
            ).order_by("day")
        )
    )
    rows = list(members.values())
    tables = _team_tables(team, rows, total, stage, trend)
    tables.append(_member_trend_table(season, rows, trend))
    charts = _team_charts(rows, stage, trend)
    return TeamDashboard(team, teams, rows, total, stage, trend, tables, charts)


def _member_trend_table(season: Season, members: list[MemberStats], trend: list[ProgressSnapshot]) -> Table:
    """Each member's enrollment rate on the team trend's days (the callers' snapshots, one query)."""
    days = [s.day for s in trend]
    rates: dict[tuple[int, dt.date], Decimal] = {
        (caller_id, day): value
        for caller_id, day, value in ProgressSnapshot.objects.filter(
            season=season,
            scope=Scope.CALLER,
            scope_id__in=[m.caller_id for m in members],
            level=ALL_LEVELS,
            day__in=days,
        ).values_list("scope_id", "day", "enrollment_rate")
    }
    t = Table(
        "member_trend",
        _("成员每周报到率"),
        [Column(_("姓名")), *[Column(day.isoformat(), "rate") for day in days]],
    )
    for m in members:
        t.add([m.name, *[rates.get((m.caller_id, day)) for day in days]])
    return t


def _team_tables(
    team: Team,
    members: list[MemberStats],
    total: MemberStats,
    stage: tuple[int, Decimal] | None,
    trend: list[ProgressSnapshot],
) -> list[Table]:
    stage_target = stage[1] if stage else None
    t = Table(
        "members",
        _("成员"),
        [
            Column(_("工号")),
            Column(_("姓名")),
            Column(_("考生数"), "int"),
            Column(_("已联系"), "int"),
            Column(_("回访次数"), "int"),
            Column(_("回访分钟"), "decimal"),
            Column(_("人均次数(≥4)"), "decimal"),
            Column(_("人均分钟(≥20)"), "decimal"),
            Column(_("逾期跟进"), "int"),
            Column(_("未关闭督查问题"), "int"),
            Column(_("提前缴费率"), "rate"),
            Column(_("阶段目标"), "rate"),
            Column(_("报到率"), "rate"),
            Column(_("基本标准"), "rate"),
            Column(_("目标标准"), "rate"),
            Column(_("电话补贴档位（估算）"), "note"),
        ],
    )
    for m in [*members, total]:
        caller = m.caller_id or None
        team_param = team.id if caller is None else None
        t.add(
            [
                m.staff_no,
                m.name,
                m.candidates,
                m.contacted,
                m.contacts,
                m.minutes,
                m.avg_contacts,
                m.avg_minutes,
                m.overdue,
                m.open_findings,
                m.payment_rate,
                stage_target,
                m.enrollment_rate,
                m.basic,
                m.target,
                "；".join(e.describe() for e in m.tiers),
            ],
            [
                None,
                None,
                drill_url(team=team_param, caller=caller),
                drill_url(team=team_param, caller=caller, stage="contacted"),
                None,
                None,
                None,
                None,
                drill_url(team=team_param, caller=caller, stage="overdue"),
                None,
                drill_url(team=team_param, caller=caller, stage="paid"),
                None,
                drill_url(team=team_param, caller=caller, stage="enrolled"),
                None,
                None,
                None,
            ],
        )
    statuses = list(CallbackStatus)
    mix = Table(
        "status",
        _("回访状态分布"),
        [Column(_("姓名")), *[Column(str(s.label), "int") for s in statuses]],
    )
    for m in [*members, total]:
        caller = m.caller_id or None
        team_param = team.id if caller is None else None
        mix.add(
            [m.name, *[m.status.get(s.value, 0) for s in statuses]],
            [None, *[drill_url(team=team_param, caller=caller, status=s.value) for s in statuses]],
        )
    weeks = Table(
        "trend",
        _("每周趋势（快照）"),
        [
            Column(_("日期"), "date"),
            Column(_("录取人数"), "int"),
            Column(_("已缴费"), "int"),
            Column(_("已报到"), "int"),
            Column(_("回访次数"), "int"),
            Column(_("提前缴费率"), "rate"),
            Column(_("报到率"), "rate"),
        ],
    )
    for s in trend:
        weeks.add(
            [s.day, s.admitted, s.paid, s.enrolled, s.contacts, s.early_payment_rate, s.enrollment_rate]
        )
    return [t, mix, weeks]


def _team_charts(
    members: list[MemberStats], stage: tuple[int, Decimal] | None, trend: list[ProgressSnapshot]
) -> dict[str, dict[str, Any]]:
    names = [m.name for m in members]
    rates = [
        {"label": _("报到率"), "data": [m.enrollment_rate for m in members]},
        {"label": _("提前缴费率"), "data": [m.payment_rate for m in members]},
        {"label": _("基本标准"), "type": "line", "data": [m.basic for m in members]},
    ]
    if stage:
        rates.append({"label": _("缴费阶段目标"), "type": "line", "data": [stage[1]] * len(members)})
    shown = [s for s in CallbackStatus if any(m.status.get(s.value) for m in members)]
    return {
        "member-rates": chart("bar", names, rates, percent=True, title=_("成员报到率与提前缴费率")),
        "member-work": chart(
            "bar",
            names,
            [
                {"label": _("人均回访次数"), "data": [m.avg_contacts for m in members]},
                {"label": _("人均回访分钟"), "data": [m.avg_minutes for m in members]},
                {"label": _("最低次数 4"), "type": "line", "data": [MIN_CONTACTS] * len(members)},
                {"label": _("最低分钟 20"), "type": "line", "data": [MIN_MINUTES] * len(members)},
            ],
            title=_("人均回访次数与分钟"),
        ),
        "member-status": chart(
            "bar",
            names,
            [{"label": str(s.label), "data": [m.status.get(s.value, 0) for m in members]} for s in shown],
            stacked=True,
            title=_("回访状态分布"),
        ),
        "team-trend": chart(
            "line",
            [s.day.isoformat() for s in trend],
            [
                {"label": _("报到率"), "data": [s.enrollment_rate for s in trend]},
                {"label": _("提前缴费率"), "data": [s.early_payment_rate for s in trend]},
            ],
            percent=True,
            title=_("每周趋势"),
        ),
    }


# --- office dashboard --------------------------------------------------------------------------


@dataclass
class Funnel:
    filed: int = 0
    reached: int = 0
    confirmed: int = 0
    paid: int = 0
    enrolled: int = 0

    def steps(self) -> list[tuple[str, str, int]]:
        return [
            ("all", _("投档"), self.filed),
            ("reached", _("联系上"), self.reached),
            ("confirmed", _("确认就读"), self.confirmed),
            ("paid", _("缴费"), self.paid),
            ("enrolled", _("报到"), self.enrolled),
        ]


def _candidate_counts(prefix: str = "") -> dict[str, Any]:
    w = withdrawn_q(prefix)
    return {
        "n": Count("id"),
        "reached": Count("id", filter=~Q(**{f"{prefix}status__in": REACHED_EXCLUDED})),
        "confirmed": Count("id", filter=Q(**{f"{prefix}status": CallbackStatus.CONFIRMED})),
        "withdrawn": Count("id", filter=w),
        "paid": Count("id", filter=Q(**{f"{prefix}paid_on__isnull": False}) & ~w),
        "enrolled": Count("id", filter=Q(**{f"{prefix}enrolled_on__isnull": False}) & ~w),
    }


# --- the season's numbers, from the snapshot rows ------------------------------------------------

SNAPSHOT_VALUES = (
    "scope",
    "scope_id",
    "level",
    "day",
    "created_at",
    "candidates",
    "admitted",
    "paid",
    "enrolled",
    "reached",
    "confirmed",
    "contacted",
    "early_payment_rate",
    "enrollment_rate",
)
_SEASON_ALL = Q(scope=Scope.SEASON, scope_id=0, level=ALL_LEVELS)


@dataclass
class SeasonNumbers:
    """The office dashboard's season-wide numbers: one day's season (per level), province and
    team snapshot rows (`reports.services.snapshot_take`), and the season's daily trend."""

    day: dt.date
    taken_at: dt.datetime
    funnel: Funnel
    levels: dict[str, dict[str, int]]
    provinces: list[dict[str, Any]]
    teams: dict[int, dict[str, int]]
    trend: list[dict[str, Any]]


def _snapshot_rows(season: Season, *, trend: bool) -> list[dict[str, Any]]:
    """One indexed query: the latest complete day's season rows (every level), province rows
    (all levels, with the province's name and kind) and team rows (all levels), and with `trend`
    the season's row of every day (oldest first)."""
    latest = (
        ProgressSnapshot.objects.filter(_SEASON_ALL, season=season, reached__isnull=False)
        .order_by("-day")
        .values("day")[:1]
    )
    day_rows = Q(day=Subquery(latest)) & (
        Q(scope=Scope.SEASON) | Q(scope__in=(Scope.PROVINCE, Scope.TEAM), level=ALL_LEVELS)
    )
    where = (_SEASON_ALL | day_rows) if trend else day_rows
    policy = ProvincePolicy.objects.filter(pk=OuterRef("scope_id"))
    return list(
        ProgressSnapshot.objects.filter(where, season=season)
        .order_by("day")
        .values(
            *SNAPSHOT_VALUES,
            province=Case(When(scope=Scope.PROVINCE, then=Subquery(policy.values("province")[:1]))),
            withdrawable=Case(When(scope=Scope.PROVINCE, then=Subquery(policy.values("withdrawable")[:1]))),
        )
    )


def _counts_of(row: dict[str, Any]) -> dict[str, int]:
    return {
        "n": row["candidates"],
        "reached": row["reached"],
        "confirmed": row["confirmed"],
        "withdrawn": row["candidates"] - row["admitted"],
        "paid": row["paid"],
        "enrolled": row["enrolled"],
        "contacted": row["contacted"],
    }


def _season_numbers(season: Season, rows: list[dict[str, Any]]) -> SeasonNumbers | None:
    complete = [
        r
        for r in rows
        if r["scope"] == Scope.SEASON and r["level"] == ALL_LEVELS and r["reached"] is not None
    ]
    if not complete:
        return None
    head = max(complete, key=lambda r: r["day"])
    day = head["day"]
    levels: dict[str, dict[str, int]] = {}
    provinces: dict[int, tuple[str, bool, dict[str, int]]] = {}
    teams: dict[int, dict[str, int]] = {}
    for r in rows:
        if r["day"] != day:
            continue
        if r["scope"] == Scope.SEASON and r["level"] != ALL_LEVELS:
            levels[r["level"]] = _counts_of(r)
        elif r["scope"] == Scope.PROVINCE:
            provinces[r["scope_id"]] = (r["province"], r["withdrawable"], _counts_of(r))
        elif r["scope"] == Scope.TEAM:
            teams[r["scope_id"]] = _counts_of(r)
    by_province = sorted(
        (
            {"province__province": name, "province__withdrawable": withdrawable, **counts}
            for name, withdrawable, counts in provinces.values()
        ),
        key=lambda r: (r["province__province"], r["province__withdrawable"]),
    )
    whole = _counts_of(head)
    funnel = Funnel(whole["n"], whole["reached"], whole["confirmed"], whole["paid"], whole["enrolled"])
    trend = [r for r in rows if r["scope"] == Scope.SEASON and r["level"] == ALL_LEVELS]
    return SeasonNumbers(day, head["created_at"], funnel, levels, by_province, teams, trend)


def season_numbers(
    *, season: Season, refresh: bool = False, trend: bool = False, now: dt.datetime | None = None
) -> SeasonNumbers:
    """The season's funnel, per-level, per-province and per-team numbers from the latest complete
    snapshot: one indexed query, never a pass over the season's candidates in the request.

    The snapshots are taken by the nightly job and, while someone looks at the office
    dashboard, again in the background once they are older than settings.DASHBOARD_CACHE_SECONDS
    (5 minutes). Taken here, in the request, only with `refresh`, when the season has none yet,
    or with DASHBOARD_CACHE_SECONDS = 0.
    """
    seconds = cache_seconds()
    numbers = None
    if not refresh and seconds > 0:
        numbers = _season_numbers(season, _snapshot_rows(season, trend=trend))
    if numbers is None:
        snapshot_take(season=season)
        numbers = _season_numbers(season, _snapshot_rows(season, trend=trend))
        assert numbers is not None
    elif numbers.taken_at < (now or timezone.now()) - dt.timedelta(seconds=seconds):
        refresh_in_background(season=season, seconds=seconds)
    return numbers


def refresh_in_background(*, season: Season, seconds: int | None = None) -> None:
    """Enqueue the snapshot job (`reports.jobs.snapshots`) at most once per `seconds`, after
    commit. Redis unavailable: logged; the dashboard shows the numbers it has."""
    seconds = cache_seconds() if seconds is None else seconds
    key = f"dashboards:v2:refreshing:{season.pk}"

    def _enqueue() -> None:
        try:
            if not cache.add(key, 1, seconds):
                return
            django_rq.get_queue("default").enqueue(
                "reports.jobs.snapshots", season_year=season.year, job_timeout=SNAPSHOT_JOB_TIMEOUT
            )
        except Exception:
            logger.exception("could not enqueue the snapshot refresh of season %s", season.year)

    transaction.on_commit(_enqueue)


def season_funnel(*, season: Season) -> Funnel:
    """The funnel alone, grouped by level only (the previous season's comparison)."""
    funnel = Funnel()
    for r in (
        Candidate.objects.filter(season=season).values("level").annotate(**_candidate_counts()).order_by()
    ):
        funnel.filed += r["n"]
        funnel.reached += r["reached"]
        funnel.confirmed += r["confirmed"]
        funnel.paid += r["paid"]
        funnel.enrolled += r["enrolled"]
    return funnel


def previous_funnel(*, season: Season) -> Funnel:
    """Last season's funnel: its last complete snapshot (the nightly job snapshots a season while
    it is the current one); a pass over its candidates only when it has none."""
    row = (
        ProgressSnapshot.objects.filter(_SEASON_ALL, season=season, reached__isnull=False)
        .order_by("-day")
        .values("candidates", "reached", "confirmed", "paid", "enrolled")
        .first()
    )
    if row is None:
        return season_funnel(season=season)
    return Funnel(row["candidates"], row["reached"], row["confirmed"], row["paid"], row["enrolled"])


def previous_season(season: Season) -> Season | None:
    return Season.objects.filter(year__lt=season.year).order_by("-year").first()


@dataclass
class OfficeDashboard:
    as_of: dt.datetime  # when the season-wide numbers were taken (the snapshot)
    funnel: Funnel
    previous: Season | None
    previous_funnel: Funnel | None
    stage: tuple[int, Decimal] | None
    payment_rate: Decimal | None
    stages: list[tuple[int, Decimal, bool]]
    levels: list[dict[str, Any]]
    withdrawals_open: int
    withdrawals_completed: int
    strike: dict[str, int]
    tables: list[Table]
    charts: dict[str, dict[str, Any]]


def office_dashboard(
    *, season: Season, today: dt.date | None = None, refresh: bool = False
) -> OfficeDashboard:
    """The whole season: about a dozen small queries, whatever the size. The season-wide numbers
    (funnel, levels, provinces, teams, trend) come from the latest snapshot rows
    (`season_numbers`), last season's funnel from its last snapshot (`previous_funnel`, cached
    for a day). `refresh` takes today's snapshot first."""
    today = today or timezone.localdate()
    numbers = season_numbers(season=season, refresh=refresh, trend=True)
    funnel, by_level, provinces, per_team = numbers.funnel, numbers.levels, numbers.provinces, numbers.teams
    prev = previous_season(season)
    prev_funnel = (
        cached(
            f"funnel:{prev.pk}",
            lambda: previous_funnel(season=prev),
            refresh=refresh,
            seconds=PAST_SEASON_SECONDS,
        )
        if prev
        else None
    )
    stage = season.payment_stage(today)
    admitted_all = sum(r["n"] - r["withdrawn"] for r in by_level.values())
    payment_rate = rate(funnel.paid, admitted_all)
    stages = [
        (1, season.stage1_payment_target, bool(stage and stage[0] == 1)),
        (2, season.stage2_payment_target, bool(stage and stage[0] == 2)),
        (3, season.stage3_payment_target, bool(stage and stage[0] == 3)),
    ]
    levels = []
    for lv in Level:
        r = by_level.get(lv.value, {"n": 0, "withdrawn": 0, "paid": 0, "enrolled": 0})
        admitted = r["n"] - r["withdrawn"]
        basic, target = season.targets(lv.value)
        levels.append(
            {
                "level": lv.value,
                "label": str(lv.label),
                "candidates": r["n"],
                "admitted": admitted,
                "paid": r["paid"],
                "enrolled": r["enrolled"],
                "enrollment_rate": rate(r["enrolled"], admitted),
                "payment_rate": rate(r["paid"], admitted),
                "basic": basic,
                "target": target,
            }
        )

    teams = list(Team.objects.filter(season=season).order_by(*TEAM_ORDER).values("id", "name", "kind"))
    findings_by_team = dict(
        Finding.objects.filter(season=season, status__in=FindingStatus.unresolved())
        .values("team_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("team_id", "n")
    )
    incidents_by_team = dict(
        Incident.objects.filter(season=season)
        .values("team_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("team_id", "n")
    )
    audited_by_team: dict[int, int] = defaultdict(int)
    for (_sup, team_id), n in audited_record_counts(season=season).items():
        audited_by_team[team_id] += n

    withdrawals = dict(
        WithdrawalRequest.objects.filter(season=season)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("status", "n")
    )
    withdrawals_open = sum(withdrawals.get(s, 0) for s in WithdrawalStatus.open_values())
    requests_completed = withdrawals.get(WithdrawalStatus.COMPLETED, 0)
    withdrawals_completed = sum(r["withdrawn"] for r in by_level.values())
    takeable = Q(status=StrikeCaseStatus.APPROVED, holder__isnull=True) & (
        ~Q(kind__in=StrikeCaseKind.needs_verification()) | Q(verified_at__isnull=False)
    )
    strike = StrikeCase.objects.filter(season=season).aggregate(
        pending=Count("id", filter=Q(status=StrikeCaseStatus.PENDING)),
        awaiting_verification=Count(
            "id",
            filter=Q(
                status=StrikeCaseStatus.APPROVED,
                kind__in=StrikeCaseKind.needs_verification(),
                verified_at__isnull=True,
            ),
        ),
        queue=Count("id", filter=takeable),
        taken=Count("id", filter=Q(status=StrikeCaseStatus.TAKEN)),
        closed=Count("id", filter=Q(status=StrikeCaseStatus.CLOSED)),
    )
    trend = _weekly_rows(numbers.trend)

    tables: list[Table] = []
    lt = Table(
        "levels",
        _("本科与专科"),
        [
            Column(_("层次")),
            Column(_("投档"), "int"),
            Column(_("录取人数"), "int"),
            Column(_("已缴费"), "int"),
            Column(_("提前缴费率"), "rate"),
            Column(_("已报到"), "int"),
            Column(_("报到率"), "rate"),
            Column(_("基本任务"), "rate"),
            Column(_("目标任务"), "rate"),
        ],
    )
    for lv in levels:
        lt.add(
            [
                lv["label"],
                lv["candidates"],
                lv["admitted"],
                lv["paid"],
                lv["payment_rate"],
                lv["enrolled"],
                lv["enrollment_rate"],
                lv["basic"],
                lv["target"],
            ],
            [
                None,
                drill_url(level=lv["level"]),
                None,
                drill_url(level=lv["level"], stage="paid"),
                None,
                drill_url(level=lv["level"], stage="enrolled"),
                None,
                None,
                None,
            ],
        )
    tables.append(lt)

    ft = Table(
        "funnel", _("漏斗"), [Column(_("环节")), Column(str(season.year), "int"), Column(_("占投档"), "rate")]
    )
    if prev_funnel:
        ft.columns += [Column(str(prev.year), "int"), Column(_("上年占投档"), "rate")]
    prev_steps = prev_funnel.steps() if prev_funnel else None
    for i, (key, label, n) in enumerate(funnel.steps()):
        row: list[Any] = [label, n, rate(n, funnel.filed)]
        links: list[str | None] = [None, drill_url(stage=key), None]
        if prev_steps:
            row += [prev_steps[i][2], rate(prev_steps[i][2], prev_funnel.filed)]
            links += [None, None]
        ft.add(row, links)
    tables.append(ft)

    tt = Table(
        "teams",
        _("各组"),
        [
            Column(_("小组")),
            Column(_("考生数"), "int"),
            Column(_("已联系"), "int"),
            Column(_("录取人数"), "int"),
            Column(_("提前缴费率"), "rate"),
            Column(_("已报到"), "int"),
            Column(_("报到率"), "rate"),
            Column(_("督查已审记录"), "int"),
            Column(_("未关闭督查问题"), "int"),
            Column(_("舆情/投诉"), "int"),
        ],
    )
    for team in teams:
        r = per_team.get(team["id"])
        n = r["n"] if r else 0
        admitted = n - (r["withdrawn"] if r else 0)
        paid = r["paid"] if r else 0
        enrolled = r["enrolled"] if r else 0
        if not r and not audited_by_team.get(team["id"]) and not findings_by_team.get(team["id"]):
            continue
        tt.add(
            [
                team["name"],
                n,
                r["contacted"] if r else 0,
                admitted,
                rate(paid, admitted),
                enrolled,
                rate(enrolled, admitted),
                audited_by_team.get(team["id"], 0),
                findings_by_team.get(team["id"], 0),
                incidents_by_team.get(team["id"], 0),
            ],
            [
                None,
                drill_url(team=team["id"]),
                drill_url(team=team["id"], stage="contacted"),
                None,
                drill_url(team=team["id"], stage="paid"),
                drill_url(team=team["id"], stage="enrolled"),
                None,
                None,
                None,
                None,
            ],
        )
    tables.append(tt)

    pt = Table(
        "provinces",
        _("各省"),
        [
            Column(_("省份")),
            Column(_("可退档")),
            Column(_("投档"), "int"),
            Column(_("联系上"), "int"),
            Column(_("已退档"), "int"),
            Column(_("已缴费"), "int"),
            Column(_("已报到"), "int"),
            Column(_("录取未报到"), "int"),
            Column(_("报到率"), "rate"),
        ],
    )
    for r in provinces:
        name = r["province__province"]
        admitted = r["n"] - r["withdrawn"]
        pt.add(
            [
                name,
                _("是") if r["province__withdrawable"] else _("否"),
                r["n"],
                r["reached"],
                r["withdrawn"],
                r["paid"],
                r["enrolled"],
                admitted - r["enrolled"],
                rate(r["enrolled"], admitted),
            ],
            [
                None,
                None,
                drill_url(province=name),
                drill_url(province=name, stage="reached"),
                drill_url(province=name, stage="withdrawn"),
                drill_url(province=name, stage="paid"),
                drill_url(province=name, stage="enrolled"),
                drill_url(province=name, stage="noshow"),
                None,
            ],
        )
    tables.append(pt)

    ct = Table("casework", _("退档与突击组"), [Column(_("项目")), Column(_("数量"), "int")])
    for label, value in (
        (_("退档办理中"), withdrawals_open),
        (_("退档申请已办结"), requests_completed),
        (_("已退档考生"), withdrawals_completed),
        (_("突击组待组长审批"), strike["pending"]),
        (_("突击组待督查核实"), strike["awaiting_verification"]),
        (_("突击组待接手（队列）"), strike["queue"]),
        (_("突击组跟进中"), strike["taken"]),
        (_("突击组已结案"), strike["closed"]),
    ):
        ct.add([label, value])
    tables.append(ct)

    charts = {
        "funnel": chart(
            "bar",
            [label for _key, label, _n in funnel.steps()],
            [{"label": str(season.year), "data": [n for _k, _l, n in funnel.steps()]}]
            + (
                [{"label": str(prev.year), "data": [n for _k, _l, n in prev_funnel.steps()]}]
                if prev_funnel
                else []
            ),
            horizontal=True,
            title=_("投档 → 联系上 → 确认就读 → 缴费 → 报到"),
        ),
        "levels": chart(
            "bar",
            [lv["label"] for lv in levels],
            [
                {"label": _("报到率"), "data": [lv["enrollment_rate"] for lv in levels]},
                {"label": _("提前缴费率"), "data": [lv["payment_rate"] for lv in levels]},
                {"label": _("基本任务"), "type": "line", "data": [lv["basic"] for lv in levels]},
                {"label": _("目标任务"), "type": "line", "data": [lv["target"] for lv in levels]},
            ],
            percent=True,
            title=_("本科与专科：报到率与任务"),
        ),
        "provinces": chart(
            "bar",
            [r["province__province"] for r in provinces],
            [
                {"label": _("已报到"), "data": [r["enrolled"] for r in provinces]},
                {
                    "label": _("录取未报到"),
                    "data": [r["n"] - r["withdrawn"] - r["enrolled"] for r in provinces],
                },
                {"label": _("已退档"), "data": [r["withdrawn"] for r in provinces]},
            ],
            stacked=True,
            title=_("各省考生"),
        ),
        "season-trend": chart(
            "line",
            [s["day"].isoformat() for s in trend],
            [
                {"label": _("报到率"), "data": [s["enrollment_rate"] for s in trend]},
                {"label": _("提前缴费率"), "data": [s["early_payment_rate"] for s in trend]},
            ],
            percent=True,
            title=_("每周趋势"),
        ),
    }
    return OfficeDashboard(
        as_of=numbers.taken_at,
        funnel=funnel,
        previous=prev,
        previous_funnel=prev_funnel,
        stage=stage,
        payment_rate=payment_rate,
        stages=stages,
        levels=levels,
        withdrawals_open=withdrawals_open,
        withdrawals_completed=withdrawals_completed,
        strike=strike,
        tables=tables,
        charts=charts,
    )


# --- supervisor dashboard ----------------------------------------------------------------------


@dataclass
class SupervisorDashboard:
    teams: list[Team]
    tables: list[Table]
    charts: dict[str, dict[str, Any]]
    scored: int
    findings: int
    open_findings: int


def supervisor_dashboard(*, user: AbstractBaseUser, season: Season) -> SupervisorDashboard:
    """The supervised teams' samples, scores per week, findings by category, repeated issues."""
    team_ids = supervised_team_ids(user=user, season=season)
    teams = list(Team.objects.filter(id__in=team_ids).order_by(*TEAM_ORDER))
    samples = {
        r["team_id"]: r
        for r in AuditItem.objects.filter(sample__season=season, team_id__in=team_ids)
        .values("team_id")
        .annotate(
            drawn=Count("id", distinct=True),
            scored=Count("id", filter=Q(scores__isnull=False), distinct=True),
            avg=Avg("scores__total"),
        )
        .order_by()
    }
    weeks = list(
        AuditScore.objects.filter(item__sample__season=season, item__team_id__in=team_ids)
        .annotate(week=TruncWeek("submitted_at"))
        .values("week")
        .annotate(avg=Avg("total"), n=Count("id"))
        .order_by("week")
    )
    findings = Finding.objects.filter(season=season, team_id__in=team_ids)
    categories = {
        r["category"]: r
        for r in findings.values("category")
        .annotate(n=Count("id"), open=Count("id", filter=Q(status__in=FindingStatus.unresolved())))
        .order_by()
    }
    repeated = list(
        findings.exclude(status=FindingStatus.DISMISSED)
        .values("caller_id", "caller__name", "caller__staff_no", "team__name")
        .annotate(
            n=Count("id"),
            open=Count("id", filter=Q(status__in=FindingStatus.unresolved())),
            kinds=Count("category", distinct=True),
        )
        .filter(n__gte=2)
        .order_by("-n", "caller__staff_no")
    )

    st = Table(
        "samples",
        _("抽查与评分"),
        [
            Column(_("小组")),
            Column(_("抽取记录"), "int"),
            Column(_("已评分"), "int"),
            Column(_("平均得分率"), "decimal"),
        ],
    )
    for team in teams:
        r = samples.get(team.id, {})
        avg = r.get("avg")
        st.add(
            [
                team.name,
                r.get("drawn", 0),
                r.get("scored", 0),
                Decimal(avg).quantize(TENTH, rounding=ROUND_HALF_UP) if avg is not None else None,
            ]
        )
    wt = Table(
        "weeks",
        _("每周评分"),
        [Column(_("周一"), "date"), Column(_("评分数"), "int"), Column(_("平均得分率"), "decimal")],
    )
    for r in weeks:
        wt.add(
            [
                timezone.localdate(r["week"]) if timezone.is_aware(r["week"]) else r["week"].date(),
                r["n"],
                Decimal(r["avg"]).quantize(TENTH, rounding=ROUND_HALF_UP),
            ]
        )
    ct = Table(
        "categories",
        _("问题类别"),
        [Column(_("类别")), Column(_("问题数"), "int"), Column(_("未关闭"), "int")],
    )
    for cat in FindingCategory:
        r = categories.get(cat.value)
        if r:
            ct.add([str(cat.label), r["n"], r["open"]])
    rt = Table(
        "repeated",
        _("重复出现问题的回访员（≥2 个问题）"),
        [
            Column(_("工号")),
            Column(_("姓名")),
            Column(_("小组")),
            Column(_("问题数"), "int"),
            Column(_("未关闭"), "int"),
            Column(_("问题类别数"), "int"),
        ],
    )
    for r in repeated:
        rt.add([r["caller__staff_no"], r["caller__name"], r["team__name"], r["n"], r["open"], r["kinds"]])
    charts = {
        "scores": chart(
            "line",
            [row[0].isoformat() for row in wt.rows],
            [{"label": _("平均得分率"), "data": [row[2] for row in wt.rows]}],
            title=_("每周平均得分率（%）"),
        ),
        "categories": chart(
            "bar",
            [row[0] for row in ct.rows],
            [
                {"label": _("问题数"), "data": [row[1] for row in ct.rows]},
                {"label": _("未关闭"), "data": [row[2] for row in ct.rows]},
            ],
            horizontal=True,
            title=_("问题类别"),
        ),
        "samples": chart(
            "bar",
            [row[0] for row in st.rows],
            [
                {"label": _("抽取记录"), "data": [row[1] for row in st.rows]},
                {"label": _("已评分"), "data": [row[2] for row in st.rows]},
            ],
            title=_("各组抽查"),
        ),
    }
    return SupervisorDashboard(
        teams=teams,
        tables=[st, wt, ct, rt],
        charts=charts,
        scored=sum(r.get("scored", 0) for r in samples.values()),
        findings=sum(r["n"] for r in categories.values()),
        open_findings=sum(r["open"] for r in categories.values()),
    )


# --- drill-down and province lists -------------------------------------------------------------

STAGES = {
    "all": Q(),
    "contacted": Q(contact_count__gt=0),
    "uncontacted": Q(contact_count=0),
    "reached": ~Q(status__in=REACHED_EXCLUDED),
    "confirmed": Q(status=CallbackStatus.CONFIRMED),
    "paid": Q(paid_on__isnull=False) & ~withdrawn_q(),
    "enrolled": Q(enrolled_on__isnull=False) & ~withdrawn_q(),
    "noshow": Q(enrolled_on__isnull=True) & ~withdrawn_q(),
    "withdrawn": withdrawn_q(),
}
STAGE_LABELS = {
    "all": gettext_lazy("全部"),
    "contacted": gettext_lazy("已联系"),
    "uncontacted": gettext_lazy("未联系"),
    "reached": gettext_lazy("联系上"),
    "confirmed": gettext_lazy("确认就读"),
    "paid": gettext_lazy("已缴费"),
    "enrolled": gettext_lazy("已报到"),
    "noshow": gettext_lazy("录取未报到"),
    "withdrawn": gettext_lazy("已退档"),
    "overdue": gettext_lazy("逾期跟进"),
}


@dataclass(frozen=True)
class DrillFilters:
    """The whitelisted drill-down filters (anything else in the query string is ignored)."""

    team: int | None = None
    caller: int | None = None
    province: str = ""
    level: str = ""
    status: str = ""
    stage: str = "all"

    def params(self) -> dict[str, Any]:
        out = {
            "team": self.team,
            "caller": self.caller,
            "province": self.province,
            "level": self.level,
            "status": self.status,
            "stage": self.stage if self.stage != "all" else "",
        }
        return {k: v for k, v in out.items() if v not in (None, "")}

    def describe(self) -> str:
        parts = [str(STAGE_LABELS[self.stage])]
        if self.level:
            parts.append(str(LEVEL_LABELS[self.level]))
        if self.status:
            parts.append(str(STATUS_LABELS[self.status]))
        if self.province:
            parts.append(self.province)
        return " · ".join(parts)


class BadFilter(ValueError):
    """A drill-down filter value outside the whitelist."""


def parse_drill_filters(data: Any) -> DrillFilters:
    def as_int(key: str) -> int | None:
        raw = (data.get(key) or "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise BadFilter(key)
        return int(raw)

    level = (data.get("level") or "").strip()
    status = (data.get("status") or "").strip()
    stage = (data.get("stage") or "all").strip()
    if level and level not in LEVEL_LABELS:
        raise BadFilter("level")
    if status and status not in STATUS_LABELS:
        raise BadFilter("status")
    if stage not in STAGE_LABELS:
        raise BadFilter("stage")
    return DrillFilters(
        team=as_int("team"),
        caller=as_int("caller"),
        province=(data.get("province") or "").strip()[:20],
        level=level,
        status=status,
        stage=stage,
    )


class OutOfScope(LookupError):
    """A team or caller the user may not see (the view answers 404)."""


def _with_list_fields(qs: QuerySet[Candidate]) -> QuerySet[Candidate]:
    active = Assignment.objects.filter(candidate=OuterRef("pk"), active=True)
    last_note = (
        ContactLog.objects.filter(candidate=OuterRef("pk")).exclude(notes="").order_by("-contacted_at", "-id")
    )
    return qs.select_related("province").annotate(
        caller_name=Subquery(active.values("caller__name")[:1]),
        team_name=Subquery(active.values("caller__team__name")[:1]),
        last_note=Subquery(last_note.values("notes")[:1]),
    )


def drilldown(
    *, user: AbstractBaseUser, season: Season, filters: DrillFilters, now: dt.datetime | None = None
) -> QuerySet[Candidate]:
    """The candidates behind a dashboard number, within what the user may see
    (`candidates_for`); a team or caller outside the user's teams raises `OutOfScope`."""
    qs = candidates_for(user=user, season=season)
    allowed = team_ids_for(user=user, season=season)
    active = Assignment.objects.filter(candidate=OuterRef("pk"), active=True)
    if filters.team is not None:
        if filters.team not in allowed:
            raise OutOfScope
        qs = qs.filter(Exists(active.filter(caller__team_id=filters.team)))
    if filters.caller is not None:
        caller = Caller.objects.filter(season=season, pk=filters.caller).values("team_id", "user_id").first()
        if caller is None or (caller["team_id"] not in allowed and caller["user_id"] != user.pk):
            raise OutOfScope
        qs = qs.filter(Exists(active.filter(caller_id=filters.caller)))
    if filters.province:
        qs = qs.filter(province__province=filters.province)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.stage == "overdue":
        cutoff = (now or timezone.now()) - dt.timedelta(hours=overdue_hours())
        qs = qs.filter(Exists(active.filter(next_call_at__lt=cutoff)))
    else:
        qs = qs.filter(STAGES[filters.stage])
    return _with_list_fields(qs).order_by("exam_number")


CANDIDATE_COLUMNS = [
    Column(gettext_lazy("考生号")),
    Column(gettext_lazy("姓名")),
    Column(gettext_lazy("身份证号")),
    Column(gettext_lazy("省份")),
    Column(gettext_lazy("层次")),
    Column(gettext_lazy("批次")),
    Column(gettext_lazy("专业")),
    Column(gettext_lazy("回访状态")),
    Column(gettext_lazy("回访员")),
    Column(gettext_lazy("小组")),
    Column(gettext_lazy("回访次数"), "int"),
    Column(gettext_lazy("最后联系"), "datetime"),
    Column(gettext_lazy("缴费日期"), "date"),
    Column(gettext_lazy("报到日期"), "date"),
    Column(gettext_lazy("原因/备注"), "note"),
]


def _masked(c: Candidate, full_pii: bool) -> str:
    from callback_office.privacy import mask_id_number

    return c.id_number if full_pii else mask_id_number(c.id_number)


def candidate_table(
    title: str,
    candidates: list[Candidate] | QuerySet[Candidate],
    *,
    user: AbstractBaseUser,
    full_pii: bool | None = None,
) -> Table:
    """Candidate rows with the ID number masked unless the user is the office (exports, logged in
    ExportLog). Screens pass `full_pii=False`: masked for everyone (reveals are logged one by one
    on the candidate page)."""
    full = is_office(user) if full_pii is None else full_pii and is_office(user)
    t = Table("candidates", title, list(CANDIDATE_COLUMNS))
    for c in candidates:
        t.add(
            [
                c.exam_number,
                c.name,
                _masked(c, full),
                c.province.province,
                str(LEVEL_LABELS.get(c.level, c.level)),
                c.batch,
                c.major,
                str(STATUS_LABELS.get(c.status, c.status)),
                c.caller_name or "",
                c.team_name or "",
                c.contact_count,
                timezone.localtime(c.last_contact_at) if c.last_contact_at else None,
                c.paid_on,
                c.enrolled_on,
                c.last_note or "",
            ]
        )
    return t


def no_shows(*, user: AbstractBaseUser, season: Season, province: str = "") -> QuerySet[Candidate]:
    """录取未报到: admitted (not withdrawn) and not enrolled, by province then exam number."""
    qs = candidates_for(user=user, season=season).filter(STAGES["noshow"])
    if province:
        qs = qs.filter(province__province=province)
    return _with_list_fields(qs).order_by("province__province", "exam_number")


def no_show_tables(*, user: AbstractBaseUser, season: Season) -> list[Table]:
    """Every province's no-show list as its own table (one query, grouped in Python)."""
    by_province: dict[str, list[Candidate]] = defaultdict(list)
    for c in no_shows(user=user, season=season):
        by_province[c.province.province].append(c)
    tables = []
    for name, rows in by_province.items():
        t = candidate_table(name, rows, user=user)
        t.key = f"noshow-{name}"
        tables.append(t)
    return tables


def withdrawn_candidates(
    *, user: AbstractBaseUser, season: Season, province: str = ""
) -> QuerySet[Candidate]:
    qs = candidates_for(user=user, season=season).filter(STAGES["withdrawn"])
    if province:
        qs = qs.filter(province__province=province)
    return _with_list_fields(qs).order_by("province__province", "exam_number")


def province_summary(*, user: AbstractBaseUser, season: Season) -> Table:
    """Per province: admitted, enrolled, no-shows, withdrawals completed and in progress."""
    base = candidates_for(user=user, season=season)
    if is_office(user):
        rows = season_numbers(season=season).provinces
    else:
        rows = list(
            base.values("province__province").annotate(**_candidate_counts()).order_by("province__province")
        )
    open_requests = dict(
        WithdrawalRequest.objects.filter(candidate__in=base, status__in=WithdrawalStatus.open_values())
        .values("candidate__province__province")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("candidate__province__province", "n")
    )
    t = Table(
        "provinces",
        _("各省录取未报到与退档"),
        [
            Column(_("省份")),
            Column(_("投档"), "int"),
            Column(_("录取人数"), "int"),
            Column(_("已报到"), "int"),
            Column(_("录取未报到"), "int"),
            Column(_("已退档"), "int"),
            Column(_("退档办理中"), "int"),
        ],
    )
    for r in rows:
        name = r["province__province"]
        admitted = r["n"] - r["withdrawn"]
        t.add(
            [
                name,
                r["n"],
                admitted,
                r["enrolled"],
                admitted - r["enrolled"],
                r["withdrawn"],
                open_requests.get(name, 0),
            ],
            [
                None,
                None,
                None,
                None,
                reverse("reports:province_report") + "?" + urlencode({"province": name}),
                reverse("reports:province_report") + "?" + urlencode({"province": name}) + "#table-withdrawn",
                None,
            ],
        )
    return t


def province_names(*, season: Season) -> list[str]:
    return list(season.provinces.order_by("province").values_list("province", flat=True))
