"""Season facts to and from JSON (a payout run freezes the facts it read)."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any

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


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value


def facts_to_dict(facts: SeasonFacts) -> dict[str, Any]:
    return {
        "year": facts.year,
        "callers": [_plain(asdict(c)) for c in facts.callers],
        "teams": [_plain(asdict(t)) for t in facts.teams],
        "audits": [_plain(asdict(a)) for a in facts.audits],
        "incident_team_ids": sorted(facts.incident_team_ids),
        "strike_credits": [_plain(asdict(s)) for s in facts.strike_credits],
        "misconduct": [_plain(asdict(m)) for m in facts.misconduct],
        "adjustments": [_plain(asdict(a)) for a in facts.adjustments],
    }


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def facts_from_dict(data: dict[str, Any]) -> SeasonFacts:
    callers = tuple(
        CallerFacts(
            **{
                **c,
                "undergraduate": LevelFacts(**c["undergraduate"]),
                "junior": LevelFacts(**c["junior"]),
                "prev_undergrad_rate": _dec(c["prev_undergrad_rate"]),
                "prev_junior_rate": _dec(c["prev_junior_rate"]),
            }
        )
        for c in data["callers"]
    )
    return SeasonFacts(
        year=data["year"],
        callers=callers,
        teams=tuple(TeamFacts(**{**t, "supervisor_ids": tuple(t["supervisor_ids"])}) for t in data["teams"]),
        audits=tuple(AuditCount(**a) for a in data["audits"]),
        incident_team_ids=frozenset(data["incident_team_ids"]),
        strike_credits=tuple(StrikeCredit(**s) for s in data["strike_credits"]),
        misconduct=tuple(Misconduct(**{**m, "percent": Decimal(m["percent"])}) for m in data["misconduct"]),
        adjustments=tuple(
            AdjustmentFact(**{**a, "amount": Decimal(a["amount"])}) for a in data["adjustments"]
        ),
    )
