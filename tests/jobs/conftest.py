"""Fixtures for the jobs tests: a clean Redis db, temporary drop and media folders."""

from __future__ import annotations

import django_rq
import pytest


@pytest.fixture
def redis_conn():
    """The test Redis database (REDIS_URL), emptied before and after the test."""
    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path
