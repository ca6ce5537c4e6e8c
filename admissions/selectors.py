from __future__ import annotations

from admissions.models import Season


def season_current() -> Season | None:
    """The season the office works in now: the latest year."""
    return Season.objects.order_by("-year").first()
