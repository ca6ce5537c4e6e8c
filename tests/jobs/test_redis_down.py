"""Redis is a helper, not a dependency (issue 6), and the nightly job is idempotent through a worker.

- Redis down: the RQ queues *and* the cache (Redis, as in production) point at a closed port. A
  caller still opens a candidate, logs a contact (form POST and htmx) and the row is saved; the
  office sees on the reconciliation page that the queue is down, and gets the Chinese message
  when it asks for a run; the dashboards compute directly instead of answering 500.
- Idempotence: the nightly reconciliation enqueued twice and run by a real RQ worker (SimpleWorker,
  burst, real Redis REDIS_URL) — the second run changes nothing and finds the same discrepancies;
  the same lists delivered again and run once more: rows read, none changed, nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging

import django_rq
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from admissions.models import Candidate, Discrepancy, ReconciliationRun, ReconciliationStatus
from callbacks.choices import Intent, Outcome
from callbacks.models import ContactLog
from reports import dashboards
from reports.jobs import nightly_reconciliation
from tests.factories import AssignmentFactory, CandidateFactory
from tests.jobs.factories import run_burst
from tests.jobs.test_reconciliation import cast, drop_lists, state  # noqa: F401 - `cast` is a fixture

CLOSED = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused at once
QUEUE_DOWN = "任务队列（Redis）无法连接"


@pytest.fixture
def redis_down(settings):
    """The production set-up (RQ and the cache on Redis) with Redis unreachable."""
    settings.REDIS_URL = CLOSED
    settings.RQ_QUEUES = {name: {**cfg, "URL": CLOSED} for name, cfg in settings.RQ_QUEUES.items()}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED,
            "KEY_PREFIX": "callback_office",
        }
    }
    settings.DASHBOARD_CACHE_SECONDS = 300
    # the set-up really is broken: the cache itself raises
    with pytest.raises(Exception):  # noqa: B017 - redis-py's ConnectionError
        cache.get("probe")
    return settings


def contact_data() -> dict:
    when = timezone.localtime(timezone.now() - dt.timedelta(minutes=5))
    return {
        "contacted_at": when.strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "outcome": Outcome.CONNECTED,
        "intent": Intent.CONFIRMED,
        "duration_minutes": "6",
        "duration_seconds": "0",
        "notes": "家长确认就读",
        "new_owner_1": "parent",
        "new_owner_2": "other",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_caller_logs_a_contact_while_redis_is_down(redis_down, client, caller, season, htmx, caplog):
    candidate = CandidateFactory(season=season)
    AssignmentFactory(candidate=candidate, caller=caller)
    client.force_login(caller.user)
    assert client.get(reverse("callbacks:my_candidates")).status_code == 200
    page = client.get(reverse("callbacks:candidate_detail", args=[candidate.pk]))
    assert page.status_code == 200
    assert reverse("callbacks:contact_create", args=[candidate.pk]) in page.content.decode()

    headers = {"HX-Request": "true"} if htmx else {}
    with caplog.at_level(logging.WARNING, logger="callback_office.cache"):
        response = client.post(
            reverse("callbacks:contact_create", args=[candidate.pk]), contact_data(), headers=headers
        )
    assert response.status_code == (200 if htmx else 302)
    log = ContactLog.objects.get()
    assert (log.caller, log.candidate, log.duration_seconds) == (caller, candidate, 360)
    candidate.refresh_from_db()
    assert candidate.contact_count == 1
    assert "cache unavailable" in caplog.text  # logged for the administrators, not shown to callers


@pytest.mark.django_db
def test_office_sees_that_the_queue_is_down(redis_down, client, office_user, season):
    client.force_login(office_user)
    page = client.get(reverse("reports:reconciliation") + f"?season={season.year}")
    assert page.status_code == 200
    assert QUEUE_DOWN in page.content.decode()
    response = client.post(reverse("reports:reconciliation_run_now"), {"season": season.year}, follow=True)
    assert "任务队列暂时不可用" in response.content.decode()
    assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
@pytest.mark.redis
def test_no_banner_while_the_queue_is_up(client, office_user, season, redis_conn):
    client.force_login(office_user)
    page = client.get(reverse("reports:reconciliation") + f"?season={season.year}")
    assert QUEUE_DOWN not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("office", "reports:office_dashboard"),
        ("leader", "reports:team_dashboard"),
        ("supervisor", "reports:supervisor_dashboard"),
    ],
)
def test_dashboards_compute_directly_when_the_cache_is_down(
    redis_down, client, role, name, office_user, leader, supervisor, caller, season
):
    CandidateFactory(season=season)
    users = {"office": office_user, "leader": leader.user, "supervisor": supervisor.user}
    client.force_login(users[role])
    response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.django_db
def test_cached_falls_back_to_computing(redis_down):
    calls = []

    def compute():
        calls.append(1)
        return {"answer": 42}

    assert dashboards.cached("probe", compute) == {"answer": 42}
    assert dashboards.cached("probe", compute) == {"answer": 42}
    assert len(calls) == 2  # nothing could be stored: computed each time, never an error


@pytest.mark.django_db
def test_cached_still_caches_when_the_cache_works(settings):
    settings.DASHBOARD_CACHE_SECONDS = 300
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    calls = []

    def compute():
        calls.append(1)
        return [1, 2, 3]

    assert dashboards.cached("probe-ok", compute) == [1, 2, 3]
    assert dashboards.cached("probe-ok", compute) == [1, 2, 3]
    assert len(calls) == 1


# --- idempotence through a real worker ----------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("cast")  # the candidates of test_reconciliation's lists
def test_reconciliation_enqueued_twice_runs_once_in_effect(redis_conn):
    """Committed for real (transaction=True), so the worker's after-commit step moves the read
    files to done/ exactly as in production."""
    drop_lists(2023)
    queue = django_rq.get_queue("nightly", commit_mode="auto")
    first = queue.enqueue(nightly_reconciliation, season_year=2023, job_timeout=600)
    second = queue.enqueue(nightly_reconciliation, season_year=2023, job_timeout=600)
    run_burst("nightly")
    first.refresh()
    second.refresh()
    assert first.is_finished and second.is_finished
    runs = list(ReconciliationRun.objects.order_by("started_at", "id"))
    assert [r.status for r in runs] == [ReconciliationStatus.SUCCEEDED] * 2
    assert runs[0].rows_changed > 0 and runs[0].discrepancies_new > 0
    assert first.return_value()["rows_changed"] == runs[0].rows_changed
    assert second.return_value()["rows_changed"] == 0
    assert (runs[1].rows_changed, runs[1].discrepancies_new) == (0, 0)
    assert runs[1].discrepancies_open == runs[0].discrepancies_open
    after_two = state()
    open_discrepancies = sorted(Discrepancy.objects.filter(resolved=False).values_list("kind", "exam_number"))

    # the same lists delivered again (a province resends them): read again, nothing changes
    drop_lists(2023)
    third = queue.enqueue(nightly_reconciliation, season_year=2023, job_timeout=600)
    run_burst("nightly")
    third.refresh()
    assert third.is_finished
    last = ReconciliationRun.objects.order_by("-started_at", "-id").first()
    assert (last.rows_read, last.rows_changed, last.discrepancies_new) == (10, 0, 0)
    assert state() == after_two
    assert sorted(Discrepancy.objects.filter(resolved=False).values_list("kind", "exam_number")) == (
        open_discrepancies
    )
    assert Candidate.objects.get(exam_number="A001").paid_on == dt.date(2023, 8, 1)
