"""Claiming under concurrency: many callers clicking 「领取」 at the same moment never get the same
candidate (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN IMMEDIATE)."""

from __future__ import annotations

import importlib.util
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import OperationalError, close_old_connections, connection
from django.db.utils import ConnectionHandler

from callbacks.models import Assignment
from callbacks.services import assignment_claim
from tests.factories import CallerFactory, CandidateFactory, SeasonFactory, TeamFactory

THREADS = 20
PER_CLAIM = 5


@pytest.mark.django_db(transaction=True)
def test_parallel_claims_never_assign_a_candidate_twice():
    assert connection.vendor == "postgresql", "this proof needs PostgreSQL row locks"
    season = SeasonFactory()
    team = TeamFactory(season=season)
    callers = [CallerFactory(season=season, team=team) for _ in range(THREADS)]
    pool = [CandidateFactory(season=season, in_pool=True) for _ in range(THREADS * PER_CLAIM)]
    barrier = threading.Barrier(THREADS)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def claim(caller):
        try:
            barrier.wait(timeout=30)
            results[caller.pk] = [a.candidate_id for a in assignment_claim(caller=caller, count=PER_CLAIM)]
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=claim, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    claimed = [cid for ids in results.values() for cid in ids]
    assert Counter(claimed).most_common(1)[0][1] == 1  # nobody got a candidate someone else got
    assert sorted(claimed) == sorted(c.pk for c in pool)  # skip-locked still empties the pool
    assert all(len(ids) == PER_CLAIM for ids in results.values())
    in_db = Counter(Assignment.objects.filter(active=True).values_list("candidate_id", flat=True))
    assert len(in_db) == THREADS * PER_CLAIM
    assert max(in_db.values()) == 1


@pytest.mark.sqlite
def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path, monkeypatch, django_db_blocker):
    """The demo's SQLite settings begin every transaction IMMEDIATE: a second claim waits at
    BEGIN for the first to commit (here: fails fast with a short timeout), so the pool read
    inside a claim is never stale."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    settings_file = Path(__file__).resolve().parents[2] / "callback_office" / "settings.py"
    spec = importlib.util.spec_from_file_location("settings_for_sqlite", settings_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = dict(module.DATABASES["default"])
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    config["OPTIONS"] = {**config["OPTIONS"], "timeout": 0.2}
    handler = ConnectionHandler({"default": config, "second": dict(config)})
    first, second = handler["default"], handler["second"]
    with django_db_blocker.unblock():
        try:
            with first.cursor() as cur:
                cur.execute("CREATE TABLE pool (id integer primary key)")
            first.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)  # = atomic()
            with pytest.raises(OperationalError, match="locked"):
                second.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
            first.commit()
            first.set_autocommit(True)
            second.set_autocommit(True)
            second.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)  # free again
            second.commit()
            second.set_autocommit(True)
        finally:
            handler.close_all()
