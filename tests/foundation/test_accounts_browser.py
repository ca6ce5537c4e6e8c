"""In a browser: the office issues a roster user's set-password link, the user opens it, sets a
password, and logs in with their 工号."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from callback_office.importing import import_file
from callback_office.roles import Role
from tests.factories import UserFactory
from tests.imports.conftest import kind_xlsx, roster_row

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "回访-Spring-2023!"


def test_office_issues_a_link_and_the_caller_sets_a_password_and_logs_in(page, live_server, client):
    rows = [
        roster_row(f"A{i:02d}", f"一组成员{i}", "第一组", leader="是" if i == 0 else "否") for i in range(8)
    ]
    assert not import_file("roster", kind_xlsx("roster", rows), season_year=2023, dry_run=False).errors
    office = UserFactory(username="office", roles=[Role.OFFICE], is_staff=True)
    client.force_login(office)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation").get_by_role("link", name="账号与密码").click()
    expect(page.locator("h1")).to_contain_text("账号与密码")
    page.locator('button[data-staff-no="A03"]').click()
    link = page.locator("#password-link").input_value()
    assert link.startswith(f"{live_server.url}/accounts/set-password/")

    page.context.clear_cookies()  # the caller, on their own
    page.goto(link)
    expect(page.locator("h1")).to_have_text("设置密码")
    expect(page.locator("section")).to_contain_text("A03")
    page.fill("#id_new_password1", "abcdefghijkl")
    page.fill("#id_new_password2", "abcdefghijkl")
    page.get_by_role("button", name="设置密码").click()
    expect(page.locator(".error")).to_contain_text("至少 2 种")
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.get_by_role("button", name="设置密码").click()
    expect(page.locator("h1")).to_have_text("密码已设置")

    page.locator("#go-login").click()
    page.fill("#id_username", "A03")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".who")).to_contain_text("一组成员3")
    assert User.objects.get(username="A03").check_password(PASSWORD)

    # the link is spent
    page.goto(link)
    expect(page.locator("#link-invalid")).to_be_visible()
