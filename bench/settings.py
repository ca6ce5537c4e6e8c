"""Bench-only settings: the project's settings plus the floor views' URLconf."""

from callback_office.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
# Persistent connections, as in production (reconnecting per request costs ~7× here).
DATABASES["default"]["CONN_MAX_AGE"] = 600  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}
