"""In a browser: the office computes a run; a caller reads their statement and asks about a line;
the office answers with an adjustment."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from subsidies.models import Adjustment, Inquiry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, client, user) -> None:
    client.logout()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.clear_cookies()
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_compute_read_ask_answer(page, live_server, client, small_season, office_user, caller):
    login(page, live_server, client, office_user)
    page.goto(f"{live_server.url}/subsidies/")
    page.get_by_role("button", name="重新核算（生成新的核算）").click()
    expect(page.locator("h1")).to_contain_text("2023 年度第 1 次核算")
    expect(page.locator("table")).to_contain_text(caller.staff_no)

    login(page, live_server, client, caller.user)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="我的补贴").first.click()
    expect(page.locator("table")).to_contain_text("本科：报到 98 / 录取 100 = 98.00%")
    expect(page.locator("body")).to_contain_text("再报到 1 人即进入 >98.50% 档")
    page.locator("details summary").first.click()
    page.locator("textarea[name=question]").first.fill("报到人数少算了一人")
    page.get_by_role("button", name="提交").first.click()
    expect(page.locator("body")).to_contain_text("问题已提交")
    expect(page.locator("body")).to_contain_text("待答复")

    login(page, live_server, client, office_user)
    page.goto(f"{live_server.url}/subsidies/inquiries/")
    page.locator("textarea[name=answer]").fill("已核实，补发")
    page.locator("input[name=adjustment_amount]").fill("52.50")
    page.locator("select[name=reason_code]").select_option("late_registration")
    page.get_by_role("button", name="答复").click()
    expect(page.locator("body")).to_contain_text("已答复")
    assert Inquiry.objects.get().status == "answered"
    assert str(Adjustment.objects.get().amount) == "52.50"
