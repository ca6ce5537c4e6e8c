"""English UI: the language switch works, and every Chinese msgid has an English translation.

The catalogue checks read locale/en/LC_MESSAGES/django.po with a tiny parser (no polib, no gettext
tools): every entry is translated and not fuzzy, the committed .mo matches the .po, placeholders
survive translation, and every string wrapped for translation in the source (templates and
Python) is in the catalogue, so a new untranslated string fails CI until makemessages is re-run
and the entry translated.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

pytestmark = pytest.mark.sqlite

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"
# Same exclusions as the makemessages command in the README/locale workflow.
IGNORED_DIRS = {".venv", "var", "tests", "bench", "test-artifacts", "node_modules"}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def _unquote(s: str) -> str:
    return ast.literal_eval(s)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (header excluded), strings concatenated and unescaped."""
    entries: list[Entry] = []
    cur = Entry()
    field_name: str | None = None
    index = 0

    def flush() -> None:
        nonlocal cur
        if cur.msgid or cur.msgstr or cur.msgid_plural:
            entries.append(cur)
        cur = Entry()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            field_name = None
            continue
        if line.startswith("#~"):
            cur.obsolete = True
            continue
        if line.startswith("#,"):
            cur.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if m:
            if m.group(1) in ("msgctxt", "msgid") and cur.msgstr:
                flush()
            field_name = m.group(1).split("[")[0]
            index = int(m.group(2)) if m.group(2) else 0
            value = _unquote(m.group(3))
        elif line.startswith('"'):
            value = _unquote(line)
        else:
            raise AssertionError(f"unparsable line in {path.name}: {raw!r}")
        if field_name == "msgctxt":
            cur.msgctxt = (cur.msgctxt or "") + value
        elif field_name == "msgid":
            cur.msgid += value
        elif field_name == "msgid_plural":
            cur.msgid_plural = (cur.msgid_plural or "") + value
        elif field_name == "msgstr":
            cur.msgstr[index] = cur.msgstr.get(index, "") + value
    flush()
    return [e for e in entries if e.msgid and not e.obsolete]


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO_PATH)


# --- the language switch ------------------------------------------------------------------------


def test_login_page_is_chinese_by_default(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "<h1>登录回访办</h1>" in html
    assert "Log in to Callback Office" not in html


def test_login_page_in_english_with_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Log in to Callback Office</h1>" in html
    assert '<label for="id_password">Password</label>' in html
    assert "登录回访办" not in html


def test_login_page_in_english_with_accept_language(client):
    html = client.get(reverse("login"), headers={"accept-language": "en-US,en;q=0.9"}).content.decode()
    assert "<h1>Log in to Callback Office</h1>" in html


def test_setlang_switches_to_english_and_back(client):
    login = reverse("login")
    r = client.post(reverse("set_language"), {"language": "en", "next": login})
    assert r.status_code == 302
    assert r["Location"] == login
    assert r.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "<h1>Log in to Callback Office</h1>" in client.get(login).content.decode()

    client.post(reverse("set_language"), {"language": "zh-hans", "next": login})
    assert "<h1>登录回访办</h1>" in client.get(login).content.decode()


def test_home_menu_and_roles_in_english(client, caller):
    client.force_login(caller.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("home")).content.decode()
    assert "Hello, 张老师" in html
    assert "Your roles:" in html
    assert ">My candidates</a>" in html  # a lazy nav label from callbacks/apps.py
    assert '<span class="tag">Caller</span>' in html  # a role label
    assert "我的考生" not in html


def test_lazy_model_labels_follow_the_active_language():
    from admissions.models import Candidate

    field = Candidate._meta.get_field("exam_number")
    with translation.override("en"):
        assert str(field.verbose_name) == "Exam number"
    with translation.override("zh-hans"):
        assert str(field.verbose_name) == "考生号"


# --- the catalogue ------------------------------------------------------------------------------


def test_every_msgid_is_translated_and_not_fuzzy(entries):
    assert len(entries) > 1000
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert fuzzy == []
    untranslated = [e.msgid for e in entries if not e.msgstr or any(not s.strip() for s in e.msgstr.values())]
    assert untranslated == []
    plural_forms = [e.msgid for e in entries if e.msgid_plural and sorted(e.msgstr) != [0, 1]]
    assert plural_forms == []


def test_translations_are_english(entries):
    cjk = re.compile(r"[\u4e00-\u9fff]")
    # Yes/no values typed into the import spreadsheets stay Chinese ("是/否"); nothing else does.
    still_chinese = [
        e.msgid for e in entries if any(cjk.search(s.replace("“是/否”", "")) for s in e.msgstr.values())
    ]
    assert still_chinese == []


PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-0-9.]*[sdf]|%[sd]|%%|\{[a-z_]*\}")


def test_placeholders_survive_translation(entries):
    broken = [
        (e.msgid, s)
        for e in entries
        for s in e.msgstr.values()
        if sorted(set(PLACEHOLDER.findall(e.msgid))) != sorted(set(PLACEHOLDER.findall(s)))
    ]
    assert broken == []


def test_committed_mo_matches_the_po(entries):
    with MO_PATH.open("rb") as f:
        mo = gnu_gettext.GNUTranslations(f)
    stale = []
    for e in entries:
        if e.msgctxt:
            got = mo.pgettext(e.msgctxt, e.msgid)
            want = e.msgstr[0]
        elif e.msgid_plural:
            got = (mo.ngettext(e.msgid, e.msgid_plural, 1), mo.ngettext(e.msgid, e.msgid_plural, 2))
            want = (e.msgstr[0], e.msgstr[1])
        else:
            got, want = mo.gettext(e.msgid), e.msgstr[0]
        if got != want:
            stale.append(e.msgid)
    assert stale == [], "run: manage.py compilemessages -l en --ignore=.venv"


def test_django_uses_the_catalogue():
    with translation.override("en"):
        assert translation.gettext("退档申请") == "Withdrawal request"
        assert translation.gettext("突击组") == "Strike team"
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 1) % {"n": 1} == "1 person"
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 3) % {"n": 3} == "3 people"


# --- every wrapped string in the source is in the catalogue -------------------------------------

GETTEXT_FUNCS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
TEMPLATIZED_CALL = re.compile(
    r"(?<![A-Za-z_])(n?p?gettext)\((u'(?:[^'\\]|\\.)*'(?:\s*,\s*u'(?:[^'\\]|\\.)*')*)"
)


def _source_files(suffix: str):
    for root, dirs, files in os.walk(settings.BASE_DIR):
        dirs[:] = [
            d
            for d in dirs
            if d not in IGNORED_DIRS
            and not d.startswith((".", "~"))
            and not (Path(root) / d / "pyvenv.cfg").exists()  # any virtualenv, whatever its name
        ]
        for name in files:
            if name.endswith(suffix):
                yield Path(root) / name


def _python_msgids(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # xgettext does not look inside f-strings, so makemessages never extracts calls there.
    in_fstring = {
        id(sub) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for sub in ast.walk(node)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args or id(node) in in_fstring:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in GETTEXT_FUNCS:
            continue
        ctx_index, id_index = GETTEXT_FUNCS[name]
        args = node.args
        if len(args) <= id_index or not all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args[: id_index + 1]
        ):
            continue
        ctx = args[ctx_index].value if ctx_index is not None else None
        yield ctx, args[id_index].value


def _template_msgids(path: Path):
    out = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for m in TEMPLATIZED_CALL.finditer(out):
        strings = ast.literal_eval("(" + m.group(2) + ",)")
        if m.group(1).startswith(("pgettext", "npgettext")):
            yield strings[0], strings[1]
        else:
            yield None, strings[0]


def test_every_wrapped_source_string_is_in_the_catalogue(entries):
    known = {(e.msgctxt, e.msgid) for e in entries}
    found: dict[tuple[str | None, str], str] = {}
    for path in _source_files(".py"):
        for key in _python_msgids(path):
            found.setdefault(key, str(path.relative_to(settings.BASE_DIR)))
    for path in _source_files(".html"):
        for key in _template_msgids(path):
            found.setdefault(key, str(path.relative_to(settings.BASE_DIR)))
    assert len(found) > 1000
    missing = sorted(
        f"{where}: {msgid}" for (ctx, msgid), where in found.items() if (ctx, msgid) not in known
    )
    assert missing == [], (
        "re-run makemessages -l en --ignore=.venv --ignore=var --ignore=tests --ignore=bench, "
        "translate the new entries and compilemessages"
    )
