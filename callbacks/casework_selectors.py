"""Reads for casework (withdrawal requests, strike-team cases), always scoped by who asks.

Who may see and act on what:
- a caller: the candidates actively assigned to them (their requests and cases);
- a team leader: those of the callers of the teams they lead (not the teams they supervise);
- a strike-team member: the queue of takeable cases and the cases they hold;
- the office: everything in the season.
Out-of-scope objects are simply absent from these querysets, so views answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from admissions.models import Candidate, Season
from callback_office.roles import Role, has_role, is_office
from callbacks.casework_models import (
    StrikeCase,
    StrikeCaseKind,
    StrikeCaseStatus,
    WithdrawalMaterial,
    WithdrawalRequest,
    WithdrawalStatus,
)
from callbacks.models import Assignment, Caller, Team
from callbacks.selectors import caller_for


def led_team_ids(*, user: AbstractBaseUser, season: Season) -> set[int]:
    """Teams the user leads (supervised teams are read-only and not included)."""
    if is_office(user):
        return set(Team.objects.filter(season=season).values_list("id", flat=True))
    caller = caller_for(user=user, season=season)
    if caller is None or not has_role(user, Role.LEADER):
        return set()
    cache = user.__dict__.setdefault("_led_team_cache", {})
    if season.pk not in cache:
        cache[season.pk] = set(Team.objects.filter(season=season, leader=caller).values_list("id", flat=True))
    return cache[season.pk]


def actable_candidates(*, user: AbstractBaseUser, season: Season) -> QuerySet[Candidate]:
    """Candidates whose withdrawal and escalation the user may start: own, led teams', or all (office)."""
    base = Candidate.objects.filter(season=season)
    if is_office(user):
        return base
    caller = caller_for(user=user, season=season)
    if caller is None:
        return base.none()
    active = Assignment.objects.filter(active=True)
    condition = Q(id__in=active.filter(caller=caller).values("candidate_id"))
    led = led_team_ids(user=user, season=season)
    if led:
        condition |= Q(id__in=active.filter(caller__team_id__in=led).values("candidate_id"))
    return base.filter(condition)


def _assigned_caller(candidate: Candidate) -> Caller | None:
    assignment = Assignment.objects.select_related("caller").filter(candidate=candidate, active=True).first()
    return assignment.caller if assignment else None


def is_assigned_caller(*, user: AbstractBaseUser, candidate: Candidate) -> bool:
    caller = caller_for(user=user, season=candidate.season)
    return (
        caller is not None
        and Assignment.objects.filter(candidate=candidate, caller=caller, active=True).exists()
    )


def leads_candidate(*, user: AbstractBaseUser, candidate: Candidate) -> bool:
    """The user leads the team of the candidate's assigned caller (the office counts as leading all)."""
    if is_office(user):
        return True
    led = led_team_ids(user=user, season=candidate.season)
    return (
        bool(led)
        and Assignment.objects.filter(candidate=candidate, active=True, caller__team_id__in=led).exists()
    )


# --- withdrawal requests -----------------------------------------------------------------------


def withdrawals_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[WithdrawalRequest]:
    """Withdrawal requests the user may see: of the candidates they may act on."""
    qs = WithdrawalRequest.objects.filter(season=season)
    if is_office(user):
        return qs
    return qs.filter(candidate__in=actable_candidates(user=user, season=season))


def materials_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[WithdrawalMaterial]:
    """Uploaded materials the user may open (assigned caller, their leader, the office)."""
    return WithdrawalMaterial.objects.filter(request__in=withdrawals_for(user=user, season=season))


def withdrawal_review_list(
    *, user: AbstractBaseUser, season: Season, status: str | None = None
) -> QuerySet[WithdrawalRequest]:
    """The 退档审核 list: a leader's teams' requests, the office's all, with the candidate and caller."""
    qs = withdrawals_for(user=user, season=season).select_related(
        "candidate", "candidate__province", "caller", "caller__team"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("created_at", "id")


def withdrawal_open_for(*, candidate: Candidate) -> WithdrawalRequest | None:
    return candidate.withdrawal_requests.filter(status__in=WithdrawalStatus.open_values()).first()


# --- strike cases -------------------------------------------------------------------------------


def _takeable_q() -> Q:
    return Q(status=StrikeCaseStatus.APPROVED, holder__isnull=True) & (
        ~Q(kind__in=StrikeCaseKind.needs_verification()) | Q(verified_at__isnull=False)
    )


def strike_cases_for(*, user: AbstractBaseUser, season: Season) -> QuerySet[StrikeCase]:
    """Strike cases the user may see: of candidates they may act on, the queue and held cases for
    strike-team members, everything for the office."""
    qs = StrikeCase.objects.filter(season=season)
    if is_office(user):
        return qs
    caller = caller_for(user=user, season=season)
    if caller is None:
        return qs.none()
    condition = Q(candidate__in=actable_candidates(user=user, season=season)) | Q(requested_by=caller)
    if has_role(user, Role.STRIKE):
        condition |= Q(holder=caller) | _takeable_q()
    return qs.filter(condition)


def _with_related(qs: QuerySet[StrikeCase]) -> QuerySet[StrikeCase]:
    return qs.select_related(
        "candidate", "candidate__province", "requested_by", "requested_by__team", "holder"
    )


def strike_queue(*, user: AbstractBaseUser, season: Season) -> QuerySet[StrikeCase]:
    """Cases a strike-team member may take now, oldest first."""
    if not (has_role(user, Role.STRIKE) or is_office(user)):
        return StrikeCase.objects.none()
    qs = StrikeCase.objects.filter(season=season).filter(_takeable_q())
    return _with_related(qs).order_by("created_at", "id")


def strike_cases_held(*, user: AbstractBaseUser, season: Season) -> QuerySet[StrikeCase]:
    """The cases the user holds as a strike-team member (open first, then closed)."""
    caller = caller_for(user=user, season=season)
    if caller is None:
        return StrikeCase.objects.none()
    qs = StrikeCase.objects.filter(season=season, holder=caller)
    return _with_related(qs).order_by("status", "-taken_at", "-id")


def strike_pending_approvals(*, user: AbstractBaseUser, season: Season) -> QuerySet[StrikeCase]:
    """Escalations waiting for the user's decision as leader (all teams for the office)."""
    qs = StrikeCase.objects.filter(season=season, status=StrikeCaseStatus.PENDING)
    if not is_office(user):
        led = led_team_ids(user=user, season=season)
        if not led:
            return StrikeCase.objects.none()
        active = Assignment.objects.filter(active=True, caller__team_id__in=led)
        qs = qs.filter(candidate_id__in=active.values("candidate_id"))
    return _with_related(qs).order_by("created_at", "id")


def strike_cases_overview(*, user: AbstractBaseUser, season: Season) -> QuerySet[StrikeCase]:
    """Every case of the user's teams (leader) or season (office), newest first."""
    if not (is_office(user) or led_team_ids(user=user, season=season)):
        return StrikeCase.objects.none()
    qs = StrikeCase.objects.filter(season=season, candidate__in=actable_candidates(user=user, season=season))
    return _with_related(qs).order_by("-created_at", "-id")


def strike_open_for(*, candidate: Candidate) -> StrikeCase | None:
    return candidate.strike_cases.filter(status__in=StrikeCaseStatus.open_values()).first()


def strike_case_held_by(*, user: AbstractBaseUser, candidate: Candidate) -> bool:
    """The user is the strike-team member working this candidate's case now."""
    caller = caller_for(user=user, season=candidate.season)
    return (
        caller is not None
        and StrikeCase.objects.filter(
            candidate=candidate, holder=caller, status=StrikeCaseStatus.TAKEN
        ).exists()
    )


def strike_held_candidates(*, user: AbstractBaseUser, season: Season) -> QuerySet[Candidate]:
    """Candidates the user works as strike-team holder (to add to what they may see and log)."""
    caller = caller_for(user=user, season=season)
    if caller is None:
        return Candidate.objects.none()
    held = StrikeCase.objects.filter(holder=caller, status=StrikeCaseStatus.TAKEN).values("candidate_id")
    return Candidate.objects.filter(season=season, id__in=held)


def may_log_contact(*, user: AbstractBaseUser, candidate: Candidate) -> bool:
    """Who may log a contact: the assigned caller, or the strike-team member holding the case.

    Escalation does not end the caller's assignment, so both may log while the case is taken.
    """
    return is_assigned_caller(user=user, candidate=candidate) or strike_case_held_by(
        user=user, candidate=candidate
    )


def strike_holder_grant(caller: Caller, candidate: Candidate) -> bool:
    """A grant for `callbacks.selectors.CONTACT_LOG_GRANTS`: the holder of a taken case may log."""
    return StrikeCase.objects.filter(
        candidate=candidate, holder=caller, status=StrikeCaseStatus.TAKEN
    ).exists()


def register_contact_log_grant() -> None:
    """Let strike-team holders log contacts through the workspace's `contact_log` (idempotent)."""
    from callbacks import selectors as workspace

    grants = getattr(workspace, "CONTACT_LOG_GRANTS", None)
    if grants is not None and strike_holder_grant not in grants:
        grants.append(strike_holder_grant)


# --- strike-team subsidy facts ------------------------------------------------------------------


@dataclass(frozen=True)
class StrikeCredit:
    """A student the strike team brought in: the plan's 突击补贴 (70 yuan no_show, 100 after
    registration) is paid per such credit."""

    holder_id: int
    candidate_id: int
    kind: str


def strike_credits(*, season: Season) -> list[StrikeCredit]:
    """Verified `no_show` / `after_registration` cases with a holder whose candidate enrolled.

    One credit per candidate (the most recent such case wins, so a no-show that turned into an
    after-registration case counts once, as after_registration). Cases dismissed by supervision
    never have `verified_at` set and so never count.
    """
    rows = (
        StrikeCase.objects.filter(
            season=season,
            kind__in=StrikeCaseKind.needs_verification(),
            verified_at__isnull=False,
            holder__isnull=False,
            candidate__enrolled_on__isnull=False,
        )
        .exclude(status=StrikeCaseStatus.DISMISSED)
        .order_by("candidate_id", "created_at", "id")
        .values_list("holder_id", "candidate_id", "kind")
    )
    latest: dict[int, StrikeCredit] = {}
    for holder_id, candidate_id, kind in rows:
        latest[candidate_id] = StrikeCredit(holder_id=holder_id, candidate_id=candidate_id, kind=kind)
    return sorted(latest.values(), key=lambda c: (c.holder_id, c.candidate_id))
