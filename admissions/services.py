"""Writes on the ground floor: seasons and their province policies."""

from __future__ import annotations

from admissions.models import Season


def season_get_or_create(*, year: int) -> tuple[Season, bool]:
    """A season with the 2023 plan's defaults (targets set, dates left blank)."""
    return Season.objects.get_or_create(year=year)
