"""Frozen facts of one season, as the engine reads them (built by `subsidies.facts` from the DB)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from subsidies.engine.scheme import JUNIOR, LEVELS, UNDERGRADUATE

STUDENT = "student"
REGULAR_TEAM = "regular"
NO_SHOW = "no_show"
AFTER_REGISTRATION = "after_registration"


@dataclass(frozen=True)
class LevelFacts:
    """One caller's (or team's) candidates of one level.

    assigned: candidates held (final active assignment), withdrawn ones included (回访量);
    admitted: assigned minus completed withdrawals; enrolled: admitted who registered (报到);
    admitted_withdrawable: admitted from provinces that allow withdrawal (for the standards).
    """

    assigned: int = 0
    admitted: int = 0
    enrolled: int = 0
    admitted_withdrawable: int = 0

    def __add__(self, other: LevelFacts) -> LevelFacts:
        return LevelFacts(
            self.assigned + other.assigned,
            self.admitted + other.admitted,
            self.enrolled + other.enrolled,
            self.admitted_withdrawable + other.admitted_withdrawable,
        )

    @cached_property
    def rate(self) -> Fraction | None:
        """报到率 = 报到人数 / 回访录取人数, exactly; None when nobody was admitted."""
        if self.admitted == 0:
            return None
        return Fraction(self.enrolled, self.admitted)


@dataclass(frozen=True)
class CallerFacts:
    id: int
    staff_no: str
    name: str
    team_id: int | None = None
    kind: str = "teacher"
    undergraduate: LevelFacts = field(default_factory=LevelFacts)
    junior: LevelFacts = field(default_factory=LevelFacts)
    prev_undergrad_rate: Decimal | None = None
    prev_junior_rate: Decimal | None = None
    prev_excellent: bool = False
    attended_days: int = 0
    wrong_withdrawal: bool = False

    def level(self, level: str) -> LevelFacts:
        return self.undergraduate if level == UNDERGRADUATE else self.junior

    @cached_property
    def combined(self) -> LevelFacts:
        """本专科一起核算."""
        return self.undergraduate + self.junior


@dataclass(frozen=True)
class TeamFacts:
    id: int
    name: str
    leader_id: int | None = None
    supervisor_ids: tuple[int, ...] = ()
    kind: str = REGULAR_TEAM


@dataclass(frozen=True)
class AuditCount:
    """Audited (scored) sampled call records of one supervisor for one team."""

    supervisor_id: int
    team_id: int
    count: int


@dataclass(frozen=True)
class StrikeCredit:
    holder_id: int
    candidate_id: int
    kind: str


@dataclass(frozen=True)
class Misconduct:
    """A deduction of `percent` (0.20–1.00) of a person's total, recorded by the office."""

    person_id: int
    percent: Decimal
    reason: str


@dataclass(frozen=True)
class AdjustmentFact:
    """An office adjustment carried into this run as a line of its own."""

    id: int
    person_id: int
    amount: Decimal
    reason_code: str
    reason: str
    reason_label: str = ""


@dataclass(frozen=True)
class SeasonFacts:
    year: int
    callers: tuple[CallerFacts, ...] = ()
    teams: tuple[TeamFacts, ...] = ()
    audits: tuple[AuditCount, ...] = ()
    incident_team_ids: frozenset[int] = frozenset()
    strike_credits: tuple[StrikeCredit, ...] = ()
    misconduct: tuple[Misconduct, ...] = ()
    adjustments: tuple[AdjustmentFact, ...] = ()

    @cached_property
    def _members_by_team(self) -> dict[int, list[CallerFacts]]:
        out: dict[int, list[CallerFacts]] = {}
        for c in self.callers:
            if c.team_id is not None:
                out.setdefault(c.team_id, []).append(c)
        return out

    def members(self, team_id: int) -> list[CallerFacts]:
        return self._members_by_team.get(team_id, [])

    def team_level(self, team_id: int, level: str) -> LevelFacts:
        """A team's pooled numbers for a level (leader included, every member's candidates)."""
        total = LevelFacts()
        for c in self.members(team_id):
            total = total + c.level(level)
        return total


__all__ = [
    "AFTER_REGISTRATION",
    "JUNIOR",
    "LEVELS",
    "NO_SHOW",
    "REGULAR_TEAM",
    "STUDENT",
    "UNDERGRADUATE",
    "AdjustmentFact",
    "AuditCount",
    "CallerFacts",
    "LevelFacts",
    "Misconduct",
    "SeasonFacts",
    "StrikeCredit",
    "TeamFacts",
]
