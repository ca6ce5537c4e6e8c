"""The caller's day in a real browser (Debian's chromium through Playwright): log in, claim
from the pool, open a candidate, log a contact with the htmx form, see it in the history and
in the ledger."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from admissions.models import Candidate
from callbacks.models import ContactLog
from tests.factories import (
    CallerFactory,
    CandidateFactory,
    PhoneFactory,
    ProvinceFactory,
    SeasonFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-pass-2023")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_caller_claims_logs_a_contact_and_sees_it_in_history_and_ledger(page, live_server):
    season = SeasonFactory()
    team = TeamFactory(season=season, name="第一组")
    caller = CallerFactory(season=season, team=team, user__username="c3001", user__first_name="李老师")
    sichuan = ProvinceFactory(season=season, province="四川", withdrawable=False)
    pool = [
        CandidateFactory(season=season, province=sichuan, in_pool=True, name=f"王同学{i}") for i in range(3)
    ]
    PhoneFactory(candidate=pool[0], number="13811112222")

    login(page, live_server, "c3001")
    page.goto(f"{live_server.url}/callbacks/pool/")
    expect(page.get_by_text("池中还有 3 名考生待领取")).to_be_visible()
    page.fill("#id_count", "2")
    page.click("#claim-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/callbacks/mine/$"))
    expect(page.locator("#my-candidates tbody tr")).to_have_count(2)
    expect(page.get_by_text("已领取 2 名考生。")).to_be_visible()

    page.click("text=王同学0")
    expect(page.locator("a[href='tel:13811112222']")).to_be_visible()
    expect(page.locator("#province-policy")).to_contain_text("不可退档")
    # a marker that a full page load would wipe: the form must be posted by htmx
    page.evaluate("window.__noReload = true")
    page.select_option("#id_outcome", "connected")
    page.select_option("#id_intent", "confirmed")
    page.fill("#id_duration_minutes", "5")
    page.fill("#id_duration_seconds", "15")
    page.check("input[name=risk_signals][value=tuition]")
    page.fill("#id_new_phone_1", "13933334444")
    page.fill("#id_notes", "家长同意，下周缴费")
    page.click("#contact-form button[type=submit]")

    history = page.locator("#contact-history")
    expect(history).to_contain_text("家长同意，下周缴费")
    expect(history).to_contain_text("5分15秒")
    expect(history).to_contain_text("嫌学费贵")
    expect(page.locator("#candidate-status")).to_have_text("确认就读")
    expect(page.locator("a[href='tel:13933334444']")).to_be_visible()
    assert page.evaluate("window.__noReload") is True

    assert ContactLog.objects.filter(caller=caller).count() == 1
    assert Candidate.objects.get(pk=pool[0].pk).contact_seconds == 315

    page.goto(f"{live_server.url}/callbacks/ledger/")
    expect(page.locator("#ledger-candidates")).to_have_text("2")
    expect(page.locator("#ledger-contacts")).to_have_text("1")
    expect(page.locator("#ledger-minutes")).to_have_text("5.3")
    expect(page.locator("#ledger-channels")).to_contain_text("电话 1")


def test_contact_form_errors_show_next_to_fields_in_the_browser(page, live_server):
    season = SeasonFactory()
    caller = CallerFactory(season=season, team=TeamFactory(season=season), user__username="c3002")
    candidate = CandidateFactory(season=season, in_pool=True, name="赵同学")
    login(page, live_server, "c3002")
    page.goto(f"{live_server.url}/callbacks/pool/")
    page.fill("#id_count", "1")
    page.click("#claim-form button[type=submit]")
    page.goto(f"{live_server.url}/callbacks/candidates/{candidate.pk}/")
    page.select_option("#id_intent", "wants_withdrawal")
    page.fill("#id_duration_minutes", "300")
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#intent-errors")).to_contain_text("不可退档")
    expect(page.locator("#duration_minutes-errors")).to_contain_text("不能超过 4 小时")
    assert ContactLog.objects.filter(caller=caller).count() == 0
