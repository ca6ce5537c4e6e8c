"""Large seasons compute and export on the queue (real Redis, in-process burst worker)."""

from __future__ import annotations

import django_rq
import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rq import SimpleWorker

from subsidies.models import PayoutRun


@pytest.fixture
def queue(settings, tmp_path):
    settings.SUBSIDY_SYNC_MAX_CALLERS = 0
    settings.MEDIA_ROOT = tmp_path / "media"
    conn = django_rq.get_connection("default")
    conn.flushdb()
    yield settings.MEDIA_ROOT
    conn.flushdb()


def burst():
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)


@pytest.mark.redis
@pytest.mark.django_db
def test_large_season_runs_on_the_queue(
    client, small_season, office_user, queue, django_capture_on_commit_callbacks
):
    client.force_login(office_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("subsidies:run_create"), {"season": 2023})
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    assert not PayoutRun.objects.exists()
    burst()
    run = PayoutRun.objects.get()
    assert run.created_by == office_user
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("subsidies:run_download", args=[run.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    burst()
    (path,) = (queue / "payouts").iterdir()
    assert load_workbook(path).sheetnames[0] == "回访员补贴"
