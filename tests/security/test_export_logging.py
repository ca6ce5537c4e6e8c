"""Every download of personal data leaves exactly one ExportLog row naming who exported what.

Each export the site offers is downloaded once (as the office, and for the ledgers also as the
caller and the leader who may download them), then the log must hold one new row for that user
and that kind of export, with the number of rows and the filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from reports.models import ExportLog

pytestmark = pytest.mark.django_db

# (role, method, url name, kwargs builder, query, what logged, personal data)
EXPORTS = [
    (
        "office",
        "get",
        "imports:export",
        lambda w: {"kind": "candidates"},
        "?season=2023",
        "投档考生名单",
        True,
    ),
    ("office", "get", "casework:withdrawal_export", None, "", "退档名单", True),
    (
        "office",
        "get",
        "callbacks:ledger_caller",
        lambda w: {"caller_id": w.callers["caller"].pk},
        "?format=xlsx",
        "回访台账",
        True,
    ),
    ("caller", "get", "callbacks:ledger", None, "?format=xlsx", "回访台账", True),
    (
        "leader",
        "get",
        "callbacks:ledger_caller",
        lambda w: {"caller_id": w.callers["caller"].pk},
        "?format=xlsx",
        "回访台账",
        True,
    ),
    ("office", "get", "supervision:ledger", None, "?format=xlsx", "督查工作台账", True),
    (
        "office",
        "get",
        "subsidies:run_download",
        lambda w: {"pk": w.objects["run"].pk},
        "",
        "补贴发放表",
        True,
    ),
    (
        "office",
        "get",
        "reports:weekly_download",
        lambda w: {"pk": w.objects["weekly"].pk},
        "",
        "小组周报",
        True,
    ),
    ("office", "post", "accounts:password_links_all", None, "", "设置密码链接", True),
    (
        "office",
        "get",
        "reports:province_report",
        None,
        "?format=xlsx&lists=noshow",
        "省份报表：各省录取未报到",
        True,
    ),
    ("office", "get", "reports:drilldown", None, "?format=xlsx", None, True),
    ("office", "get", "reports:office_dashboard", None, "?format=xlsx", None, False),
]


@pytest.mark.parametrize(
    ("role", "method", "name", "kwargs", "query", "what", "personal"),
    EXPORTS,
    ids=[f"{e[2]}-{e[0]}" for e in EXPORTS],
)
def test_each_export_logs_who_and_what(world, client, role, method, name, kwargs, query, what, personal):
    user = world.users[role]
    client.force_login(user)
    before = ExportLog.objects.count()
    url = reverse(name, kwargs=kwargs(world) if kwargs else None) + query
    response = client.post(url) if method == "post" else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert data[:2] == b"PK"  # an xlsx (a zip archive)

    assert ExportLog.objects.count() == before + 1
    log = ExportLog.objects.get()
    assert log.user == user
    assert log.season == world.season
    assert log.personal_data is personal
    if what is not None:
        assert log.what == what
    else:  # the dashboards name the export after the page
        assert log.what


def test_the_logged_rows_and_filters_describe_the_file(world, client):
    client.force_login(world.users["office"])
    client.get(reverse("casework:withdrawal_export") + "?status=collecting")
    client.get(reverse("callbacks:ledger_caller", args=[world.callers["caller"].pk]) + "?format=xlsx")
    client.get(reverse("imports:export", args=["candidates"]) + "?season=2023")
    withdrawals, ledger, candidates = ExportLog.objects.order_by("id")
    assert withdrawals.filters == {"status": "collecting"}
    assert (
        withdrawals.row_count
        == world.objects["withdrawal"].__class__.objects.filter(status="collecting").count()
    )
    assert ledger.filters == {"caller": world.callers["caller"].staff_no}
    assert ledger.row_count == world.callers["caller"].assignments.filter(ended_at__isnull=True).count()
    assert candidates.row_count == world.season.candidates.count()


def test_unknown_season_is_404_and_not_logged(world, client):
    client.force_login(world.users["office"])
    assert client.get(reverse("imports:export", args=["candidates"]) + "?season=1999").status_code == 404
    assert not ExportLog.objects.exists()


def test_discrepancy_export_job_logs_its_owner(world):
    from reports.jobs import discrepancies_export

    leader = world.users["leader"]
    discrepancies_export(season_year=2023, user_id=leader.pk)
    log = ExportLog.objects.get()
    assert (log.user, log.what, log.season) == (leader, "对账差异", world.season)
    assert log.row_count >= 1  # the world's discrepancy belongs to the leader's team


def test_payout_workbook_job_logs_its_owner(world):
    from subsidies.jobs import payout_workbook_job

    office = world.users["office"]
    stored = payout_workbook_job(run_id=world.objects["run"].pk, user_id=office.pk)
    path = Path(stored) if Path(stored).is_absolute() else Path(settings.MEDIA_ROOT) / stored
    assert path.read_bytes()[:2] == b"PK"
    log = ExportLog.objects.get()
    assert (log.user, log.what, log.row_count) == (office, "补贴发放表", world.objects["run"].person_count)


def test_refused_exports_are_not_logged(world, client):
    """An outsider asking for another team's caller's ledger gets 404 and leaves no row."""
    client.force_login(world.users["outsider"])
    response = client.get(
        reverse("callbacks:ledger_caller", args=[world.callers["caller"].pk]) + "?format=xlsx"
    )
    assert response.status_code == 404
    assert not ExportLog.objects.exists()
