from __future__ import annotations

import pytest

from tests.factories import AssignmentFactory, CandidateFactory, ProvinceFactory


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Factories hash every user's password; PBKDF2 makes each user cost ~0.3 s on CI."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sichuan(season):
    """Not withdrawable: the strategy is 劝来."""
    return ProvinceFactory(season=season, province="四川", withdrawable=False)


@pytest.fixture
def henan(season):
    """Withdrawable: the strategy is 劝退."""
    return ProvinceFactory(season=season, province="河南", withdrawable=True)


@pytest.fixture
def mine(caller, sichuan):
    """A candidate assigned to `caller`."""
    return AssignmentFactory(
        caller=caller, candidate=CandidateFactory(season=caller.season, province=sichuan)
    ).candidate


@pytest.fixture
def theirs(outsider, sichuan):
    """A candidate of a caller of another team."""
    return AssignmentFactory(
        caller=outsider, candidate=CandidateFactory(season=outsider.season, province=sichuan)
    ).candidate


@pytest.fixture
def browser_context_args(browser_context_args):
    """The office works in Chinese: the browser asks for zh-CN (LocaleMiddleware follows it)."""
    return {**browser_context_args, "locale": "zh-CN"}
