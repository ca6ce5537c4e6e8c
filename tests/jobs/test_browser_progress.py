"""In a browser: an office export runs as a tracked job; the progress bar reaches 100% and the
download link appears once a real worker has run it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from admissions.models import Discrepancy, DiscrepancyKind
from callback_office.roles import Role
from tests.factories import CandidateFactory, SeasonFactory, UserFactory
from tests.jobs.factories import run_burst

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def login(page, live_server, client, user) -> None:
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_progress_bar_reaches_100_and_offers_download(page, live_server, client, redis_conn):
    season = SeasonFactory()
    for i in range(3):
        c = CandidateFactory(season=season, exam_number=f"B{i}")
        Discrepancy.objects.create(
            season=season,
            kind=DiscrepancyKind.REGISTERED_NEVER_CONTACTED,
            exam_number=c.exam_number,
            candidate=c,
            details="已报到，但从未回访",
        )
    office = UserFactory(username="office-b", roles=[Role.OFFICE], is_staff=True)
    login(page, live_server, client, office)

    page.goto(f"{live_server.url}/reports/reconciliation/")
    expect(page.locator("table.discrepancies tbody tr")).to_have_count(3)
    page.get_by_role("button", name="导出 Excel").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{32}/$"))
    expect(page.locator(".job-status")).to_have_text("排队中")
    expect(page.locator(".job-percent")).to_have_text("0%")

    run_burst("default")

    expect(page.locator(".job-percent")).to_have_text("100%", timeout=10_000)
    expect(page.locator(".job-status")).to_have_text("已完成")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#job-progress")).to_contain_text("已处理 3 / 3 行")
    link = page.locator("a.job-download")
    expect(link).to_contain_text("对账差异-2023.xlsx")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == "对账差异-2023.xlsx"
