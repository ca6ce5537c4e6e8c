"""Reads of the reports app, scoped by who is asking."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, QuerySet, Subquery

from admissions.models import Discrepancy, ReconciliationRun, Season
from callback_office.roles import Role, has_role, is_office
from callbacks.models import Assignment, Team
from callbacks.selectors import caller_for, candidates_for
from reports.models import ProgressSnapshot, WeeklyReport


def _with_responsible(qs: QuerySet[Discrepancy]) -> QuerySet[Discrepancy]:
    """Annotate the responsible caller and leader, from the candidate's active assignment."""
    active = Assignment.objects.filter(candidate_id=OuterRef("candidate_id"), active=True)
    return qs.annotate(
        caller_name=Subquery(active.values("caller__name")[:1]),
        caller_staff_no=Subquery(active.values("caller__staff_no")[:1]),
        team_name=Subquery(active.values("caller__team__name")[:1]),
        leader_name=Subquery(active.values("caller__team__leader__name")[:1]),
    )


def discrepancies_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[Discrepancy]:
    """Discrepancies the user may see: the office all; a caller those of their candidates, a
    leader (or supervisor) also those of their teams' candidates (like `candidates_for`)."""
    qs = Discrepancy.objects.filter(season=season)
    if not is_office(user):
        qs = qs.filter(candidate__in=candidates_for(user=user, season=season))
    return _with_responsible(qs).order_by("resolved", "kind", "exam_number")


def reconciliation_runs(*, season: Season, limit: int = 30) -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.filter(season=season).order_by("-started_at")[:limit]


def weekly_reports_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[WeeklyReport]:
    """The office sees every team's reports; a leader their led teams' archive; others none."""
    qs = WeeklyReport.objects.filter(season=season).select_related("team")
    if is_office(user):
        return qs
    if not has_role(user, Role.LEADER):
        return qs.none()
    caller = caller_for(user=user, season=season)
    if caller is None:
        return qs.none()
    led = Team.objects.filter(season=season, leader=caller).values("id")
    return qs.filter(team_id__in=led)


def snapshots_for(
    *, season: Season, scope: str, scope_id: int, level: str = "all"
) -> QuerySet[ProgressSnapshot]:
    """A scope's daily history (for dashboards), oldest day first."""
    return ProgressSnapshot.objects.filter(
        season=season, scope=scope, scope_id=scope_id, level=level
    ).order_by("day")
