"""Tracked jobs: enqueue on commit, progress, the job page and who may see it, Redis down."""

from __future__ import annotations

import logging

import django_rq
import pytest
from django.db import transaction
from django.urls import reverse
from rq.job import Job, JobStatus

from callback_office.jobs import enqueue_tracked, job_url
from callback_office.roles import Role
from tests.factories import UserFactory
from tests.jobs.factories import run_burst
from tests.jobs.tasks import count_rows, crash, reject_amount

pytestmark = pytest.mark.redis


def test_tracked_job_runs_reports_progress_and_offers_download(
    office_user, client, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(count_rows, user=office_user, label="测试导出", total=5)
    job = Job.fetch(job_id, connection=redis_conn)
    assert job.meta["owner_id"] == office_user.pk
    assert job.meta["label"] == "测试导出"
    assert job.timeout == 600  # the queue's explicit DEFAULT_TIMEOUT
    client.force_login(office_user)
    page = client.get(job_url(job_id))
    assert page.status_code == 200
    assert "排队中" in page.content.decode()
    run_burst("default")
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.meta["progress"] == {"done": 5, "total": 5}
    fragment = client.get(job_url(job_id), headers={"HX-Request": "true"}).content.decode()
    assert "100%" in fragment
    assert "已处理 5 / 5 行" in fragment
    assert 'hx-trigger="every 1s"' not in fragment  # polling stops when finished
    assert reverse("job_download", args=[job_id]) in fragment
    download = client.get(reverse("job_download", args=[job_id]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"5 rows\n"


def test_job_is_enqueued_only_when_the_transaction_commits(
    office_user, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            job_id = enqueue_tracked(count_rows, user=office_user, label="x", total=1)
        assert django_rq.get_queue("default").count == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert django_rq.get_queue("default").job_ids == [job_id]


def test_job_page_only_for_owner_and_office(
    caller, outsider, office_user, client, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = enqueue_tracked(count_rows, user=caller.user, label="导出", total=1)
    url = job_url(job_id)
    assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(outsider.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("job_download", args=[job_id])).status_code == 404
    client.force_login(caller.user)
    assert client.get(url).status_code == 200
    client.force_login(office_user)
    assert client.get(url).status_code == 200
    assert client.get(job_url("no-such-job")).status_code == 404


def test_errors_are_shown_in_chinese(office_user, client, redis_conn, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        expected = enqueue_tracked(reject_amount, user=office_user, label="校验")
        unexpected = enqueue_tracked(crash, user=office_user, label="崩溃")
    run_burst("default")
    client.force_login(office_user)
    page = client.get(job_url(expected)).content.decode()
    assert "失败" in page
    assert "金额不能为负数" in page
    page = client.get(job_url(unexpected)).content.decode()
    assert "任务执行出错，请联系管理员查看任务队列中的失败记录。" in page
    assert "KeyError" not in page
    assert reverse("job_download", args=[unexpected]) not in page


def test_redis_down_enqueue_returns_none_and_logs(settings, office_user, caplog):
    closed = "redis://127.0.0.1:1/0"
    settings.RQ_QUEUES = {name: {**cfg, "URL": closed} for name, cfg in settings.RQ_QUEUES.items()}
    with caplog.at_level(logging.ERROR, logger="callback_office.jobs"):
        assert enqueue_tracked(count_rows, user=office_user, label="x", total=1) is None
    assert "enqueue failed" in caplog.text


def test_redis_down_office_sees_message_and_callers_pages_work(settings, office_user, caller, client):
    settings.RQ_QUEUES = {
        name: {**cfg, "URL": "redis://127.0.0.1:1/0"} for name, cfg in settings.RQ_QUEUES.items()
    }
    client.force_login(office_user)
    response = client.post(
        reverse("reports:reconciliation_run_now"), {"season": caller.season.year}, follow=True
    )
    assert "任务队列暂时不可用" in response.content.decode()
    client.force_login(caller.user)
    assert client.get(reverse("reports:discrepancies")).status_code == 200


def test_rq_dashboard_is_office_staff_only(caller, office_user, client):
    client.force_login(caller.user)
    response = client.get("/admin/rq/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    staff_without_office_role = UserFactory(username="c-staff", is_staff=True, roles=[Role.CALLER])
    client.force_login(staff_without_office_role)
    assert client.get("/admin/rq/").status_code == 403
    assert client.get("/admin/rq/queues/0/").status_code == 403
    client.force_login(office_user)
    assert client.get("/admin/rq/").status_code == 200
    assert client.get("/admin/rq/queues/0/").status_code == 200
