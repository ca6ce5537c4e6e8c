"""Every Excel export reachable from the site: text a spreadsheet would run as a formula is
escaped, and ID numbers / phones are masked for the roles that don't need them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from callback_office.excel import FORMULA_PREFIXES
from tests.security.world import EVIL_NAME, ID_NUMBER, PHONE

pytestmark = pytest.mark.django_db

EVIL_CALLER = "@SUM(1+1)*cmd"

# (role, url name, kwargs key or None, query); roles in FULL may see full ID numbers/phones.
EXPORTS = [
    ("caller", "callbacks:ledger", None, "?format=xlsx"),
    ("leader", "callbacks:ledger_caller", "caller", "?format=xlsx"),
    ("supervisor", "callbacks:ledger_caller", "caller", "?format=xlsx"),
    ("supervisor", "supervision:ledger", None, "?format=xlsx"),
    ("office", "supervision:ledger", None, "?format=xlsx"),
    ("office", "casework:withdrawal_export", None, ""),
    ("office", "subsidies:run_download", "run", ""),
    ("leader", "reports:team_dashboard", None, "?format=xlsx"),
    ("supervisor", "reports:team_dashboard", None, "?format=xlsx"),
    ("leader", "reports:drilldown", None, "?format=xlsx"),
    ("supervisor", "reports:drilldown", None, "?format=xlsx"),
    ("office", "reports:drilldown", None, "?format=xlsx"),
    ("office", "reports:office_dashboard", None, "?format=xlsx"),
    ("supervisor", "reports:supervisor_dashboard", None, "?format=xlsx"),
    ("office", "reports:province_report", None, "?format=xlsx"),
    ("office", "reports:province_report", None, "?format=xlsx&lists=noshow"),
    ("office", "imports:export", "kind", "?season=2023"),
    ("office", "imports:template", "kind", ""),
]
FULL = {"caller", "office"}


def cells(data: bytes) -> list:
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def unsafe(all_cells) -> list[str]:
    bad = []
    for cell in all_cells:
        if cell.data_type == "f":
            bad.append(f"{cell.coordinate}: formula {cell.value!r}")
        elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
            bad.append(f"{cell.coordinate}: {cell.value!r}")
    return bad


def text_of(all_cells) -> str:
    return "\n".join(str(c.value) for c in all_cells if c.value is not None)


@pytest.fixture
def evil_world(world):
    for key in ("caller", "leader"):
        c = world.callers[key]
        c.name = EVIL_CALLER if key == "caller" else "-leader+1"
        c.save(update_fields=["name"])
    return world


@pytest.mark.parametrize(
    ("role", "name", "arg", "query"), EXPORTS, ids=[f"{e[1]}-{e[0]}{e[3]}" for e in EXPORTS]
)
def test_export_is_escaped_and_masked(evil_world, client, role, name, arg, query):
    w = evil_world
    kwargs = {}
    if arg == "caller":
        kwargs = {"caller_id": w.callers["caller"].pk}
    elif arg == "run":
        kwargs = {"pk": w.objects["run"].pk}
    elif arg == "kind":
        kwargs = {"kind": "candidates"}
    client.force_login(w.users[role])
    response = client.get(reverse(name, kwargs=kwargs) + query)
    assert response.status_code == 200, response.status_code
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert data[:2] == b"PK"
    all_cells = cells(data)
    assert unsafe(all_cells) == []
    text = text_of(all_cells)
    if role not in FULL:
        assert ID_NUMBER not in text
        assert PHONE not in text


def test_the_evil_names_do_reach_the_exports_escaped(evil_world, client):
    """The checks above are not vacuous: the names are in the files, with a leading apostrophe."""
    client.force_login(evil_world.users["office"])
    data = client.get(reverse("reports:drilldown") + "?format=xlsx").content
    text = text_of(cells(data))
    assert "'" + EVIL_NAME in text
    data = client.get(
        reverse("callbacks:ledger_caller", args=[evil_world.callers["caller"].pk]) + "?format=xlsx"
    )
    assert "'" + EVIL_NAME in text_of(cells(data.content))


def test_discrepancy_export_job_is_escaped(evil_world):
    from reports.jobs import discrepancies_export

    path = Path(discrepancies_export(season_year=2023, user_id=evil_world.users["leader"].pk))
    if not path.is_absolute():
        path = Path(settings.MEDIA_ROOT) / path
    all_cells = cells(path.read_bytes())
    assert unsafe(all_cells) == []
    text = text_of(all_cells)
    assert "'" + EVIL_NAME in text  # the details column
    assert ID_NUMBER not in text
