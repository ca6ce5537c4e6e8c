"""A team's pooled numbers: Σ enrolled / Σ admitted over all members, standards weighted."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from subsidies.engine.facts import LevelFacts, SeasonFacts, TeamFacts
from subsidies.engine.scheme import LEVELS, Scheme
from subsidies.engine.tiers import LevelStandards, standards_for


@dataclass(frozen=True)
class TeamPool:
    team: TeamFacts
    levels: dict[str, LevelFacts]
    standards: dict[str, LevelStandards]  # only levels present (admitted > 0)
    wrong_withdrawal_ids: tuple[int, ...]

    @property
    def present(self) -> list[str]:
        return [lv for lv in LEVELS if self.levels[lv].admitted > 0]

    @property
    def combined(self) -> LevelFacts:
        return self.levels[LEVELS[0]] + self.levels[LEVELS[1]]

    def rate(self, level: str) -> Fraction | None:
        return self.levels[level].rate

    def all_at_least(self, which: str) -> bool:
        """Every level present has a pooled rate ≥ its basic/target standard (False if none)."""
        present = self.present
        return bool(present) and all(
            self.levels[lv].rate >= getattr(self.standards[lv], which) for lv in present
        )

    def all_above_target(self) -> bool:
        present = self.present
        return bool(present) and all(
            self.levels[lv].rate > self.standards[lv].target  # type: ignore[operator]
            for lv in present
        )


def team_pool(facts: SeasonFacts, team: TeamFacts, scheme: Scheme) -> TeamPool:
    levels = {lv: facts.team_level(team.id, lv) for lv in LEVELS}
    standards = {}
    for lv in LEVELS:
        std = standards_for(levels[lv], lv, scheme)
        if std is not None:
            standards[lv] = std
    ww = tuple(c.id for c in facts.members(team.id) if c.wrong_withdrawal)
    return TeamPool(team, levels, standards, ww)
