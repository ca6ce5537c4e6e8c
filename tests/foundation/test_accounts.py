"""Set-password links for roster users: the office issues them (one, or a team's as Excel), the
caller sets a strong password through Django's PasswordResetConfirmView, and then logs in."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from callback_office.importing import import_file
from callback_office.password_validation import character_classes
from callback_office.roles import Role
from callbacks import accounts
from callbacks.models import Caller, Team
from tests.factories import CallerFactory, SeasonFactory, UserFactory
from tests.imports.conftest import kind_xlsx, roster_row

pytestmark = pytest.mark.django_db

STRONG = "回访-Spring-2023!"
LINK_RE = re.compile(r'id="password-link" value="(http://testserver/accounts/set-password/[^"]+)"')


def import_roster(rows, year=2023):
    result = import_file("roster", kind_xlsx("roster", rows), season_year=year, dry_run=False)
    assert not result.errors, result.errors
    return result


@pytest.fixture
def roster(db):
    """Two teams of eight from the roster import (unusable passwords) and a supervisor."""
    rows = [
        roster_row(f"A{i:02d}", f"一组成员{i}", "第一组", leader="是" if i == 0 else "否") for i in range(8)
    ]
    rows += [roster_row(f"B{i:02d}", f"二组成员{i}", "第二组", kind="学生") for i in range(8)]
    rows.append(roster_row("S01", "督查甲", "第一组、第二组", supervisor="是"))
    import_roster(rows)
    return Caller.objects.filter(season__year=2023)


@pytest.fixture
def office(db):
    return UserFactory(username="office", roles=[Role.OFFICE], is_staff=True)


def office_client(office) -> Client:
    client = Client()
    client.force_login(office)
    return client


def issue_link(client: Client, user: User) -> str:
    response = client.post(reverse("accounts:password_link", args=[user.pk]))
    assert response.status_code == 200
    match = LINK_RE.search(response.content.decode())
    assert match, response.content.decode()
    return match.group(1).removeprefix("http://testserver")


def login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.0.0.9")


def test_roster_users_have_no_usable_password_and_cannot_log_in(roster):
    user = User.objects.get(username="A01")
    assert not user.has_usable_password()
    assert login(Client(), "A01", "").status_code == 200  # the form again, no session


def test_whole_flow_issue_set_login(roster, office, django_assert_max_num_queries):
    user = User.objects.get(username="A01")
    client = office_client(office)
    with django_assert_max_num_queries(8):
        path = issue_link(client, user)
    entry = LogEntry.objects.get(object_pk=str(user.pk), content_type__model="user")
    assert entry.actor == office and entry.changes == {"set_password_link": ["", "issued"]}

    caller = Client()
    # the token is moved out of the URL into the session (no Referer leak)
    with django_assert_max_num_queries(6):
        response = caller.get(path)
    assert response.status_code == 302 and response["Location"].endswith("/set-password/")
    form_url = response["Location"]
    with django_assert_max_num_queries(6):
        html = caller.get(form_url).content.decode()
    assert "<h1>设置密码</h1>" in html
    assert "账号（工号）：A01" in html
    assert "密码须包含字母、数字、符号中的至少 2 种。" in html  # the validators' help

    # weak passwords are refused, each with a Chinese reason; nothing is saved
    for weak, reason in [
        ("short1!", "密码太短，至少需要 10 个字符。"),
        ("12345678901", "密码只包含数字。"),
        ("abcdefghijkl", "密码须包含字母、数字、符号中的至少 2 种"),
        ("password123", "这个密码太常见了"),
    ]:
        response = caller.post(form_url, {"new_password1": weak, "new_password2": weak})
        assert response.status_code == 200
        assert reason in response.content.decode(), weak
    response = caller.post(form_url, {"new_password1": STRONG, "new_password2": STRONG + "x"})
    assert "输入的两个密码不一致。" in response.content.decode()
    user.refresh_from_db()
    assert not user.has_usable_password()

    with django_assert_max_num_queries(12):
        response = caller.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_set_done")
    assert "<h1>密码已设置</h1>" in caller.get(response["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert LogEntry.objects.filter(
        object_pk=str(user.pk), actor=user, changes__password=["", "set via link"]
    ).exists()

    # logging in afterwards works, with the 工号 and the new password
    fresh = Client()
    response = login(fresh, "A01", STRONG)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert fresh.get(reverse("home")).status_code == 200
    assert int(fresh.session["_auth_user_id"]) == user.pk

    # the link works once
    html = Client().get(path).content.decode()
    assert 'id="link-invalid"' in html and 'name="new_password1"' not in html


def test_link_expires(roster, office, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    user = User.objects.get(username="B02")
    with freeze_time("2026-07-01 08:00"):
        path = issue_link(office_client(office), user)
    with freeze_time("2026-07-01 08:59"):
        assert Client().get(path).status_code == 302
    with freeze_time("2026-07-01 09:01"):
        html = Client().get(path).content.decode()
        assert 'id="link-invalid"' in html


def test_a_tampered_token_or_user_is_refused(roster, office):
    user = User.objects.get(username="A03")
    other = User.objects.get(username="A04")
    path = issue_link(office_client(office), user)
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa/") else "bbb") + "/"
    assert 'id="link-invalid"' in Client().get(tampered).content.decode()
    # the same token on another user's id
    uid_other = accounts.password_set_path(user=other).split("/")[3]
    swapped = path.replace(path.split("/")[3], uid_other)
    assert 'id="link-invalid"' in Client().get(swapped).content.decode()


def test_no_links_for_office_staff_or_superusers(roster, office):
    client = office_client(office)
    colleague = UserFactory(username="office2", roles=[Role.OFFICE])
    staff_caller = CallerFactory(
        season=Caller.objects.first().season, user__username="T900", user__is_staff=True
    )
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    for user in (colleague, staff_caller.user, root, office):
        assert client.post(reverse("accounts:password_link", args=[user.pk])).status_code == 404, (
            user.username
        )
    assert not LogEntry.objects.filter(changes__has_key="set_password_link").exists()


def test_only_the_office_issues_links(roster):
    leader = User.objects.get(username="A00")
    leader.set_password(STRONG)
    leader.save()
    client = Client()
    client.force_login(leader)
    target = User.objects.get(username="A01")
    assert client.post(reverse("accounts:password_link", args=[target.pk])).status_code == 403
    team = Team.objects.get(name="第一组")
    assert client.post(reverse("accounts:password_links_team", args=[team.pk])).status_code == 403
    assert client.get(reverse("accounts:password_links")).status_code == 403


def read_xlsx(content: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_team_excel_of_links(roster, office, django_assert_max_num_queries):
    client = office_client(office)
    team = Team.objects.get(name="第二组")
    User.objects.filter(username="B07").update(password="md5$x$y")  # already chose a password
    with django_assert_max_num_queries(10):
        response = client.post(reverse("accounts:password_links_team", args=[team.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    rows = read_xlsx(b"".join(response.streaming_content))
    assert rows[0] == ("工号", "姓名", "小组", "身份", "密码状态", "设置密码链接", "有效期至")
    assert [r[0] for r in rows[1:]] == [f"B{i:02d}" for i in range(8)]
    assert {r[2] for r in rows[1:]} == {"第二组"} and {r[3] for r in rows[1:]} == {"学生"}
    assert rows[8][4] == "已设置" and rows[1][4] == "未设置"
    assert LogEntry.objects.filter(actor=office, changes__has_key="set_password_link").count() == 8

    # every link in the file works for its own user
    url = rows[3][5]
    assert url.startswith("http://testserver/accounts/set-password/")
    caller = Client()
    form_url = caller.get(url.removeprefix("http://testserver"))["Location"]
    caller.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert User.objects.get(username="B02").check_password(STRONG)

    # only those still without a password
    response = client.post(reverse("accounts:password_links_team", args=[team.pk]), {"only_unset": "1"})
    rows = read_xlsx(b"".join(response.streaming_content))
    assert [r[0] for r in rows[1:]] == ["B00", "B01", "B03", "B04", "B05", "B06"]


def test_season_excel_includes_supervisors_and_query_count_is_constant(
    roster, office, django_assert_max_num_queries
):
    client = office_client(office)
    with django_assert_max_num_queries(10):
        response = client.post(reverse("accounts:password_links_all"), {"only_unset": "1"})
    rows = read_xlsx(b"".join(response.streaming_content))
    assert [r[0] for r in rows[1:]] == [
        *(f"A{i:02d}" for i in range(8)),
        *(f"B{i:02d}" for i in range(8)),
        "S01",
    ]
    assert rows[-1][2] == "督查"
    # twice the callers, the same number of queries
    import_roster([roster_row(f"C{i:02d}", f"三组成员{i}", "第三组") for i in range(17)])
    with django_assert_max_num_queries(10):
        response = client.post(reverse("accounts:password_links_all"), {"only_unset": "1"})
    assert len(read_xlsx(b"".join(response.streaming_content))) == 1 + 17 + 17


def test_excel_escapes_formula_names(office, django_assert_max_num_queries):
    season = SeasonFactory()
    team = Team.objects.create(season=season, name="第一组", sort_order=1)
    CallerFactory(season=season, team=team, name='=HYPERLINK("http://x")', user__username="E01")
    client = office_client(office)
    response = client.post(reverse("accounts:password_links_team", args=[team.pk]), {"season": season.year})
    rows = read_xlsx(b"".join(response.streaming_content))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


def test_links_page_lists_teams_in_order_with_status(roster, office, django_assert_max_num_queries):
    client = office_client(office)
    User.objects.filter(username="A05").update(password="md5$x$y")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("accounts:password_links"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("第一组") < html.index("第二组") < html.index("未分组（督查等）")
    assert "共 17 个账号，16 个尚未设置密码。" in html
    assert html.count("生成设置密码链接") == 17
    # the menu links here for the office
    assert f'href="{reverse("accounts:password_links")}"' in html
    # more callers, same number of queries
    import_roster([roster_row(f"C{i:02d}", f"三组成员{i}", "第三组") for i in range(9)])
    with django_assert_max_num_queries(8):
        assert client.get(reverse("accounts:password_links")).status_code == 200


def test_character_classes():
    assert character_classes("abcdefghij") == 1
    assert character_classes("abc123abc1") == 2
    assert character_classes("回访办回访办回访办a") == 2
    assert character_classes(STRONG) == 3


def test_link_lifetime_is_a_week_by_default():
    assert accounts.link_lifetime() == dt.timedelta(days=7)
