"""The office dashboard reads its season-wide numbers from the latest snapshot rows (season,
province and team scopes) instead of aggregating every candidate in the request; the snapshot is
taken in the request only when there is none, refreshed in the background once older than
DASHBOARD_CACHE_SECONDS, and 立即刷新 takes it as a tracked job."""

from __future__ import annotations

import datetime as dt
import re

import django_rq
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rq import SimpleWorker

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callback_office.roles import Role
from reports import dashboards
from reports.models import ALL_LEVELS, ProgressSnapshot, Scope
from tests.dashboards.factories import build_season, team_candidates
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_conn():
    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield conn
    conn.flushdb()


def run_burst() -> None:
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


def is_withdrawn(c: Candidate) -> bool:
    return c.status == CallbackStatus.WITHDRAWN or c.withdrawn_on is not None


def test_no_pass_over_the_candidates_in_the_request(db):
    built = build_season()  # with last season (and its snapshot)
    with CaptureQueriesContext(connection) as ctx:
        data = dashboards.office_dashboard(season=built.season)
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not [s for s in sqls if 'FROM "admissions_candidate"' in s or 'FROM "callbacks_assignment"' in s]
    # this season's rows (one query) and last season's funnel (its last snapshot)
    assert sum('FROM "reports_progresssnapshot"' in s for s in sqls) == 2
    assert data.funnel.filed == Candidate.objects.filter(season=built.season).count() == 22
    teams = {row[0]: row for row in next(t for t in data.tables if t.key == "teams").rows}
    for team in built.teams:
        tc = list(team_candidates(team))
        assert teams[team.name][2] == sum(1 for c in tc if c.contact_count > 0)  # contacted


def test_numbers_are_the_snapshots_until_it_is_retaken(built):
    season = built.season
    first = dashboards.office_dashboard(season=season)
    assert (
        first.as_of
        == ProgressSnapshot.objects.get(day=dt.date(2023, 8, 19), scope=Scope.SEASON, level="all").created_at
    )
    Candidate.objects.filter(season=season, status=CallbackStatus.UNCONTACTED).update(
        status=CallbackStatus.CONFIRMED
    )
    assert dashboards.office_dashboard(season=season).funnel.confirmed == first.funnel.confirmed
    fresh = dashboards.office_dashboard(season=season, refresh=True)
    assert fresh.funnel.confirmed == first.funnel.confirmed + 3
    today = ProgressSnapshot.objects.get(
        season=season, day=timezone.localdate(), scope=Scope.SEASON, scope_id=0, level=ALL_LEVELS
    )
    assert today.confirmed == fresh.funnel.confirmed and fresh.as_of == today.created_at


def test_without_a_snapshot_the_request_takes_one(built):
    season = built.season
    ProgressSnapshot.objects.filter(season=season).delete()
    data = dashboards.office_dashboard(season=season)
    all_c = list(Candidate.objects.filter(season=season).select_related("province"))
    admitted = [c for c in all_c if not is_withdrawn(c)]
    assert (data.funnel.filed, data.funnel.paid, data.funnel.enrolled) == (
        len(all_c),
        sum(1 for c in admitted if c.paid_on),
        sum(1 for c in admitted if c.enrolled_on),
    )
    assert ProgressSnapshot.objects.filter(
        season=season, day=timezone.localdate(), scope=Scope.PROVINCE
    ).exists()


def test_snapshots_of_before_the_funnel_fields_count_as_none(built):
    """Rows written before reached/confirmed/contacted were recorded are not read as zeros."""
    season = built.season
    ProgressSnapshot.objects.filter(season=season).update(reached=None, confirmed=None, contacted=None)
    data = dashboards.office_dashboard(season=season, today=dt.date(2023, 8, 20))
    assert data.funnel.reached == 15 and data.funnel.confirmed == 7


@pytest.mark.redis
def test_stale_numbers_are_refreshed_in_the_background_once(
    built, redis_conn, django_capture_on_commit_callbacks
):
    season = built.season
    ProgressSnapshot.objects.filter(season=season).update(
        created_at=timezone.now() - dt.timedelta(minutes=10)
    )
    Candidate.objects.filter(season=season, status=CallbackStatus.UNCONTACTED).update(
        status=CallbackStatus.CONFIRMED
    )
    with django_capture_on_commit_callbacks(execute=True):
        stale = dashboards.office_dashboard(season=season)
        dashboards.office_dashboard(season=season)  # still stale: not enqueued again
    queue = django_rq.get_queue("default")
    assert queue.count == 1
    assert queue.jobs[0].func_name == "reports.jobs.snapshots"
    run_burst()
    fresh = dashboards.office_dashboard(season=season)
    assert fresh.funnel.confirmed == stale.funnel.confirmed + 3
    assert fresh.as_of > stale.as_of


@pytest.mark.redis
def test_refresh_link_takes_the_snapshot_as_a_job(
    built, client, redis_conn, django_capture_on_commit_callbacks
):
    office = UserFactory(username="office", roles=[Role.OFFICE])
    client.force_login(office)
    url = reverse("reports:office_dashboard")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url + "?season=2023&refresh=1")
    assert response.status_code == 302
    job_id = re.search(r"/jobs/([0-9a-f]{32})/", response["Location"]).group(1)
    assert not ProgressSnapshot.objects.filter(season=built.season, day=timezone.localdate()).exists()
    run_burst()
    assert ProgressSnapshot.objects.filter(
        season=built.season, day=timezone.localdate(), scope=Scope.TEAM, scope_id=built.teams[0].id
    ).exists()
    page = client.get(reverse("job_page", args=[job_id])).content.decode()
    assert "100%" in page and url + "?season=2023" in page
    response = client.get(url + "?season=2023")
    assert response.status_code == 200
    assert timezone.localtime(response.context["data"].as_of).date() == timezone.localdate()


def test_last_seasons_funnel_is_its_last_snapshot(built):
    prev = built.previous
    Candidate.objects.filter(season=prev, status=CallbackStatus.UNCONTACTED).update(
        status=CallbackStatus.CONFIRMED
    )
    data = dashboards.office_dashboard(season=built.season)
    last = ProgressSnapshot.objects.filter(season=prev, scope=Scope.SEASON, level=ALL_LEVELS).latest("day")
    assert (data.previous_funnel.filed, data.previous_funnel.confirmed) == (last.candidates, last.confirmed)
    assert (
        data.previous_funnel.confirmed
        == Candidate.objects.filter(season=prev, status=CallbackStatus.CONFIRMED).count() - 1
    )


def test_last_season_without_snapshots_is_counted(built):
    prev = built.previous
    ProgressSnapshot.objects.filter(season=prev).delete()
    data = dashboards.office_dashboard(season=built.season)
    pc = list(Candidate.objects.filter(season=prev))
    admitted = [c for c in pc if not is_withdrawn(c)]
    f = data.previous_funnel
    assert (f.filed, f.reached, f.confirmed, f.paid, f.enrolled) == (
        len(pc),
        sum(1 for c in pc if c.status not in (CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE)),
        sum(1 for c in pc if c.status == CallbackStatus.CONFIRMED),
        sum(1 for c in admitted if c.paid_on),
        sum(1 for c in admitted if c.enrolled_on),
    )
