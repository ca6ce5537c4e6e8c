"""A worker SIGKILLed in the middle of the nightly reconciliation loses nothing: no half-applied
batch is left, and running the job again reaches the state of an uninterrupted run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import django_rq
import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection, transaction
from rq.job import Job

from admissions.choices import CallbackStatus
from admissions.models import Candidate, ReconciliationRun, ReconciliationStatus
from admissions.reconciliation import drop_dir, reconcile
from reports.jobs import nightly_reconciliation
from tests.factories import CandidateFactory
from tests.jobs.factories import drop_payments, drop_registrations
from tests.jobs.test_reconciliation import state

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
ROOT = Path(settings.BASE_DIR)


def start_worker(pause: float) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.jobs.worker_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.RQ_QUEUES["nightly"]["URL"],
        "IMPORT_DROP_DIR": str(settings.IMPORT_DROP_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "RECONCILIATION_BATCH_PAUSE": str(pause),
    }
    return subprocess.Popen(
        # SimpleWorker runs the job in the worker process itself (the forking worker's work horse
        # calls setsid(), so killing the worker's process group would not reach it).
        [
            sys.executable,
            "manage.py",
            "rqworker",
            "nightly",
            "--burst",
            "--worker-class",
            "rq.worker.SimpleWorker",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def enqueue() -> Job:
    return django_rq.get_queue("nightly", commit_mode="auto").enqueue(
        nightly_reconciliation, season_year=2023, job_timeout=600
    )


def other_backends() -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cur.fetchone()[0]


def candidate_entries() -> list[str]:
    entries = LogEntry.objects.get_for_model(Candidate).filter(action=LogEntry.Action.UPDATE)
    return sorted(entries.values_list("object_repr", flat=True))


def test_killed_worker_leaves_no_half_applied_batch(season, redis_conn):
    for i in range(30):
        CandidateFactory(
            season=season,
            exam_number=f"K{i:03d}",
            status=CallbackStatus.WITHDRAWN if i == 7 else CallbackStatus.UNCONTACTED,
        )
    drop_payments(
        2023, "pay.xlsx", [(f"K{i:03d}", dt.date(2023, 8, 1 + i % 20), Decimal("5000")) for i in range(30)]
    )
    drop_registrations(2023, "reg.xlsx", [(f"K{i:03d}", dt.date(2023, 9, 8)) for i in range(10)])
    initial = state()

    # what an uninterrupted run produces (computed and rolled back)
    with transaction.atomic():
        reconcile(season_year=2023)
        expected = state()
        transaction.set_rollback(True)
    assert state() == initial
    assert expected != initial

    job = enqueue()
    worker = start_worker(pause=0.4)
    deadline = time.monotonic() + 90
    done = 0
    while time.monotonic() < deadline:
        job.refresh()
        done = (job.meta.get("progress") or {}).get("done", 0)
        if done >= 10:
            break
        assert worker.poll() is None, worker.stderr.read().decode()
        time.sleep(0.05)
    assert 10 <= done < 40, f"killed at {done} rows"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)

    deadline = time.monotonic() + 20
    while other_backends() and time.monotonic() < deadline:
        time.sleep(0.1)
    # nothing of the batches committed so far is visible, the files wait for the re-run
    assert state() == initial
    assert candidate_entries() == []  # the audit entries went with the rolled-back batches
    assert (drop_dir(2023, "payments") / "pay.xlsx").exists()
    assert ReconciliationRun.objects.get().status == ReconciliationStatus.RUNNING

    job = enqueue()
    worker = start_worker(pause=0)
    assert worker.wait(timeout=120) == 0, worker.stderr.read().decode()
    job.refresh()
    assert job.get_status() == "finished"
    assert state() == expected
    # one audit entry per changed candidate, none left over from the killed run
    changed = sorted({c[0] for c in set(expected["candidates"]) - set(initial["candidates"])})
    assert len(changed) == 30
    assert candidate_entries() == changed
    runs = list(ReconciliationRun.objects.order_by("started_at").values_list("status", flat=True))
    assert runs == [ReconciliationStatus.FAILED, ReconciliationStatus.SUCCEEDED]
    assert not (drop_dir(2023, "payments") / "pay.xlsx").exists()
    assert (drop_dir(2023, "payments") / "done" / "pay.xlsx").exists()
