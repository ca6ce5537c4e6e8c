"""The workspace on a phone (many callers work from their own phone): a 390 px wide touch screen.
The page never scrolls sideways, the numbers are big enough to tap and dial, and a contact can
be logged with the htmx form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from callbacks.models import ContactLog
from tests.factories import AssignmentFactory, CandidateFactory, PhoneFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_caller_works_from_a_phone(browser, live_server, caller, sichuan):
    candidate = CandidateFactory(season=caller.season, province=sichuan, name="赵同学")
    PhoneFactory(candidate=candidate, number="13811112222")
    AssignmentFactory(caller=caller, candidate=candidate)
    for i in range(5):
        AssignmentFactory(
            caller=caller,
            candidate=CandidateFactory(season=caller.season, province=sichuan, name=f"钱同学{i}"),
        )

    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", caller.user.username)
        page.fill("#id_password", "demo-pass-2023")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/$"))

        page.goto(f"{live_server.url}/callbacks/mine/")
        expect(page.locator("#my-candidates tbody tr")).to_have_count(6)
        assert no_sideways_scroll(page), "my candidates scrolls sideways on a phone"

        page.click("text=赵同学")
        dial = page.locator("a[href='tel:13811112222']")
        expect(dial).to_be_visible()
        box = dial.bounding_box()
        assert box["height"] >= 24 and box["width"] >= 44, box  # a finger can hit it
        assert no_sideways_scroll(page), "the candidate page scrolls sideways on a phone"

        page.evaluate("window.__noReload = true")
        page.select_option("#id_outcome", "connected")
        page.select_option("#id_intent", "confirmed")
        page.fill("#id_duration_minutes", "4")
        page.fill("#id_notes", "手机上记录")
        submit = page.locator("#contact-form button[type=submit]")
        assert submit.bounding_box()["x"] + submit.bounding_box()["width"] <= 390
        submit.tap()
        expect(page.locator("#contact-history")).to_contain_text("手机上记录")
        assert page.evaluate("window.__noReload") is True
        assert ContactLog.objects.filter(caller=caller, candidate=candidate).count() == 1
    finally:
        context.close()
