"""Load a season's facts for the engine in a constant number of queries (no per-caller query)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q

from admissions.choices import CallbackStatus, Level
from admissions.models import Season
from callbacks.models import TEAM_ORDER, Assignment, Attendance, Caller, Team
from subsidies.engine.facts import (
    AdjustmentFact,
    AuditCount,
    CallerFacts,
    LevelFacts,
    Misconduct,
    SeasonFacts,
    StrikeCredit,
    TeamFacts,
)
from subsidies.models import Adjustment, AdjustmentReason, Deduction


def level_counts(*, season: Season) -> dict[tuple[int, str], LevelFacts]:
    """(caller id, level) → counts over the final active assignments, in one grouped query.

    A completed withdrawal (status 已退档, or a withdrawal date from the imported list — the same
    test as the reconciliation's) leaves the admitted count; enrolled = 报到 recorded.
    """
    not_withdrawn = ~Q(candidate__status=CallbackStatus.WITHDRAWN) & Q(candidate__withdrawn_on__isnull=True)
    rows = (
        Assignment.objects.filter(active=True, candidate__season=season)
        .values("caller_id", "candidate__level", "candidate__province__withdrawable")
        .annotate(
            assigned=Count("id"),
            admitted=Count("id", filter=not_withdrawn),
            enrolled=Count("id", filter=not_withdrawn & Q(candidate__enrolled_on__isnull=False)),
        )
        .order_by()
    )
    out: dict[tuple[int, str], LevelFacts] = defaultdict(LevelFacts)
    for r in rows:
        key = (r["caller_id"], r["candidate__level"])
        withdrawable = r["admitted"] if r["candidate__province__withdrawable"] else 0
        out[key] = out[key] + LevelFacts(r["assigned"], r["admitted"], r["enrolled"], withdrawable)
    return out


def load_facts(*, season: Season) -> SeasonFacts:
    from callbacks.casework_selectors import strike_credits
    from supervision.selectors import audited_record_counts, incident_team_ids, wrong_withdrawal_caller_ids

    counts = level_counts(season=season)
    days = dict(
        Attendance.objects.filter(caller__season=season)
        .values("caller_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("caller_id", "n")
    )
    wrong = wrong_withdrawal_caller_ids(season=season)
    callers = tuple(
        CallerFacts(
            id=c["id"],
            staff_no=c["staff_no"],
            name=c["name"],
            team_id=c["team_id"],
            kind=c["kind"],
            undergraduate=counts.get((c["id"], Level.UNDERGRADUATE), LevelFacts()),
            junior=counts.get((c["id"], Level.JUNIOR), LevelFacts()),
            prev_undergrad_rate=c["prev_undergrad_rate"],
            prev_junior_rate=c["prev_junior_rate"],
            prev_excellent=c["prev_excellent"],
            attended_days=days.get(c["id"], 0),
            wrong_withdrawal=c["id"] in wrong,
        )
        for c in Caller.objects.filter(season=season)
        .order_by("staff_no")
        .values(
            "id",
            "staff_no",
            "name",
            "team_id",
            "kind",
            "prev_undergrad_rate",
            "prev_junior_rate",
            "prev_excellent",
        )
    )
    supervisors: dict[int, list[int]] = defaultdict(list)
    for team_id, caller_id in (
        Team.supervisors.through.objects.filter(team__season=season)
        .order_by("caller_id")
        .values_list("team_id", "caller_id")
    ):
        supervisors[team_id].append(caller_id)
    teams = tuple(
        TeamFacts(
            id=t["id"],
            name=t["name"],
            leader_id=t["leader_id"],
            supervisor_ids=tuple(supervisors.get(t["id"], ())),
            kind=t["kind"],
        )
        for t in Team.objects.filter(season=season)
        .order_by(*TEAM_ORDER)
        .values("id", "name", "leader_id", "kind")
    )
    audits = tuple(
        AuditCount(supervisor_id=s, team_id=t, count=n)
        for (s, t), n in sorted(audited_record_counts(season=season).items())
        if n
    )
    credits = tuple(
        StrikeCredit(holder_id=c.holder_id, candidate_id=c.candidate_id, kind=str(c.kind))
        for c in strike_credits(season=season)
    )
    misconduct = tuple(
        Misconduct(person_id=d["person_id"], percent=Decimal(d["percent"]), reason=d["reason"])
        for d in Deduction.objects.filter(season=season)
        .order_by("id")
        .values("person_id", "percent", "reason")
    )
    adjustments = tuple(
        AdjustmentFact(
            id=a["id"],
            person_id=a["person_id"],
            amount=a["amount"],
            reason_code=a["reason_code"],
            reason=a["reason"],
            reason_label=str(AdjustmentReason(a["reason_code"]).label),
        )
        for a in Adjustment.objects.filter(season=season, settled_run__isnull=True)
        .order_by("id")
        .values("id", "person_id", "amount", "reason_code", "reason")
    )
    return SeasonFacts(
        year=season.year,
        callers=callers,
        teams=teams,
        audits=audits,
        incident_team_ids=frozenset(incident_team_ids(season=season)),
        strike_credits=credits,
        misconduct=misconduct,
        adjustments=adjustments,
    )
