"""Fixtures of the security tests: the world (one season seen by eight roles), temporary media."""

from __future__ import annotations

import pytest

from tests.security.world import World, build_world


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def redis_db():
    """The test Redis database (REDIS_URL), emptied before and after the test."""
    import django_rq

    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield conn
    conn.flushdb()
