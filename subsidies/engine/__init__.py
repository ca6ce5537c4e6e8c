"""The subsidy rules engine: pure Python over exact numbers — no Django, no database, no clock.

`compute(facts, scheme)` turns a season's frozen facts and its scheme into explained lines.
"""

from subsidies.engine.compute import Result, compute
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
from subsidies.engine.ledger import CATEGORIES, RULES, Line
from subsidies.engine.scheme import JUNIOR, LEVELS, UNDERGRADUATE, Scheme, SchemeError

__all__ = [
    "CATEGORIES",
    "JUNIOR",
    "LEVELS",
    "RULES",
    "UNDERGRADUATE",
    "AdjustmentFact",
    "AuditCount",
    "CallerFacts",
    "LevelFacts",
    "Line",
    "Misconduct",
    "Result",
    "Scheme",
    "SchemeError",
    "SeasonFacts",
    "StrikeCredit",
    "TeamFacts",
    "compute",
]
