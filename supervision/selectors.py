"""Reads for the supervision group, always scoped by who is asking.

A supervisor sees the teams they cover (`Team.supervisors`), the office sees everything, a caller
sees the findings about their own calls and a leader their team's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Season
from callback_office.roles import Role, has_role, is_office
from callbacks.choices import QualificationStatus, TeamKind
from callbacks.models import TEAM_ORDER, Assignment, Caller, ContactLog, Team
from supervision.choices import FindingStatus, IncidentKind
from supervision.models import (
    AuditItem,
    AuditSample,
    AuditScore,
    ContactAttachment,
    Finding,
    Incident,
    LedgerCheck,
    Scorecard,
)

# --- scope -----------------------------------------------------------------------------------


def supervisor_for(*, user: AbstractBaseUser, season: Season) -> Caller | None:
    """The user's caller profile if they act as a supervisor in the season."""
    if not has_role(user, Role.SUPERVISOR):
        return None
    from callbacks.selectors import caller_for

    return caller_for(user=user, season=season)


def supervised_team_ids(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams the user oversees: all for the office and the supervision lead, the covered teams
    for a supervisor."""
    if is_office(user):
        return set(Team.objects.filter(season=season).values_list("id", flat=True))
    sup = supervisor_for(user=user, season=season)
    if sup is None:
        return set()
    cache = user.__dict__.setdefault("_supervised_cache", {})
    if season.pk not in cache and is_supervision_lead(user=user, season=season):
        # the supervision group's leader oversees every team (and arbitrates their disputes);
        # sampling, scoring and verifying stay with the teams' own supervisors
        cache[season.pk] = set(Team.objects.filter(season=season).values_list("id", flat=True))
    if season.pk not in cache:
        cache[season.pk] = set(
            Team.objects.filter(season=season, supervisors=sup).values_list("id", flat=True)
        )
    return cache[season.pk]


def is_supervision_lead(*, user: AbstractBaseUser, season: Season) -> bool:
    """The supervision group's leader (leader of a team of kind 督查组)."""
    sup = supervisor_for(user=user, season=season)
    if sup is None:
        return False
    cache = user.__dict__.setdefault("_supervision_lead_cache", {})
    if season.pk not in cache:
        cache[season.pk] = Team.objects.filter(season=season, kind=TeamKind.SUPERVISION, leader=sup).exists()
    return cache[season.pk]


def teams_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[Team]:
    return Team.objects.filter(id__in=supervised_team_ids(user=user, season=season)).order_by(*TEAM_ORDER)


def samples_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[AuditSample]:
    base = AuditSample.objects.filter(season=season)
    if is_office(user):
        return base
    sup = supervisor_for(user=user, season=season)
    if sup is None:
        return base.none()
    team_ids = supervised_team_ids(user=user, season=season)
    with_my_teams = AuditItem.objects.filter(team_id__in=team_ids).values("sample_id")
    return base.filter(Q(supervisor=sup) | Q(id__in=with_my_teams))


def items_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[AuditItem]:
    """Sampled records the user may open and score: their teams', plus calibration items."""
    base = AuditItem.objects.filter(sample__season=season)
    if is_office(user):
        return base
    if supervisor_for(user=user, season=season) is None:
        return base.none()
    team_ids = supervised_team_ids(user=user, season=season)
    return base.filter(Q(team_id__in=team_ids) | Q(calibration=True))


def findings_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[Finding]:
    """Supervisors and office: findings of audited teams. Callers: their own. Leaders: + team."""
    base = Finding.objects.filter(season=season)
    if is_office(user):
        return base
    q = Q(pk__in=[])
    if supervisor_for(user=user, season=season) is not None:
        q |= Q(team_id__in=supervised_team_ids(user=user, season=season))
    from callbacks.selectors import caller_for

    caller = caller_for(user=user, season=season)
    if caller is not None:
        q |= Q(caller=caller)
        if has_role(user, Role.LEADER):
            q |= Q(team__leader=caller)
    return base.filter(q)


def my_findings(*, user: AbstractBaseUser, season: Season) -> QuerySet[Finding]:
    """The caller's and (for a leader) the led team's findings — the 我的整改 page."""
    from callbacks.selectors import caller_for

    caller = caller_for(user=user, season=season)
    if caller is None:
        return Finding.objects.none()
    q = Q(caller=caller)
    if has_role(user, Role.LEADER):
        q |= Q(team__leader=caller)
    return Finding.objects.filter(season=season).filter(q)


def contacts_for_attachments(*, user: AbstractBaseUser, season: Season) -> QuerySet[ContactLog]:
    """Contact logs whose recordings the user may see or add: own calls, led teams', audited teams'."""
    base = ContactLog.objects.filter(candidate__season=season)
    if is_office(user):
        return base
    from callbacks.selectors import caller_for

    caller = caller_for(user=user, season=season)
    if caller is None:
        return base.none()
    q = Q(caller=caller)
    if has_role(user, Role.LEADER):
        q |= Q(caller__team__leader=caller)
    if has_role(user, Role.SUPERVISOR):
        q |= Q(caller__team_id__in=supervised_team_ids(user=user, season=season))
        q |= Q(audit_items__calibration=True)
    return base.filter(q).distinct()


def attachments_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[ContactAttachment]:
    contacts = contacts_for_attachments(user=user, season=season).values("id")
    return ContactAttachment.objects.filter(contact_log_id__in=contacts)


# --- qualification ---------------------------------------------------------------------------


def unreviewed_callers(*, user: AbstractBaseUser, season: Season) -> QuerySet[Caller]:
    """Callers still waiting for their qualification review, in the user's audited teams."""
    qs = Caller.objects.filter(season=season, qualification_status=QualificationStatus.PENDING)
    if not is_office(user):
        qs = qs.filter(team_id__in=supervised_team_ids(user=user, season=season))
    return qs.select_related("team").order_by("team__sort_order", "team_id", "staff_no")


def reviewable_callers(*, user: AbstractBaseUser, season: Season) -> QuerySet[Caller]:
    qs = Caller.objects.filter(season=season)
    if not is_office(user):
        qs = qs.filter(team_id__in=supervised_team_ids(user=user, season=season))
    return qs


# --- sampling --------------------------------------------------------------------------------


def new_caller_ids(*, season: Season, caller_ids: set[int] | None = None) -> set[int]:
    """Callers in their first season (no caller profile in an earlier season)."""
    qs = Caller.objects.filter(season=season)
    if caller_ids is not None:
        qs = qs.filter(id__in=caller_ids)
    veterans = Caller.objects.filter(season__year__lt=season.year).values("user_id")
    return set(qs.exclude(user_id__in=veterans).values_list("id", flat=True))


@dataclass(frozen=True)
class SamplingReminder:
    team: Team
    samplings: int


def sampling_reminders(
    *, user: AbstractBaseUser, season: Season, today: dt.date | None = None, minimum: int = 2
) -> list[SamplingReminder]:
    """Teams sampled fewer than `minimum` times this month, shown during admission only."""
    today = today or timezone.localdate()
    if season.admission_start and today < season.admission_start:
        return []
    if season.admission_end and today > season.admission_end:
        return []
    month_start = today.replace(day=1)
    start = timezone.make_aware(dt.datetime.combine(month_start, dt.time.min))
    teams = list(
        teams_for(user=user, season=season).annotate(
            n=Count(
                "audit_items__sample", filter=Q(audit_items__sample__created_at__gte=start), distinct=True
            )
        )
    )
    return [SamplingReminder(team=t, samplings=t.n) for t in teams if t.n < minimum]


# --- scores and calibration ------------------------------------------------------------------


def scorecard_latest(*, season: Season) -> Scorecard | None:
    return Scorecard.objects.filter(season=season).prefetch_related("criteria").order_by("-version").first()


def visible_scores(*, item: AuditItem, user: AbstractBaseUser, season: Season) -> list[AuditScore]:
    """Blind scoring: a supervisor sees others' scores of an item only after submitting their own."""
    scores = list(item.scores.select_related("supervisor", "scorecard").order_by("submitted_at"))
    if is_office(user):
        return scores
    sup = supervisor_for(user=user, season=season)
    if sup is None:
        return []
    mine = [s for s in scores if s.supervisor_id == sup.id]
    return scores if mine else []


@dataclass(frozen=True)
class CriterionAgreement:
    criterion_id: int
    label: str
    pairs: int
    mean_abs_diff: Decimal | None
    identical_share: Decimal | None


@dataclass(frozen=True)
class ItemAgreement:
    item: AuditItem
    scores: list[AuditScore]
    criteria: list[CriterionAgreement]


def agreement(scores: list[AuditScore], criteria: list[tuple[int, str]]) -> list[CriterionAgreement]:
    """Per criterion, over all pairs of supervisors: mean absolute difference and share identical."""
    out = []
    for cid, label in criteria:
        marks = [s.marks.get(str(cid)) for s in scores]
        marks = [m for m in marks if m is not None]
        diffs = [abs(a - b) for i, a in enumerate(marks) for b in marks[i + 1 :]]
        if not diffs:
            out.append(CriterionAgreement(cid, label, 0, None, None))
            continue
        mad = (Decimal(sum(diffs)) / len(diffs)).quantize(Decimal("0.01"))
        same = (Decimal(sum(1 for d in diffs if d == 0)) / len(diffs)).quantize(Decimal("0.0001"))
        out.append(CriterionAgreement(cid, label, len(diffs), mad, same))
    return out


def calibration_report(*, season: Season) -> list[ItemAgreement]:
    """Items scored by two or more supervisors, with per-criterion agreement (office only)."""
    items = list(
        AuditItem.objects.filter(sample__season=season)
        .annotate(n=Count("scores"))
        .filter(n__gte=2)
        .select_related("team", "contact_log__caller")
        .prefetch_related("scores__supervisor", "scores__scorecard__criteria")
        .order_by("id")
    )
    report = []
    for item in items:
        scores = sorted(item.scores.all(), key=lambda s: s.submitted_at)
        card = scores[0].scorecard
        criteria = [(c.id, c.label) for c in card.criteria.all()]
        same_card = [s for s in scores if s.scorecard_id == card.id]
        report.append(ItemAgreement(item=item, scores=same_card, criteria=agreement(same_card, criteria)))
    return report


# --- ledger spot checks ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerShortfall:
    caller: Caller
    candidates: int
    avg_contacts: Decimal
    avg_minutes: Decimal
    stale: int
    flagged: bool


def ledger_shortfalls(
    *,
    team_ids: set[int] | list[int],
    season: Season,
    min_contacts: int = 4,
    min_minutes: int = 20,
    stale_days: int = 7,
    now: dt.datetime | None = None,
) -> list[LedgerShortfall]:
    """Per caller of the teams: their active candidates' average contacts and minutes, and how
    many have had no contact for `stale_days` (withdrawn candidates are left out)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=stale_days)
    rows = (
        Assignment.objects.filter(active=True, caller__season=season, caller__team_id__in=team_ids)
        .exclude(candidate__status=CallbackStatus.WITHDRAWN)
        .values("caller_id")
        .annotate(
            n=Count("id"),
            contacts=Sum("candidate__contact_count"),
            seconds=Sum("candidate__contact_seconds"),
            stale=Count(
                "id",
                filter=Q(candidate__last_contact_at__lt=cutoff) | Q(candidate__last_contact_at__isnull=True),
            ),
        )
    )
    by_caller = {r["caller_id"]: r for r in rows}
    callers = Caller.objects.filter(season=season, team_id__in=team_ids).select_related("team")
    out = []
    for c in callers.order_by("team__sort_order", "team_id", "staff_no"):
        r = by_caller.get(c.id)
        if not r:
            continue
        n = r["n"]
        avg_c = (Decimal(r["contacts"] or 0) / n).quantize(Decimal("0.1"))
        avg_m = (Decimal(r["seconds"] or 0) / 60 / n).quantize(Decimal("0.1"))
        flagged = avg_c < min_contacts or avg_m < min_minutes or r["stale"] > 0
        out.append(LedgerShortfall(c, n, avg_c, avg_m, r["stale"], flagged))
    return out


def ledger_checks_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[LedgerCheck]:
    qs = LedgerCheck.objects.filter(season=season)
    if not is_office(user):
        qs = qs.filter(team_id__in=supervised_team_ids(user=user, season=season))
    return qs.select_related("team", "supervisor")


# --- audit ledger (工作台账) ------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    supervisor_id: int
    supervisor_name: str
    team_id: int
    team_name: str
    audited: int
    findings: int


def audit_ledger(
    *, user: AbstractBaseUser, season: Season, start: dt.date | None = None, end: dt.date | None = None
) -> list[LedgerRow]:
    """Audited records per supervisor and team in a period (the basis of the supervision subsidy)."""
    scores = AuditScore.objects.filter(item__sample__season=season)
    findings = Finding.objects.filter(season=season)
    if start:
        s = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
        scores, findings = scores.filter(submitted_at__gte=s), findings.filter(created_at__gte=s)
    if end:
        e = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
        scores, findings = scores.filter(submitted_at__lt=e), findings.filter(created_at__lt=e)
    if not is_office(user):
        sup = supervisor_for(user=user, season=season)
        if sup is None:
            return []
        scores = scores.filter(supervisor=sup)
        findings = findings.filter(author=sup)
    counts = {
        (r["supervisor_id"], r["item__team_id"]): r
        for r in scores.values(
            "supervisor_id", "item__team_id", "supervisor__name", "item__team__name", "item__team__sort_order"
        ).annotate(n=Count("item_id", distinct=True))
    }
    found = {
        (r["author_id"], r["team_id"]): r["n"]
        for r in findings.values("author_id", "team_id").annotate(n=Count("id"))
    }
    rows = [
        LedgerRow(sid, r["supervisor__name"], tid, r["item__team__name"], r["n"], found.get((sid, tid), 0))
        for (sid, tid), r in counts.items()
    ]
    team_order = {tid: (r["item__team__sort_order"], tid) for (_sid, tid), r in counts.items()}
    return sorted(rows, key=lambda r: (r.supervisor_name, team_order[r.team_id]))


# --- facts for the subsidy engine and dashboards (INTERFACES.md) -----------------------------


def audited_record_counts(*, season: Season) -> dict[tuple[int, int], int]:
    """Audited (scored) sampled records keyed by (supervisor caller id, team id)."""
    rows = (
        AuditScore.objects.filter(item__sample__season=season)
        .values("supervisor_id", "item__team_id")
        .annotate(n=Count("item_id", distinct=True))
    )
    return {(r["supervisor_id"], r["item__team_id"]): r["n"] for r in rows}


def incident_team_ids(*, season: Season) -> set[int]:
    """Teams with a public-opinion incident (舆情) caused by improper callbacks."""
    return set(
        Incident.objects.filter(
            season=season, kind=IncidentKind.PUBLIC_OPINION, caused_by_improper_callback=True
        ).values_list("team_id", flat=True)
    )


def wrong_withdrawal_caller_ids(*, season: Season) -> set[int]:
    """Callers with a recorded wrong withdrawal (误退)."""
    return set(
        Incident.objects.filter(
            season=season, kind=IncidentKind.WRONG_WITHDRAWAL, caller__isnull=False
        ).values_list("caller_id", flat=True)
    )


def open_findings_by_caller(*, season: Season) -> dict[int, int]:
    """Findings not yet closed (open, disputed, responded) per caller id."""
    rows = (
        Finding.objects.filter(season=season, status__in=FindingStatus.unresolved())
        .values("caller_id")
        .annotate(n=Count("id"))
    )
    return {r["caller_id"]: r["n"] for r in rows}
