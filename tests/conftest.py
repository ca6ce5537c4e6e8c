"""Shared fixtures: the standard cast of users for role tests, and the browser set-up."""

from __future__ import annotations

import os

import pytest

from callback_office.roles import Role
from tests.factories import CallerFactory, SeasonFactory, TeamFactory, UserFactory

# Django's live server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Factory users hash a password each; the slow default hasher would dominate the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _office_language():
    """Every test starts in the office's language (zh-hans): a test that activates English for
    the thread (services called outside a request) must not leak it into the next one."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def season(db):
    return SeasonFactory()


@pytest.fixture
def team(season):
    return TeamFactory(season=season, name="第一组")


@pytest.fixture
def other_team(season):
    return TeamFactory(season=season, name="第二组")


@pytest.fixture
def caller(team):
    return CallerFactory(season=team.season, team=team, user__username="c1001", user__first_name="张老师")


@pytest.fixture
def leader(team):
    c = CallerFactory(
        season=team.season, team=team, user__username="l1001", user__roles=[Role.CALLER, Role.LEADER]
    )
    team.leader = c
    team.save(update_fields=["leader"])
    return c


@pytest.fixture
def outsider(other_team):
    """A caller of another team."""
    return CallerFactory(season=other_team.season, team=other_team, user__username="c2001")


@pytest.fixture
def supervisor(season, team):
    c = CallerFactory(
        season=season, team=None, is_supervisor=True, user__username="s1001", user__roles=[Role.SUPERVISOR]
    )
    team.supervisors.add(c)
    return c


@pytest.fixture
def office_user(db):
    return UserFactory(username="office", roles=[Role.OFFICE], is_staff=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The office works in Chinese: the browser asks for zh-CN (LocaleMiddleware follows it)."""
    return {**browser_context_args, "locale": "zh-CN"}
