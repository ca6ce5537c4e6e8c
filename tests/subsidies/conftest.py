"""A small season: team 第一组 (leader + caller), a supervisor, and an outsider in 第二组."""

from __future__ import annotations

import pytest

from admissions.choices import Level
from tests.subsidies.factories import give_attendance, give_candidates


@pytest.fixture
def small_season(season, team, other_team, leader, caller, outsider, supervisor):
    # leader: 本科 100/100 (6,000), caller: 本科 100/98 (98% → 45 × 98 = 4,410), 专科 10/10 (850)
    give_candidates(leader, admitted=100, enrolled=100)
    give_candidates(caller, admitted=100, enrolled=98, withdrawn=5)
    give_candidates(caller, admitted=10, enrolled=10, level=Level.JUNIOR)
    # outsider (第二组): 本科 50/45 = 90% → nothing
    give_candidates(outsider, admitted=50, enrolled=45)
    give_attendance(caller, 3)
    return season


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Factory users hash "demo-pass-2023"; PBKDF2 costs ~1 s each on a busy 2-core machine."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
