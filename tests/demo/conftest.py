"""One small demo season per test module, generated once (the generator is deterministic)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from callbacks.demo import OFFICE_USERNAME, DemoOptions, demo_season_delete, demo_season_generate

# The demo hashes its one password once; a fast hasher keeps the many test logins quick.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMALL = DemoOptions(candidates=300, callers=20, teams=2, year=2023, seed=42, batch_size=120)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The 2023 demo season (and 2022) with 300 candidates, 20 callers in 2 teams."""
    with django_db_blocker.unblock(), override_settings(DEMO_SEEDERS=[], PASSWORD_HASHERS=FAST_HASHERS):
        summary = demo_season_generate(options=SMALL)
    yield summary
    with django_db_blocker.unblock():
        for year in (SMALL.year, SMALL.year - 1):
            demo_season_delete(year=year)
        User.objects.filter(username=OFFICE_USERNAME).delete()
        Group.objects.all().delete()


@pytest.fixture(autouse=True)
def fast_password_hasher():
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        yield
