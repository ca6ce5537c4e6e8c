"""Fixtures for the dashboard tests: a known season, fast password hashing."""

from __future__ import annotations

import pytest

from tests.dashboards.factories import build_season


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def built(db):
    return build_season()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """The office works in Chinese (the English catalogue would translate the menu)."""
    return {**browser_context_args, "locale": "zh-CN"}


@pytest.fixture(autouse=True)
def empty_cache():
    """The office dashboard caches its season-wide counts; every test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
