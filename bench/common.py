"""Shared bits of the benchmark scripts: scales, database names, Django set-up."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5439")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6389/11")
PASSWORD = "bench-password-2026"
SEASON_YEAR = 2026


@dataclass(frozen=True)
class Scale:
    name: str
    candidates: int  # assigned candidates (each caller gets candidates / callers)
    callers: int
    contacts: int  # about; the generator gives each assigned candidate 2–10 contacts (mean 6)
    pool: int  # extra unassigned candidates in the pool for the claim benchmark


SCALES = {
    "tiny": Scale("tiny", 1_000, 10, 6_000, 500),
    "office": Scale("office", 10_000, 100, 60_000, 5_000),
    "platform": Scale("platform", 1_000_000, 10_000, 6_000_000, 50_000),
}


def db_name(scale: str) -> str:
    return f"bench_{scale}"


def db_url(scale: str) -> str:
    return f"{PG}/{db_name(scale)}"


def setup_django(scale: str, settings: str = "bench.settings") -> None:
    """Point Django at the bench database (production-like settings) and set it up."""
    os.environ["DATABASE_URL"] = db_url(scale)
    os.environ.setdefault("REDIS_URL", REDIS_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("PRODUCTION", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
