"""Reads scoped by who is asking: a caller sees their candidates, a leader their team's, a
supervisor their assigned teams', the office everything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from admissions.choices import CallbackStatus
from admissions.models import Candidate, CandidatePhone, ProvincePolicy, Season
from callback_office.prepared import (
    PreparedValues,
    attach_prefetched,
    concrete_columns,
    instance_from_values,
)
from callback_office.roles import is_office
from callbacks.models import Assignment, Caller, ContactLog, ProspectReport, Team


def caller_for(*, user: AbstractBaseUser, season: Season) -> Caller | None:
    """The user's caller profile in a season (cached on the user for the request)."""
    if not user.is_authenticated:
        return None
    cache = user.__dict__.setdefault("_caller_cache", {})
    if season.pk not in cache:
        cache[season.pk] = Caller.objects.select_related("team").filter(season=season, user=user).first()
    return cache[season.pk]


def caller_current(*, user: AbstractBaseUser) -> Caller | None:
    """The user's caller profile in the current season (the latest year, as `season_current`),
    with its season and team, in one precompiled query; cached like `caller_for`. None when the
    user has no profile this season (the caller then finds the season by `season_current`)."""
    if not user.is_authenticated:
        return None
    rows = _caller_current_rows(user_id=user.pk)
    if not rows:
        return None
    caller = instance_from_values(Caller, rows[0])
    caller.season = instance_from_values(Season, rows[0], "season__")
    caller.team = instance_from_values(Team, rows[0], "team__")
    user.__dict__.setdefault("_caller_cache", {})[caller.season_id] = caller
    return caller


# Every page of the workspace starts with it: compiled once (select_related and the subquery
# cost more to compile than to run).
_caller_current_rows = PreparedValues(
    lambda user_id: Caller.objects.filter(
        user_id=user_id, season=Subquery(Season.objects.order_by("-year").values("pk")[:1])
    ).values(
        *concrete_columns(Caller), *concrete_columns(Season, "season__"), *concrete_columns(Team, "team__")
    ),
    sample_a={"user_id": -2_000_000_001},
    sample_b={"user_id": -2_000_000_002},
)


def team_ids_for(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams whose candidates the user may see beyond their own: led and supervised teams."""
    if is_office(user):
        return set(Team.objects.filter(season=season).values_list("id", flat=True))
    caller = caller_for(user=user, season=season)
    if caller is None:
        return set()
    return set(
        Team.objects.filter(season=season)
        .filter(Q(leader=caller) | Q(supervisors=caller))
        .values_list("id", flat=True)
        .distinct()
    )


def candidates_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[Candidate]:
    """Every candidate of the season the user may see."""
    base = Candidate.objects.filter(season=season)
    if is_office(user):
        return base
    caller = caller_for(user=user, season=season)
    if caller is None:
        return base.none()
    active = Assignment.objects.filter(active=True)
    team_ids = team_ids_for(user=user, season=season)
    own = active.filter(caller=caller).values("candidate_id")
    if not team_ids:
        return base.filter(id__in=own)
    teams = active.filter(caller__team_id__in=team_ids).values("candidate_id")
    return base.filter(id__in=own) | base.filter(id__in=teams)


def can_see_full_pii(*, user: AbstractBaseUser, candidate: Candidate) -> bool:
    """Full ID numbers and phones: the office and the candidate's assigned caller only."""
    if is_office(user):
        return True
    caller = caller_for(user=user, season=candidate.season)
    if caller is None:
        return False
    return Assignment.objects.filter(candidate=candidate, caller=caller, active=True).exists()


# ---------------------------------------------------------------------------------------------
# Who may log a contact


# Extra grants for logging contacts, each `(caller, candidate) -> bool`. The casework module
# appends one for strike-team holders; the assigned caller needs none.
CONTACT_LOG_GRANTS: list[Callable[[Caller, Candidate], bool]] = []


def caller_may_log_contact(*, caller: Caller, candidate: Candidate) -> bool:
    """The candidate's assigned caller, or whoever a registered grant lets (strike team) — if
    they have passed the qualification review (资格审查)."""
    if caller.season_id != candidate.season_id or not caller.qualified:
        return False
    if Assignment.objects.filter(candidate=candidate, caller=caller, active=True).exists():
        return True
    return any(grant(caller, candidate) for grant in CONTACT_LOG_GRANTS)


@dataclass(frozen=True)
class CandidateAccess:
    """What the user may do with one visible candidate."""

    full_pii: bool
    may_log: bool


def candidate_access(*, user: AbstractBaseUser, candidate: Candidate) -> CandidateAccess:
    """`can_see_full_pii` and `may_log_contact` together, with one query for the usual case."""
    caller = caller_for(user=user, season=candidate.season)
    if caller is None:
        return CandidateAccess(full_pii=is_office(user), may_log=False)
    assigned = Assignment.objects.filter(candidate=candidate, caller=caller, active=True).exists()
    may_log = caller.qualified and (assigned or any(grant(caller, candidate) for grant in CONTACT_LOG_GRANTS))
    return CandidateAccess(full_pii=assigned or is_office(user), may_log=may_log)


def candidate_held_by(*, caller: Caller, pk: int) -> Candidate | None:
    """The candidate `pk` if `caller` holds it (an active assignment), with the caller's
    `next_call_at` annotated, its province, season and phones loaded; else None.

    The assigned caller's usual case in one query (plus the phones), both precompiled: the path
    of every logged contact. Such a candidate is in `candidates_for`, and its caller sees full
    personal data and may log contacts."""
    rows = _held_candidate_rows(caller_id=caller.pk, season_id=caller.season_id, pk=pk)
    if not rows:
        return None
    candidate = instance_from_values(Candidate, rows[0])
    candidate.province = instance_from_values(ProvincePolicy, rows[0], "province__")
    candidate.season = instance_from_values(Season, rows[0], "season__")
    candidate.next_call_at = rows[0]["next_call_at"]
    phones = [instance_from_values(CandidatePhone, row) for row in _candidate_phone_rows(candidate_id=pk)]
    attach_prefetched(candidate, "phones", phones)
    return candidate


_held_candidate_rows = PreparedValues(
    lambda caller_id, season_id, pk: Candidate.objects.filter(
        season_id=season_id, pk=pk, assignments__caller_id=caller_id, assignments__active=True
    ).values(
        *concrete_columns(Candidate),
        *concrete_columns(ProvincePolicy, "province__"),
        *concrete_columns(Season, "season__"),
        next_call_at=F("assignments__next_call_at"),
    ),
    sample_a={"caller_id": -2_000_000_001, "season_id": -2_000_000_002, "pk": -2_000_000_003},
    sample_b={"caller_id": -2_000_000_004, "season_id": -2_000_000_005, "pk": -2_000_000_006},
)
_candidate_phone_rows = PreparedValues(
    lambda candidate_id: CandidatePhone.objects.filter(candidate_id=candidate_id).values(
        *concrete_columns(CandidatePhone)
    ),
    sample_a={"candidate_id": -2_000_000_001},
    sample_b={"candidate_id": -2_000_000_002},
)


def may_log_contact(user: AbstractBaseUser, candidate: Candidate) -> bool:
    """May `user` log a contact for `candidate`? (Leaders read their team but log only their own.)"""
    caller = caller_for(user=user, season=candidate.season)
    if caller is None:
        return False
    return caller_may_log_contact(caller=caller, candidate=candidate)


# ---------------------------------------------------------------------------------------------
# 报备 and the pool


def reports_matching_outer() -> QuerySet[ProspectReport]:
    """Reports (报备) matching the outer query's candidate, for Exists/Subquery: same season and
    the same exam number, or the same (non-blank) ID number."""
    return ProspectReport.objects.filter(season=OuterRef("season")).filter(
        Q(exam_number=OuterRef("exam_number")) | (Q(id_number=OuterRef("id_number")) & ~Q(id_number=""))
    )


def pool_size(*, season: Season) -> int:
    """How many wait in the pool: the `in_pool` flag, which assigning clears (index-only scan of
    the partial index `candidate_pool`; checking each for an active assignment besides was a
    merge anti join over every active assignment, ~0.4 s at a million)."""
    return Candidate.objects.filter(season=season, in_pool=True).count()


def reports_of(*, caller: Caller) -> QuerySet[ProspectReport]:
    return ProspectReport.objects.filter(caller=caller).order_by("-created_at")


# ---------------------------------------------------------------------------------------------
# My candidates


class WorkPhase(models.IntegerChoices):
    """The manual's three phases, per candidate, from the contact state (not from dates).

    - 第一阶段 通打一遍: never contacted yet (contact_count = 0).
    - 第二阶段 集中突破: contacted, but still 未联系 / 考虑中 / 联系不上 — the ones to break through.
    - 第三阶段 最终确认: contacted and decided (确认就读, 明确不来, 申请退档, 已退档) — to be
      confirmed once more before the data is uploaded.

    Per candidate rather than by season dates, because callers claim at their own pace: on any
    day one caller's list holds candidates of all three phases.
    """

    FIRST_PASS = 1, _("第一阶段 通打一遍")
    BREAKTHROUGH = 2, _("第二阶段 集中突破")
    FINAL = 3, _("第三阶段 最终确认")


OPEN_STATUSES = (CallbackStatus.UNCONTACTED, CallbackStatus.HESITANT, CallbackStatus.UNREACHABLE)


def phase_q(phase: int) -> Q:
    if phase == WorkPhase.FIRST_PASS:
        return Q(contact_count=0)
    if phase == WorkPhase.BREAKTHROUGH:
        return Q(contact_count__gt=0, status__in=OPEN_STATUSES)
    return Q(contact_count__gt=0) & ~Q(status__in=OPEN_STATUSES)


def _phase_expression() -> Case:
    return Case(
        When(phase_q(WorkPhase.FIRST_PASS), then=Value(int(WorkPhase.FIRST_PASS))),
        When(phase_q(WorkPhase.BREAKTHROUGH), then=Value(int(WorkPhase.BREAKTHROUGH))),
        default=Value(int(WorkPhase.FINAL)),
        output_field=IntegerField(),
    )


def my_candidates(*, caller: Caller, now: dt.datetime | None = None) -> QuerySet[Candidate]:
    """The caller's active candidates with `next_call_at`, `work_phase`, `call_priority` and
    `followup_due` annotated, in "next to call" order (`next_to_call_order`)."""
    return _my_candidates(caller_id=caller.pk, season_id=caller.season_id, now=now or timezone.now())


def _my_candidates(*, caller_id: int, season_id: int, now: dt.datetime) -> QuerySet[Candidate]:
    # One join to the caller's active assignment (at most one per candidate: the partial unique
    # constraint), filtered and read in the same filter() so that `next_call_at` is a column of
    # that join: the ordering and the two CASEs below reuse it instead of each repeating a
    # correlated subquery (index `assignment_active_by_caller`).
    qs = (
        Candidate.objects.filter(
            season_id=season_id, assignments__caller_id=caller_id, assignments__active=True
        )
        .select_related("province")
        .annotate(next_call_at=F("assignments__next_call_at"))
    )
    return annotate_work(qs, now=now).order_by(*next_to_call_order())


# The columns of a "my candidates" row, and the unfiltered first page (one row more than the page
# shows, to know whether there is a second) compiled once per process: the list every caller
# opens all day.
MY_CANDIDATE_FIELDS = (
    "id",
    "name",
    "exam_number",
    "province__province",
    "province__withdrawable",
    "work_phase",
    "status",
    "last_contact_at",
    "contact_count",
    "contact_seconds",
    "paid_on",
    "enrolled_on",
    "masters_track_interest",
    "next_call_at",
    "followup_due",
)
MY_CANDIDATES_PAGE = 100
my_candidates_first_page = PreparedValues(
    lambda **args: _my_candidates(**args).values(*MY_CANDIDATE_FIELDS)[: MY_CANDIDATES_PAGE + 1],
    sample_a={
        "caller_id": -2_000_000_001,
        "season_id": -2_000_000_002,
        "now": dt.datetime(1901, 1, 2, tzinfo=dt.UTC),
    },
    sample_b={
        "caller_id": -2_000_000_003,
        "season_id": -2_000_000_004,
        "now": dt.datetime(1902, 3, 4, tzinfo=dt.UTC),
    },
)


# How many candidates the unfiltered list holds, for the pager when there is more than a page
# (`QuerySet.count()` of the list would compile its annotations and ordering to count rows).
_my_candidates_count = PreparedValues(
    lambda caller_id, season_id: (
        Assignment.objects.filter(caller_id=caller_id, active=True, candidate__season_id=season_id)
        .values("caller_id")
        .annotate(n=Count("pk"))
    ),
    sample_a={"caller_id": -2_000_000_001, "season_id": -2_000_000_002},
    sample_b={"caller_id": -2_000_000_003, "season_id": -2_000_000_004},
)


def my_candidates_count(*, caller_id: int, season_id: int) -> int:
    rows = _my_candidates_count(caller_id=caller_id, season_id=season_id)
    return rows[0]["n"] if rows else 0


# The season's provinces (the filter form's choices, in the HTML cache's key).
season_provinces = PreparedValues(
    lambda season_id: ProvincePolicy.objects.filter(season_id=season_id).values("pk", "province"),
    sample_a={"season_id": -2_000_000_001},
    sample_b={"season_id": -2_000_000_002},
)


def followups_due_in(*, rows: list[dict], limit: int = 20) -> list[dict]:
    """The due follow-ups among the first rows of the unfiltered list: they come first in "next
    to call" order (oldest due first), so the list's first page holds the reminders' answer
    (`followups_due`) without another query."""
    return [
        {"id": r["id"], "name": r["name"], "next_call_at": r["next_call_at"]}
        for r in rows[:limit]
        if r["followup_due"]
    ]


def annotate_work(qs: QuerySet[Candidate], *, now: dt.datetime) -> QuerySet[Candidate]:
    """Adds `work_phase`, `followup_due` and `call_priority` (needs `next_call_at` annotated).

    Priority: 0 follow-up due, 1 never contacted, 2 hesitant, 3 unreachable, 4 other open,
    5 decided.
    """
    return qs.annotate(
        work_phase=_phase_expression(),
        followup_due=Case(
            When(next_call_at__lte=now, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        call_priority=Case(
            When(next_call_at__lte=now, then=Value(0)),
            When(contact_count=0, then=Value(1)),
            When(status=CallbackStatus.HESITANT, then=Value(2)),
            When(status=CallbackStatus.UNREACHABLE, then=Value(3)),
            When(status__in=OPEN_STATUSES, then=Value(4)),
            default=Value(5),
            output_field=IntegerField(),
        ),
    )


def next_to_call_order() -> list:
    """Due follow-ups first (oldest due first), then never contacted, hesitant, unreachable; the
    longest-untouched first inside each group."""
    return [
        "call_priority",
        F("next_call_at").asc(nulls_last=True),
        F("last_contact_at").asc(nulls_first=True),
        "id",
    ]


def followups_due(*, caller: Caller, now: dt.datetime | None = None, limit: int = 20) -> list[dict]:
    """The caller's follow-ups that are due, oldest first (reminders on the list): candidate
    `id`, `name` and `next_call_at`."""
    now = now or timezone.now()
    rows = (
        Assignment.objects.filter(caller=caller, active=True, next_call_at__lte=now)
        .order_by("next_call_at", F("candidate__last_contact_at").asc(nulls_first=True), "candidate_id")
        .values("candidate_id", "candidate__name", "next_call_at")[:limit]
    )
    return [
        {"id": r["candidate_id"], "name": r["candidate__name"], "next_call_at": r["next_call_at"]}
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# The candidate page


# The history table's columns, newest first; precompiled: the candidate page and every logged
# contact show it.
HISTORY_FIELDS = (
    "contacted_at",
    "caller__name",
    "channel",
    "duration_seconds",
    "outcome",
    "intent",
    "risk_signals",
    "notes",
    "new_numbers",
)
contact_history_rows = PreparedValues(
    lambda candidate_id: (
        ContactLog.objects.filter(candidate_id=candidate_id)
        .order_by("-contacted_at", "-id")
        .values(*HISTORY_FIELDS)
    ),
    sample_a={"candidate_id": -2_000_000_001},
    sample_b={"candidate_id": -2_000_000_002},
)


def classmates(*, user: AbstractBaseUser, candidate: Candidate, limit: int = 30) -> list[Candidate]:
    """Candidates from the same high school (按中学名称查询) that the user may see."""
    if not candidate.high_school:
        return []
    return list(
        candidates_for(user=user, season=candidate.season)
        .filter(high_school=candidate.high_school)
        .exclude(pk=candidate.pk)
        .order_by("name")[:limit]
    )


def active_assignment(*, candidate: Candidate) -> Assignment | None:
    return Assignment.objects.filter(candidate=candidate, active=True).select_related("caller").first()


# ---------------------------------------------------------------------------------------------
# Leaders: the team and overdue follow-ups


def led_team_ids(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams the user leads (the office: all)."""
    if is_office(user):
        return set(Team.objects.filter(season=season).values_list("id", flat=True))
    caller = caller_for(user=user, season=season)
    if caller is None:
        return set()
    return set(Team.objects.filter(season=season, leader=caller).values_list("id", flat=True))


def team_assignments(*, team_ids: set[int]) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(active=True, caller__team_id__in=team_ids)
        .select_related("candidate", "candidate__province", "caller")
        .order_by("caller__staff_no", "candidate__exam_number")
    )


def overdue_hours() -> int:
    return int(getattr(settings, "FOLLOWUP_OVERDUE_HOURS", 24))


def overdue_followups(*, team_ids: set[int], now: dt.datetime | None = None) -> QuerySet[Assignment]:
    """Follow-ups overdue by more than settings.FOLLOWUP_OVERDUE_HOURS (default 24) in the teams."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=overdue_hours())
    return (
        Assignment.objects.filter(active=True, caller__team_id__in=team_ids, next_call_at__lt=cutoff)
        .select_related("candidate", "caller")
        .order_by("next_call_at")
    )


# ---------------------------------------------------------------------------------------------
# Ledger (台账)

TENTH = Decimal("0.1")
PLAN_MIN_CONTACTS = Decimal(4)
PLAN_MIN_MINUTES = Decimal(20)


@dataclass(frozen=True)
class LedgerTotals:
    """A caller's candidates and the contacts and seconds on them, with the plan's averages."""

    candidates: int
    contacts: int
    seconds: int

    @property
    def minutes(self) -> Decimal:
        return (Decimal(self.seconds) / 60).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def avg_contacts(self) -> Decimal:
        if not self.candidates:
            return Decimal("0.0")
        return (Decimal(self.contacts) / self.candidates).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def avg_minutes(self) -> Decimal:
        if not self.candidates:
            return Decimal("0.0")
        return (Decimal(self.seconds) / 60 / self.candidates).quantize(TENTH, rounding=ROUND_HALF_UP)

    @property
    def meets_contacts(self) -> bool:
        return self.avg_contacts >= PLAN_MIN_CONTACTS

    @property
    def meets_minutes(self) -> bool:
        return self.avg_minutes >= PLAN_MIN_MINUTES


@dataclass(frozen=True)
class LedgerSummary(LedgerTotals):
    """LedgerTotals plus the caller's own contact records and the channels they used."""

    own_contacts: int
    channels: dict[str, int]


@dataclass(frozen=True)
class LedgerLine:
    caller: Caller
    totals: LedgerTotals


def ledger_overview(*, callers: QuerySet[Caller]) -> list[LedgerLine]:
    """One line per caller (their active candidates' contact summaries), in one query."""
    active = Q(assignments__active=True)
    rows = (
        callers.select_related("team")
        .annotate(
            n_candidates=Count("assignments", filter=active),
            n_contacts=Sum("assignments__candidate__contact_count", filter=active),
            n_seconds=Sum("assignments__candidate__contact_seconds", filter=active),
        )
        .order_by("team__sort_order", "team_id", "staff_no")
    )
    return [
        LedgerLine(
            caller=c,
            totals=LedgerTotals(
                candidates=c.n_candidates, contacts=c.n_contacts or 0, seconds=c.n_seconds or 0
            ),
        )
        for c in rows
    ]


def ledger_callers(*, user: AbstractBaseUser, season: Season) -> QuerySet[Caller]:
    """Whose ledgers the user may open: their own; a leader's or supervisor's teams; the office all."""
    if is_office(user):
        return Caller.objects.filter(season=season)
    own = Q(user=user)
    team_ids = team_ids_for(user=user, season=season)
    return Caller.objects.filter(season=season).filter(own | Q(team_id__in=team_ids))


def ledger_candidates(*, caller: Caller) -> QuerySet[Candidate]:
    """The caller's candidates for the ledger (active assignments), by exam number."""
    return (
        Candidate.objects.filter(assignments__caller=caller, assignments__active=True)
        .select_related("province")
        .order_by("exam_number")
    )


def ledger_summary(*, caller: Caller) -> LedgerSummary:
    """Totals over the caller's candidates (their contact summaries), plus the channels the
    caller used in their own contacts. Three queries, whatever the size."""
    totals = (
        ledger_candidates(caller=caller)
        .order_by()
        .aggregate(n=Count("id"), contacts=Sum("contact_count"), seconds=Sum("contact_seconds"))
    )
    channels = dict(
        ContactLog.objects.filter(caller=caller)
        .order_by()
        .values("channel")
        .annotate(n=Count("id"))
        .values_list("channel", "n")
    )
    return LedgerSummary(
        candidates=totals["n"] or 0,
        contacts=totals["contacts"] or 0,
        seconds=totals["seconds"] or 0,
        own_contacts=sum(channels.values()),
        channels=channels,
    )
