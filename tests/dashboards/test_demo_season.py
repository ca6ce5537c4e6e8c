"""The dashboards on the generated demo season (2023, with 2022 for the comparison): numbers
against independent counts, and every page opens for its role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django.test import override_settings

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate, Season
from callbacks.choices import TeamKind
from callbacks.demo import OFFICE_USERNAME, DemoOptions, demo_season_generate
from callbacks.models import Assignment, Team
from reports import dashboards

pytestmark = pytest.mark.django_db

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OPTIONS = DemoOptions(candidates=240, callers=16, teams=2, year=2023, seed=11, batch_size=200)


@pytest.fixture
def demo(db):
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        demo_season_generate(options=OPTIONS)
    return Season.objects.get(year=2023)


def counts(qs) -> dict[str, int]:
    withdrawn = Q(status=CallbackStatus.WITHDRAWN) | Q(withdrawn_on__isnull=False)
    return qs.aggregate(
        filed=Count("id"),
        reached=Count("id", filter=~Q(status__in=[CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE])),
        confirmed=Count("id", filter=Q(status=CallbackStatus.CONFIRMED)),
        paid=Count("id", filter=Q(paid_on__isnull=False) & ~withdrawn),
        enrolled=Count("id", filter=Q(enrolled_on__isnull=False) & ~withdrawn),
        withdrawn=Count("id", filter=withdrawn),
    )


def test_demo_season_dashboards(demo, client):
    office = User.objects.get(username=OFFICE_USERNAME)
    data = dashboards.office_dashboard(season=demo)
    expected = counts(Candidate.objects.filter(season=demo))
    f = data.funnel
    assert (f.filed, f.reached, f.confirmed, f.paid, f.enrolled) == (
        expected["filed"],
        expected["reached"],
        expected["confirmed"],
        expected["paid"],
        expected["enrolled"],
    )
    assert f.filed == OPTIONS.candidates
    prev = counts(Candidate.objects.filter(season__year=2022))
    assert data.previous.year == 2022 and data.previous_funnel.filed == prev["filed"] > 0
    assert data.previous_funnel.enrolled == prev["enrolled"]
    for lv in data.levels:
        c = counts(Candidate.objects.filter(season=demo, level=lv["level"]))
        assert lv["admitted"] == c["filed"] - c["withdrawn"]
        assert lv["enrolled"] == c["enrolled"]
    assert {lv["level"] for lv in data.levels} == set(Level.values)

    team = (
        Team.objects.filter(season=demo, kind=TeamKind.REGULAR, leader__isnull=False).order_by("name").first()
    )
    leader = team.leader.user
    team_data = dashboards.team_dashboard(user=leader, season=demo, team_id=team.id)
    active = Assignment.objects.filter(active=True, caller__team=team)
    assert team_data.total.candidates == active.count()
    assert team_data.total.contacts == (active.aggregate(n=Sum("candidate__contact_count"))["n"] or 0)
    tc = counts(Candidate.objects.filter(id__in=active.values("candidate_id")))
    assert team_data.total.enrolled == tc["enrolled"]
    assert team_data.total.admitted == tc["filed"] - tc["withdrawn"]
    for m in team_data.members:
        assert m.candidates == active.filter(caller_id=m.caller_id).count()

    client.force_login(office)
    for url in ("/reports/dashboards/office/", "/reports/provinces/", "/reports/dashboards/supervision/"):
        assert client.get(url).status_code == 200
    client.force_login(leader)
    assert client.get("/reports/dashboards/team/").status_code == 200
    sup = team.supervisors.first()
    client.force_login(sup.user)
    response = client.get("/reports/dashboards/supervision/")
    assert response.status_code == 200 and team.name in response.content.decode()
