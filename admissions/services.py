"""Writes on the ground floor: seasons and their province policies."""

from __future__ import annotations

from admissions.models import Candidate, PiiAccessLog, Season


def season_get_or_create(*, year: int) -> tuple[Season, bool]:
    """A season with the 2023 plan's defaults (targets set, dates left blank)."""
    return Season.objects.get_or_create(year=year)


def pii_access_record(*, user, candidate: Candidate, field: str, path: str = "") -> PiiAccessLog:
    """Log that `user` was shown the full `field` (PiiField) of `candidate` (one INSERT)."""
    return PiiAccessLog.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        candidate=candidate,
        field=field,
        path=path[:255],
    )
