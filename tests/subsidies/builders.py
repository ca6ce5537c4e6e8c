"""Engine facts built by hand (the engine is pure: no database needed)."""

from __future__ import annotations

from decimal import Decimal

from subsidies.engine import CallerFacts, LevelFacts, SeasonFacts, TeamFacts


def lv(admitted: int, enrolled: int, *, withdrawable: int = 0, assigned: int | None = None) -> LevelFacts:
    return LevelFacts(
        assigned=admitted if assigned is None else assigned,
        admitted=admitted,
        enrolled=enrolled,
        admitted_withdrawable=withdrawable,
    )


def caller(
    pk: int,
    *,
    team: int | None = None,
    ug: LevelFacts | None = None,
    jr: LevelFacts | None = None,
    staff_no: str | None = None,
    **kw,
) -> CallerFacts:
    return CallerFacts(
        id=pk,
        staff_no=staff_no or f"T{pk:04d}",
        name=f"人员{pk}",
        team_id=team,
        undergraduate=ug or LevelFacts(),
        junior=jr or LevelFacts(),
        **kw,
    )


def season(callers, teams=(), **kw) -> SeasonFacts:
    return SeasonFacts(year=2023, callers=tuple(callers), teams=tuple(teams), **kw)


def team(pk: int, *, leader: int | None = None, supervisors=(), name: str | None = None) -> TeamFacts:
    return TeamFacts(id=pk, name=name or f"第{pk}组", leader_id=leader, supervisor_ids=tuple(supervisors))


def amounts(result, person_id: int, rules=None) -> list[tuple[str, Decimal]]:
    return [
        (line.rule, line.amount)
        for line in result.lines_for(person_id)
        if rules is None or line.rule in rules
    ]


D = Decimal
