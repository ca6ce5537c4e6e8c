"""In-app help (使用帮助): the user guide in docs/guide/ rendered from Markdown, one page per role.

The Markdown files are the guide itself (readable on a code host as they are); this module only
renders them inside the site's layout and serves their screenshots from docs/guide/img/. Links
between pages (`caller.md`) and image paths (`img/caller-mine.png`) are rewritten to this
module's URLs, so the same files work in both places.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

import markdown
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from callback_office.roles import Role, roles_of

app_name = "help"

GUIDE_DIR = Path(settings.BASE_DIR) / "docs" / "guide"
IMG_DIR = GUIDE_DIR / "img"

# page name → its title in the side menu; the file is docs/guide/<page>.md
PAGES: dict[str, str] = {
    "index": _("总览"),
    "caller": _("回访人员"),
    "leader": _("小组长"),
    "supervisor": _("督查组"),
    "strike": _("突击组"),
    "office": _("招生办"),
}
# The page a user lands on from the header link: the role with the widest view first (a team
# leader is also a caller, and the leader's page links to the caller's).
ROLE_PAGES: tuple[tuple[Role, str], ...] = (
    (Role.OFFICE, "office"),
    (Role.SUPERVISOR, "supervisor"),
    (Role.STRIKE, "strike"),
    (Role.LEADER, "leader"),
    (Role.CALLER, "caller"),
)
IMAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.png$")
PAGE_LINK = re.compile(r"^(?P<page>[a-z]+)\.md(?P<anchor>#[\w-]*)?$")


def page_for(roles: frozenset[Role]) -> str:
    for role, page in ROLE_PAGES:
        if role in roles:
            return page
    return "index"


class _GuideLinks(Treeprocessor):
    """`img/x.png` → the image view; `caller.md#anchor` → the page view."""

    def run(self, root: Element) -> None:
        for img in root.iter("img"):
            src = img.get("src", "")
            if src.startswith("img/"):
                img.set("src", reverse("help:image", kwargs={"name": src.removeprefix("img/")}))
                img.set("loading", "lazy")
        for a in root.iter("a"):
            href = a.get("href", "")
            if href.startswith("img/"):
                a.set("href", reverse("help:image", kwargs={"name": href.removeprefix("img/")}))
                continue
            m = PAGE_LINK.match(href)
            if m and m["page"] in PAGES:
                a.set("href", reverse("help:page", kwargs={"page": m["page"]}) + (m["anchor"] or ""))


class _GuideExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_GuideLinks(md), "guide_links", 0)


def render_page(page: str) -> str:
    """The page's Markdown as HTML (tables, heading anchors, links rewritten)."""
    source = (GUIDE_DIR / f"{page}.md").read_text(encoding="utf-8")
    return markdown.markdown(source, extensions=["tables", "toc", "attr_list", _GuideExtension()])


@login_required
def help_index(request: HttpRequest) -> HttpResponse:
    """The header's 「使用帮助」: the guide page for the user's role."""
    return redirect("help:page", page=page_for(roles_of(request.user)))


@login_required
def help_page(request: HttpRequest, page: str) -> HttpResponse:
    if page not in PAGES:
        raise Http404
    menu = [
        {"page": p, "title": t, "url": reverse("help:page", kwargs={"page": p})} for p, t in PAGES.items()
    ]
    return render(
        request,
        "help/page.html",
        {"page": page, "title": PAGES[page], "menu": menu, "body": render_page(page)},
    )


@login_required
def help_image(request: HttpRequest, name: str) -> FileResponse:
    """A screenshot of the guide, by file name only (no paths): docs/guide/img/<name>.png."""
    if not IMAGE_NAME.match(name):
        raise Http404
    file = IMG_DIR / name
    if not file.is_file():
        raise Http404
    return FileResponse(file.open("rb"), content_type="image/png")


urlpatterns = [
    path("", help_index, name="index"),
    path("<slug:page>/", help_page, name="page"),
    path("img/<str:name>", help_image, name="image"),
]
