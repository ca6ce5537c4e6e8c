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


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _level(f: LevelFacts) -> dict[str, int]:
    return {
        "assigned": f.assigned,
        "admitted": f.admitted,
        "enrolled": f.enrolled,
        "admitted_withdrawable": f.admitted_withdrawable,
    }


def facts_to_dict(facts: SeasonFacts) -> dict[str, Any]:
    """Plain JSON (written by hand rather than `asdict`: 10,000 callers in well under a second)."""
    return {
        "year": facts.year,
        "callers": [
            {
                "id": c.id,
                "staff_no": c.staff_no,
                "name": c.name,
                "team_id": c.team_id,
                "kind": c.kind,
                "undergraduate": _level(c.undergraduate),
                "junior": _level(c.junior),
                "prev_undergrad_rate": _str(c.prev_undergrad_rate),
                "prev_junior_rate": _str(c.prev_junior_rate),
                "prev_excellent": c.prev_excellent,
                "attended_days": c.attended_days,
                "wrong_withdrawal": c.wrong_withdrawal,
            }
            for c in facts.callers
        ],
        "teams": [
            {
                "id": t.id,
                "name": t.name,
                "leader_id": t.leader_id,
                "supervisor_ids": list(t.supervisor_ids),
                "kind": t.kind,
            }
            for t in facts.teams
        ],
        "audits": [asdict(a) for a in facts.audits],
        "incident_team_ids": sorted(facts.incident_team_ids),
        "strike_credits": [asdict(s) for s in facts.strike_credits],
        "misconduct": [
            {"person_id": m.person_id, "percent": str(m.percent), "reason": m.reason}
            for m in facts.misconduct
        ],
        "adjustments": [{**asdict(a), "amount": str(a.amount)} for a in facts.adjustments],
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
