"""In a browser: a supervisor draws a sample, scores a record with a finding, and the caller
acknowledges the finding on 我的整改."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from supervision.choices import FindingStatus
from supervision.models import AuditSample, Finding
from tests.supervision.conftest import make_contacts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, client, user) -> None:
    page.context.clear_cookies()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_draw_score_find_and_acknowledge(page, live_server, client, caller, supervisor):
    make_contacts(caller, 3)
    login(page, live_server, client, supervisor.user)

    page.goto(f"{live_server.url}/supervision/")
    page.get_by_role("link", name="新建抽查").click()
    page.locator("#draw-form").get_by_role("button", name="随机抽取").click()
    expect(page.locator("h1")).to_contain_text("抽查 #")
    expect(page.locator("a.item-link")).to_have_count(3)
    assert AuditSample.objects.get().items.count() == 3

    page.locator("a.item-link").first.click()
    score = page.locator("#score-form")
    score.locator("input[type=number]").nth(1).fill("4")
    score.get_by_role("button", name="提交评分").click()
    expect(page.locator(".score")).to_contain_text("4/10")
    form = page.locator("#finding-form")
    form.locator("select[name=category]").select_option("policy")
    form.locator("textarea[name=description]").fill("对本省能否退档讲解错误")
    form.locator("textarea[name=required_rectification]").fill("回电更正并重新学习政策")
    form.get_by_role("button", name="记录问题").click()
    expect(page.locator(".messages")).to_contain_text("问题已记录")

    login(page, live_server, client, caller.user)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="我的整改").first.click()
    card = page.locator("section.finding")
    expect(card).to_contain_text("对本省能否退档讲解错误")
    card.get_by_role("button", name="确认问题").click()
    expect(page.locator(".messages")).to_contain_text("已确认")
    expect(page.locator("section.finding")).to_contain_text("已确认")
    f = Finding.objects.get()
    assert f.status == FindingStatus.OPEN and f.acknowledged_at is not None
