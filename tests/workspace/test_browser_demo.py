"""The caller's and the leader's day on the demo season (what `make demo` shows), in chromium:
a demo caller claims from the pool, opens a candidate with history, logs a contact with htmx;
the demo leader sees it on the team's ledger."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from admissions.models import Candidate
from callback_office.roles import Role
from callbacks.demo import DEMO_PASSWORD, DemoOptions, demo_logins, demo_season_generate
from callbacks.models import Assignment, Caller, ContactLog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEASON = DemoOptions(candidates=400, callers=20, teams=2, year=2023, seed=7, previous_season=False)


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def test_demo_caller_claims_and_logs_and_the_leader_sees_it(page, live_server):
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        demo_season_generate(options=SEASON)
    logins = {login.role: login for login in demo_logins(year=SEASON.year)}
    caller = Caller.objects.select_related("user").get(user__username=logins[Role.CALLER].username)
    held_before = Assignment.objects.filter(caller=caller, active=True).count()
    pooled = Candidate.objects.filter(season=caller.season, in_pool=True).count()
    assert held_before > 0 and pooled > 0  # the demo has work on hand and a pool to claim from

    login(page, live_server, caller.user.username)
    page.goto(f"{live_server.url}/callbacks/pool/")
    page.fill("#id_count", "3")
    page.click("#claim-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/callbacks/mine/$"))
    expect(page.get_by_text("已领取 3 名考生。")).to_be_visible()
    assert Assignment.objects.filter(caller=caller, active=True).count() == held_before + 3

    # a candidate the demo has already called several times
    candidate = (
        Candidate.objects.filter(assignments__caller=caller, assignments__active=True, contact_count__gte=2)
        .order_by("id")
        .first()
    )
    page.goto(f"{live_server.url}/callbacks/candidates/{candidate.pk}/")
    history = page.locator("#contact-history")
    expect(history.locator("li, tr")).not_to_have_count(0)
    page.evaluate("window.__noReload = true")
    page.select_option("#id_outcome", "connected")
    page.select_option("#id_intent", "hesitant")
    page.fill("#id_duration_minutes", "6")
    page.fill("#id_notes", "演示年度回访：家长还在比较学校")
    page.click("#contact-form button[type=submit]")
    expect(history).to_contain_text("演示年度回访：家长还在比较学校")
    assert page.evaluate("window.__noReload") is True
    assert (
        ContactLog.objects.filter(candidate=candidate, caller=caller).count() == candidate.contact_count + 1
    )

    # the demo leader of that team finds the contact on the caller's ledger
    page.context.clear_cookies()
    leader = Caller.objects.select_related("user").get(user__username=logins[Role.LEADER].username)
    assert leader.team_id == caller.team_id
    login(page, live_server, leader.user.username)
    page.goto(f"{live_server.url}/callbacks/ledger/{caller.pk}/")
    expect(page.locator("body")).to_contain_text(caller.name)
    expect(page.locator("body")).to_contain_text(candidate.exam_number)
