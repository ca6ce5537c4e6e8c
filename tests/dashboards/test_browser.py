"""In a browser: each dashboard opened by its role draws its charts (Chart.js instances with a
non-empty canvas); a screenshot of each page goes to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from callback_office.roles import Role
from reports.models import ExportLog
from tests.dashboards.factories import build_season
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def login(page, live_server, client, user) -> None:
    page.context.clear_cookies()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def charts_drawn(page) -> dict:
    return page.evaluate(
        """() => {
            const ids = Object.keys(window.Chart ? window.Chart.instances : {});
            const sizes = [...document.querySelectorAll('canvas[data-chart]')].map(c => [c.width, c.height]);
            return {count: ids.length, canvases: sizes.length, sizes};
        }"""
    )


def test_each_dashboard_draws_its_charts(page, live_server, client):
    built = build_season()
    office = UserFactory(username="office", first_name="招生办", roles=[Role.OFFICE])
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    cases = [
        (built.leaders[0].user, "本组看板", "/reports/dashboards/team/", 4),
        (office, "全校看板", "/reports/dashboards/office/", 4),
        (built.supervisor.user, "督查看板", "/reports/dashboards/supervision/", 3),
        (office, "省份报表", "/reports/provinces/", 1),
    ]
    for user, label, path, expected in cases:
        login(page, live_server, client, user)
        page.goto(f"{live_server.url}/")
        page.locator("nav.menu").get_by_role("link", name=label, exact=True).click()
        expect(page.locator("h1")).to_contain_text(label)
        assert page.url.endswith(path)
        page.wait_for_function("() => window.Chart && Object.keys(window.Chart.instances).length > 0")
        drawn = charts_drawn(page)
        assert drawn["count"] == expected == drawn["canvases"], drawn
        assert all(w > 0 and h > 0 for w, h in drawn["sizes"]), drawn
        page.screenshot(
            path=str(ARTIFACTS / f"dashboard-{path.strip('/').replace('/', '-')}.png"), full_page=True
        )


def test_office_drills_down_from_the_funnel_and_exports(page, live_server, client):
    built = build_season()
    office = UserFactory(username="office", first_name="招生办", roles=[Role.OFFICE])
    login(page, live_server, client, office)
    page.goto(f"{live_server.url}/reports/dashboards/office/")
    funnel = page.locator("#table-funnel")
    funnel.get_by_role("link", name="5", exact=True).first.click()  # 报到: 5 candidates
    expect(page.locator("h1")).to_contain_text("已报到")
    expect(page.locator("#table-candidates tbody tr")).to_have_count(5)
    with page.expect_download() as download:
        page.locator("#table-candidates").get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.startswith("candidates-2023-")
    log = ExportLog.objects.get()
    assert (
        log.user == office
        and log.row_count == 5
        and log.filters == {"stage": "enrolled", "table": "candidates"}
    )
    assert built.season == log.season
