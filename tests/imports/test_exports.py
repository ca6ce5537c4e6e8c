"""Exports in the import format (django-import-export Resources) import back unchanged."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from callback_office.importing import export_bytes, import_file
from callback_office.roles import Role
from tests.factories import UserFactory
from tests.imports.conftest import HEADERS, POLICY_ROWS, candidate_row, kind_xlsx
from tests.imports.test_callbacks_imports import ROSTER

pytestmark = pytest.mark.django_db

SEASON_FILES = [
    ("policies", POLICY_ROWS),
    ("roster", ROSTER),
    ("candidates", [candidate_row(1), candidate_row(2, province="广西", level="专科", kind="单招")]),
    ("payments", [["23510101000001", "2023-08-01", 5000], ["23510101000001", "2023-08-02", 100.5]]),
    ("registrations", [["23510101000001", "2023-09-08"]]),
    ("withdrawals", [["23510101000002", "2023-07-20"]]),
    ("attendance", [["A00", "2023-07-15"], ["S01", "2023-07-16"]]),
]


@pytest.fixture
def season_2023(db):
    for kind, rows in SEASON_FILES:
        result = import_file(kind, kind_xlsx(kind, rows), season_year=2023, dry_run=False)
        assert result.committed, result.errors


@pytest.mark.parametrize(("kind", "rows"), SEASON_FILES, ids=[k for k, _ in SEASON_FILES])
def test_export_imports_back_unchanged(season_2023, kind, rows):
    data = export_bytes(kind, season_year=2023)
    header = [c.value for c in openpyxl.load_workbook(io.BytesIO(data)).worksheets[0][1]]
    expected = HEADERS[kind][:-1] if kind == "candidates" else HEADERS[kind]  # 回访员工号 is not exported
    assert header == expected
    again = import_file(kind, data, season_year=2023, dry_run=True)
    assert again.errors == []
    assert (again.total_rows, again.created, again.updated, again.unchanged) == (len(rows), 0, 0, len(rows))


def test_roster_export_shows_roles_and_supervised_teams(season_2023):
    ws = openpyxl.load_workbook(io.BytesIO(export_bytes("roster", season_year=2023))).worksheets[0]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["A00"][4:8] == ("第一组", "是", "否", "否")
    assert rows["S01"][4:8] == ("第一组、第二组", "否", "是", "否")
    assert rows["K01"][2:] == (
        "职工",
        "招生办",
        "突击组",
        "否",
        "否",
        "是",
        "97.5%",
        "93.5%",
        "是",
        "13700000000",
    )


def test_export_view_is_for_the_office(client, season_2023, office_user):
    url = reverse("imports:export", args=["candidates"]) + "?season=2023"
    client.force_login(UserFactory(username="c9", roles=[Role.CALLER, Role.LEADER]))
    assert client.get(url).status_code == 403
    client.force_login(office_user)
    response = client.get(url)
    assert response["Content-Disposition"] == 'attachment; filename="candidates-2023.xlsx"'
    assert import_file("candidates", response.content, season_year=2023, dry_run=True).unchanged == 2
    assert client.get(reverse("imports:export", args=["candidates"]) + "?season=x").status_code == 404
