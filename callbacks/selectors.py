"""Reads scoped by who is asking: a caller sees their candidates, a leader their team's, a
supervisor their assigned teams', the office everything."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from admissions.models import Candidate, Season
from callback_office.roles import is_office
from callbacks.models import Assignment, Caller, Team


def caller_for(*, user: AbstractBaseUser, season: Season) -> Caller | None:
    """The user's caller profile in a season (cached on the user for the request)."""
    if not user.is_authenticated:
        return None
    cache = user.__dict__.setdefault("_caller_cache", {})
    if season.pk not in cache:
        cache[season.pk] = Caller.objects.select_related("team").filter(season=season, user=user).first()
    return cache[season.pk]


def team_ids_for(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams whose candidates the user may see beyond their own: led and supervised teams."""
    if is_office(user):
        return set(Team.objects.filter(season=season).values_list("id", flat=True))
    caller = caller_for(user=user, season=season)
    if caller is None:
        return set()
    led = Team.objects.filter(season=season, leader=caller).values_list("id", flat=True)
    supervised = Team.objects.filter(season=season, supervisors=caller).values_list("id", flat=True)
    return set(led) | set(supervised)


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
