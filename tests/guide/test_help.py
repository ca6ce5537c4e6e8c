"""In-app help (使用帮助): the header link, the guide page per role, its images, and who may read it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from callback_office.help_views import GUIDE_DIR, PAGES, page_for
from callback_office.roles import Role
from tests.factories import CallerFactory

pytestmark = pytest.mark.django_db

IMAGE_REF = re.compile(r"\]\((img/[^)\s]+\.png)\)")


@pytest.fixture
def strike_member(season):
    return CallerFactory(
        season=season, team=None, user__username="t1001", user__roles=[Role.CALLER, Role.STRIKE]
    )


def test_the_header_links_to_help(client, caller):
    client.force_login(caller.user)
    body = client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("help:index")}" id="help-link">使用帮助</a>' in body


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("caller", "caller"),
        ("leader", "leader"),
        ("supervisor", "supervisor"),
        ("strike", "strike"),
        ("office", "office"),
    ],
)
def test_help_opens_the_page_of_the_users_role(client, request, who, page, django_assert_max_num_queries):
    fixture = {"strike": "strike_member", "office": "office_user"}.get(who, who)
    obj = request.getfixturevalue(fixture)
    client.force_login(getattr(obj, "user", obj))
    with django_assert_max_num_queries(4):  # session, user, groups (roles)
        response = client.get(reverse("help:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("help:page", kwargs={"page": page})


def test_page_for_a_user_without_role_is_the_overview():
    assert page_for(frozenset()) == "index"
    assert page_for(frozenset({Role.CALLER, Role.LEADER})) == "leader"
    assert page_for(frozenset({Role.CALLER, Role.STRIKE})) == "strike"


@pytest.mark.parametrize("page", list(PAGES))
def test_each_guide_page_renders_with_its_images_and_links(
    client, caller, page, django_assert_max_num_queries
):
    client.force_login(caller.user)
    with django_assert_max_num_queries(4):  # session, user, groups (menu)
        response = client.get(reverse("help:page", kwargs={"page": page}))
    assert response.status_code == 200
    body = response.content.decode()
    source = (GUIDE_DIR / f"{page}.md").read_text(encoding="utf-8")
    title = re.search(r"^# (.+)$", source, re.M)[1].strip()
    assert re.search(rf"<h1[^>]*>{re.escape(title)}</h1>", body), title
    assert 'aria-current="page"' in body
    # Markdown tables and the images, with their paths pointing at the image view
    refs = IMAGE_REF.findall(source)
    assert refs, "a guide page shows its screens"
    for ref in refs:
        url = reverse("help:image", kwargs={"name": ref.removeprefix("img/")})
        assert f'src="{url}"' in body
    assert 'src="img/' not in body
    # links between pages ("caller.md") go to the help pages
    assert not re.search(r'href="[a-z]+\.md', body)
    for other in re.findall(r"\]\(([a-z]+)\.md", source):
        assert f'href="{reverse("help:page", kwargs={"page": other})}' in body


def test_images_are_served_by_name_only(client, caller, django_assert_max_num_queries):
    client.force_login(caller.user)
    name = sorted(p.name for p in (GUIDE_DIR / "img").glob("*.png"))[0]
    with django_assert_max_num_queries(2):  # session, user
        response = client.get(reverse("help:image", kwargs={"name": name}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    for bad in ("missing.png", "index.md", "..%2Fcaller.md", ".hidden.png", "caller-pool.PNG"):
        assert client.get(f"/help/img/{bad}").status_code == 404, bad
    assert client.get("/help/secrets/").status_code == 404
    assert client.get("/help/../README.md").status_code == 404


def test_anonymous_users_are_sent_to_login(client):
    name = sorted(p.name for p in (GUIDE_DIR / "img").glob("*.png"))[0]
    for url in (
        reverse("help:index"),
        reverse("help:page", kwargs={"page": "caller"}),
        reverse("help:image", kwargs={"name": name}),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
