"""The reveal button in a real browser: masked ID number, one click, the full number appears in
place (htmx, no page load), one log row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from admissions.models import PiiAccessLog, PiiField
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, PhoneFactory, SeasonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID = "510101200501017777"


def test_the_caller_reveals_the_id_number_in_place(page, live_server):
    season = SeasonFactory()
    caller = CallerFactory(season=season, user__username="c4001")
    cand = CandidateFactory(season=season, id_number=ID, name="赵同学")
    PhoneFactory(candidate=cand, number="13822223333")
    AssignmentFactory(candidate=cand, caller=caller)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "c4001")
    page.fill("#id_password", "demo-pass-2023")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{live_server.url}/callbacks/candidates/{cand.pk}/")
    expect(page.locator("#id-number")).to_contain_text("510101********7777")
    assert ID not in page.content()
    page.evaluate("window.__noReload = true")
    page.click("#reveal-id-form button")
    expect(page.locator("#id-number")).to_contain_text(ID)
    expect(page.locator("#id-number")).to_contain_text("已记录查看")
    assert page.evaluate("window.__noReload") is True  # swapped by htmx, no page load
    assert PiiAccessLog.objects.filter(field=PiiField.ID_NUMBER, candidate=cand).count() == 1
    assert PiiAccessLog.objects.filter(field=PiiField.PHONES, candidate=cand).count() == 1
