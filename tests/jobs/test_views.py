"""Office reconciliation page, discrepancy lists per role, run now, upload, run_job command."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from rq.job import Job

from admissions.choices import CallbackStatus
from admissions.models import Candidate, Discrepancy, DiscrepancyKind, ReconciliationRun
from admissions.reconciliation import drop_dir
from reports.models import ProgressSnapshot
from reports.selectors import discrepancies_for
from tests.factories import AssignmentFactory, CandidateFactory
from tests.jobs.factories import drop_payments, run_burst, write_xlsx


@pytest.fixture
def found(season, caller, leader, outsider):
    """One discrepancy each for the caller's, the outsider's and nobody's candidate."""
    mine = CandidateFactory(
        season=season, exam_number="M1", status=CallbackStatus.WITHDRAWN, paid_on=dt.date(2023, 8, 1)
    )
    theirs = CandidateFactory(season=season, exam_number="T1", enrolled_on=dt.date(2023, 9, 8))
    AssignmentFactory(candidate=mine, caller=caller)
    AssignmentFactory(candidate=theirs, caller=outsider)
    kind = DiscrepancyKind
    return {
        "mine": Discrepancy.objects.create(
            season=season,
            kind=kind.PAID_BUT_WITHDRAWN,
            exam_number="M1",
            candidate=mine,
            details="已退档，但已缴费",
        ),
        "theirs": Discrepancy.objects.create(
            season=season,
            kind=kind.REGISTERED_NEVER_CONTACTED,
            exam_number="T1",
            candidate=theirs,
            details="从未回访",
        ),
        "unknown": Discrepancy.objects.create(season=season, kind=kind.UNKNOWN_EXAM_NUMBER, exam_number="X9"),
    }


def test_discrepancies_scoped_like_candidates(season, caller, leader, outsider, office_user, found):
    assert set(discrepancies_for(user=caller.user, season=season)) == {found["mine"]}
    assert set(discrepancies_for(user=leader.user, season=season)) == {found["mine"]}
    assert set(discrepancies_for(user=outsider.user, season=season)) == {found["theirs"]}
    assert set(discrepancies_for(user=office_user, season=season)) == set(found.values())
    mine = discrepancies_for(user=caller.user, season=season).get()
    assert (mine.caller_name, mine.team_name, mine.leader_name) == (caller.name, "第一组", leader.name)


def test_discrepancy_list_pages(
    season, caller, leader, outsider, found, client, django_assert_max_num_queries
):
    client.force_login(caller.user)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("reports:discrepancies")).content.decode()
    assert "M1" in page and "T1" not in page and "X9" not in page
    assert leader.name in page  # the responsible leader is shown
    client.force_login(outsider.user)
    assert client.post(reverse("reports:discrepancy_resolve", args=[found["mine"].pk])).status_code == 404
    client.force_login(leader.user)
    assert client.post(reverse("reports:discrepancy_resolve", args=[found["mine"].pk])).status_code == 302
    found["mine"].refresh_from_db()
    assert found["mine"].resolved is True and found["mine"].resolved_by == leader.user
    assert "M1" not in client.get(reverse("reports:discrepancies")).content.decode()
    assert "M1" in client.get(reverse("reports:discrepancies") + "?resolved=1").content.decode()


def test_reconciliation_page_is_office_only(season, caller, leader, office_user, found, client):
    for user in (caller.user, leader.user):
        client.force_login(user)
        assert client.get(reverse("reports:reconciliation")).status_code == 403
        assert client.post(reverse("reports:reconciliation_run_now")).status_code == 403
    client.force_login(office_user)
    page = client.get(reverse("reports:reconciliation")).content.decode()
    assert "未处理差异（3）" in page
    assert "X9" in page


def test_nav_items(caller, leader, office_user, client):
    client.force_login(caller.user)
    nav = client.get(reverse("home")).context["nav_items"]
    labels = {str(i["label"]) for i in nav}
    assert "差异" in labels and "周报" not in labels and "对账" not in labels
    client.force_login(leader.user)
    labels = {str(i["label"]) for i in client.get(reverse("home")).context["nav_items"]}
    assert {"差异", "周报"} <= labels and "对账" not in labels
    client.force_login(office_user)
    labels = {str(i["label"]) for i in client.get(reverse("home")).context["nav_items"]}
    assert {"对账", "周报"} <= labels


@pytest.mark.redis
def test_office_runs_reconciliation_now_and_sees_the_run(
    season, caller, office_user, client, redis_conn, django_capture_on_commit_callbacks
):
    cand = CandidateFactory(season=season, exam_number="N1")
    drop_payments(2023, "p.xlsx", [("N1", dt.date(2023, 8, 1), Decimal("4800"))])
    client.force_login(office_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:reconciliation_run_now"), {"season": "2023"})
    job_id = re.search(r"/jobs/([0-9a-f]{32})/", response["Location"]).group(1)
    job = Job.fetch(job_id, connection=redis_conn)
    assert job.origin == "nightly" and job.retries_left == 3 and job.timeout == 3600
    run_burst("nightly")
    cand.refresh_from_db()
    assert cand.payment_amount == Decimal("4800.00")
    run = ReconciliationRun.objects.get()
    assert run.trigger == "office"
    page = client.get(reverse("job_page", args=[job_id])).content.decode()
    assert "100%" in page and reverse("reports:reconciliation_run", args=[run.pk]) in page
    page = client.get(reverse("reports:reconciliation_run", args=[run.pk])).content.decode()
    assert '<dd class="rows-read">1</dd>' in page and '<dd class="rows-changed">2</dd>' in page


def test_upload_lands_in_the_drop_folder(season, office_user, caller, client, tmp_path):
    path = write_xlsx(tmp_path / "u.xlsx", ["考生号", "报到日期"], [["A1", dt.date(2023, 9, 8)]])
    client.force_login(office_user)
    upload = SimpleUploadedFile("报到.xlsx", path.read_bytes())
    client.post(
        reverse("reports:reconciliation_upload"), {"season": "2023", "kind": "registrations", "file": upload}
    )
    assert len(list(drop_dir(2023, "registrations").glob("*.xlsx"))) == 1
    bad = SimpleUploadedFile("x.csv", b"a,b")
    response = client.post(
        reverse("reports:reconciliation_upload"),
        {"season": "2023", "kind": "registrations", "file": bad},
        follow=True,
    )
    assert "只接受" in response.content.decode()
    client.force_login(caller.user)
    upload = SimpleUploadedFile("报到.xlsx", path.read_bytes())
    response = client.post(
        reverse("reports:reconciliation_upload"), {"kind": "registrations", "file": upload}
    )
    assert response.status_code == 403


def test_run_job_command_reconciles_and_snapshots(season, caller, django_capture_on_commit_callbacks):
    cand = CandidateFactory(season=season, exam_number="R1")
    AssignmentFactory(candidate=cand, caller=caller)
    drop_payments(2023, "p.xlsx", [("R1", dt.date(2023, 8, 1), Decimal("5000"))])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_job", "nightly_reconciliation", "--season", "2023")
    assert Candidate.objects.get(pk=cand.pk).paid_on == dt.date(2023, 8, 1)
    assert ReconciliationRun.objects.get().trigger == "command"
    assert ProgressSnapshot.objects.filter(scope="caller", scope_id=caller.pk, level="all").get().paid == 1
    call_command("run_job", "snapshots", "--season", "2023", "--day", "2023-08-20")
    assert ProgressSnapshot.objects.filter(day=dt.date(2023, 8, 20), scope="season").count() == 2  # ug + all
