"""Teams are listed in their explicit order (sort_order, then id), never by name: as text 第十组
sorts before 第二组. New teams take their order from the number in their name."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from callback_office.importing import import_file
from callbacks.choices import TeamKind
from callbacks.imports import export_roster
from callbacks.models import Caller, Team, team_default_sort_order, team_number
from callbacks.selectors import ledger_overview
from subsidies.facts import load_facts
from supervision.selectors import teams_for
from tests.factories import CallerFactory, TeamFactory
from tests.imports.conftest import kind_xlsx, roster_row

NAMES = [f"第{n}组" for n in ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")]


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("第一组", 1),
        ("第二组", 2),
        ("第十组", 10),
        ("第十二组", 12),
        ("第二十组", 20),
        ("第二十三组", 23),
        ("第一百零一组", 101),
        ("第3组", 3),
        ("12组", 12),
        ("突击组", None),
        ("招生办", None),
    ],
)
def test_team_number(name, number):
    assert team_number(name) == number


def test_default_sort_order_puts_special_teams_last():
    orders = [
        team_default_sort_order("第二组"),
        team_default_sort_order("第十组"),
        team_default_sort_order("机动组"),
        team_default_sort_order("督查组", TeamKind.SUPERVISION),
        team_default_sort_order("突击组", TeamKind.STRIKE),
    ]
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders)
    # the name of a special team does not count, only its kind
    assert team_default_sort_order("第一督查组", TeamKind.SUPERVISION) > team_default_sort_order("第九十九组")


@pytest.fixture
def twelve_teams(db):
    """A roster whose rows list the twelve teams in shuffled order, and a supervisor of all."""
    rows = []
    shuffled = NAMES[:]
    random.Random(3).shuffle(shuffled)
    for t, name in enumerate(shuffled):
        rows += [
            roster_row(f"T{t:02d}{i}", f"{name}成员{i}", name, leader="是" if i == 0 else "否")
            for i in range(8)
        ]
    rows.append(roster_row("S01", "督查甲", "、".join(shuffled), supervisor="是"))
    rows.append(roster_row("K01", "突击甲", "突击组", strike="是"))
    result = import_file("roster", kind_xlsx("roster", rows), season_year=2023, dry_run=False)
    assert not result.errors, result.errors
    return Caller.objects.get(staff_no="S01", season__year=2023)


def test_roster_import_orders_teams_by_their_number(twelve_teams):
    season = twelve_teams.season
    assert list(Team.objects.filter(season=season).values_list("name", flat=True)) == [*NAMES, "突击组"]
    assert Team.objects.get(season=season, name="第十组").sort_order == 10
    # the roster export lists a supervisor's teams in that order too
    exported = export_roster(2023)
    row = next(r for r in exported.dict if r["工号"] == "S01")
    assert row["小组"] == "、".join(NAMES)


def test_lists_of_teams_follow_the_order(twelve_teams, office_user, client):
    season = twelve_teams.season
    assert [t.name for t in teams_for(user=twelve_teams.user, season=season)] == NAMES
    # callers by team: every 第二组 member before any 第十组 member
    lines = ledger_overview(callers=Caller.objects.filter(season=season, team__kind=TeamKind.REGULAR))
    team_names = [line.caller.team.name for line in lines]
    assert team_names.index("第十组") > team_names.index("第二组") + 7
    assert [t.name for t in load_facts(season=season).teams if t.kind == TeamKind.REGULAR] == NAMES
    # a page: the supervision coverage table (office)
    client.force_login(office_user)
    html = client.get(reverse("supervision:coverage")).content.decode()
    positions = [html.index(f"<tr><td>{name} ") for name in NAMES]
    assert positions == sorted(positions)


def test_office_can_reorder_teams(season):
    """The explicit field wins over the name: a team moved to the front is listed first."""
    a = TeamFactory(season=season, name="第一组", sort_order=1)
    b = TeamFactory(season=season, name="第二组", sort_order=2)
    c = TeamFactory(season=season, name="机动组", sort_order=0)
    CallerFactory(season=season, team=a)
    assert list(Team.objects.filter(season=season)) == [c, a, b]
    # equal orders fall back to creation order (id), not to the name
    b.sort_order = 1
    b.save(update_fields=["sort_order"])
    assert list(Team.objects.filter(season=season)) == [c, a, b]
