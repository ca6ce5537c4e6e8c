"""Demo seeders used by the tests of the DEMO_SEEDERS hook: they record how they were called."""

from __future__ import annotations

CALLS: list[dict] = []


def record(*, season, rng) -> None:
    CALLS.append({"how": "function", "year": season.year, "draw": rng.random()})


def seed(*, season, rng) -> None:
    """Found by module path (`tests.demo.seeders`)."""
    CALLS.append({"how": "module", "year": season.year, "draw": rng.random()})
