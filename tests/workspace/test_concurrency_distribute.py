"""The office distributing the pool (分配) while callers are clicking 「领取」 at the same moment:
row locks (FOR UPDATE SKIP LOCKED) make each candidate go to exactly one of them, and the pool
ends empty with nobody's work lost."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from admissions.models import Candidate
from callbacks.models import Assignment
from callbacks.services import assignment_claim, assignment_distribute
from tests.factories import CallerFactory, CandidateFactory, SeasonFactory, TeamFactory

CLAIMERS = 10
PER_CLAIM = 5
POOL = 400


@pytest.mark.django_db(transaction=True)
def test_distribution_and_claims_at_once_give_each_candidate_to_exactly_one_caller():
    assert connection.vendor == "postgresql", "this proof needs PostgreSQL row locks"
    season = SeasonFactory()
    team = TeamFactory(season=season)
    callers = [CallerFactory(season=season, team=team) for _ in range(CLAIMERS)]
    CandidateFactory.create_batch(POOL, season=season, in_pool=True)
    barrier = threading.Barrier(CLAIMERS + 1)
    claimed: dict[int, list[int]] = {}
    distributed: dict[int, int] = {}
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    def claim(caller):
        claimed[caller.pk] = [a.candidate_id for a in assignment_claim(caller=caller, count=PER_CLAIM)]

    def distribute():
        distributed.update(assignment_distribute(season=season))

    threads = [threading.Thread(target=run, args=(lambda c=c: claim(c),)) for c in callers]
    threads.append(threading.Thread(target=run, args=(distribute,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    active = Counter(Assignment.objects.filter(active=True).values_list("candidate_id", flat=True))
    assert len(active) == POOL  # the whole pool went out ...
    assert max(active.values()) == 1  # ... each candidate to one caller only
    assert not Candidate.objects.filter(season=season, in_pool=True).exists()
    # what each side was told it got is what the database holds
    by_caller = Counter(Assignment.objects.filter(active=True).values_list("caller_id", flat=True))
    for caller in callers:
        assert by_caller[caller.pk] == len(claimed[caller.pk]) + distributed.get(caller.pk, 0)
    assert sum(len(ids) for ids in claimed.values()) + sum(distributed.values()) == POOL
