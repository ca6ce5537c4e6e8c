"""Casework fixtures: a withdrawable province, candidates assigned to the standard cast, the
strike team, and uploads kept in a temporary MEDIA_ROOT."""

from __future__ import annotations

import pytest

from admissions.choices import CallbackStatus
from callback_office.roles import Role
from callbacks.choices import TeamKind
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, ProvinceFactory, TeamFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The factories hash a password per user; a cheap hasher keeps these tests fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def henan(season):
    """A withdrawable province (劝退)."""
    return ProvinceFactory(season=season, province="河南", withdrawable=True)


@pytest.fixture
def sichuan(season):
    """A province where files cannot be withdrawn (劝来)."""
    return ProvinceFactory(season=season, province="四川", withdrawable=False)


@pytest.fixture
def mine(caller, henan):
    """The caller's hesitant candidate in a withdrawable province."""
    candidate = CandidateFactory(
        season=caller.season,
        province=henan,
        name="李明",
        exam_number="23410101000123",
        status=CallbackStatus.HESITANT,
    )
    AssignmentFactory(caller=caller, candidate=candidate)
    return candidate


@pytest.fixture
def unreachable(caller, sichuan):
    candidate = CandidateFactory(
        season=caller.season, province=sichuan, name="王芳", status=CallbackStatus.UNREACHABLE
    )
    AssignmentFactory(caller=caller, candidate=candidate)
    return candidate


@pytest.fixture
def other_leader(other_team):
    c = CallerFactory(
        season=other_team.season,
        team=other_team,
        user__username="l2001",
        user__roles=[Role.CALLER, Role.LEADER],
    )
    other_team.leader = c
    other_team.save(update_fields=["leader"])
    return c


@pytest.fixture
def strike_team(season):
    return TeamFactory(season=season, name="突击组", kind=TeamKind.STRIKE)


@pytest.fixture
def striker(strike_team):
    return CallerFactory(
        season=strike_team.season,
        team=strike_team,
        is_strike=True,
        user__username="k1001",
        user__roles=[Role.STRIKE],
    )


@pytest.fixture
def striker2(strike_team):
    return CallerFactory(
        season=strike_team.season,
        team=strike_team,
        is_strike=True,
        user__username="k1002",
        user__roles=[Role.STRIKE],
    )
