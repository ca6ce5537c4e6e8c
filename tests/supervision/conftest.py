"""Fixtures for supervision tests: media in a temporary directory, a second supervisor, contacts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import CandidateFactory, ContactFactory
from tests.supervision.factories import SupervisorFactory


@pytest.fixture(autouse=True)
def media_dirs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RECORDING_ARCHIVE_ROOT = tmp_path / "archive"
    # test users are created with passwords; a fast hasher keeps these tests quick
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def other_supervisor(season, other_team):
    """Supervises the other team only."""
    s = SupervisorFactory(season=season, user__username="s2001")
    other_team.supervisors.add(s)
    return s


@pytest.fixture
def second_supervisor(season, team):
    """A second supervisor of the same team (calibration, arbitration)."""
    s = SupervisorFactory(season=season, user__username="s3001")
    team.supervisors.add(s)
    return s


def make_contacts(caller, n, *, outcome="connected", when=None):
    when = when or timezone.now() - dt.timedelta(days=1)
    return [
        ContactFactory(
            caller=caller,
            candidate=CandidateFactory(season=caller.season),
            outcome=outcome,
            contacted_at=when,
        )
        for _ in range(n)
    ]
