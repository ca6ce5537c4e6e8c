"""The admin says when a regular team leaves the plan's 8–13 members (the roster import warns the
same way): on the team list (人数 column) and when a caller is moved between teams."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from callbacks.models import Caller
from tests.factories import CallerFactory, SeasonFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams():
    season = SeasonFactory()
    first, second = TeamFactory(season=season, name="第一组"), TeamFactory(season=season, name="第二组")
    for team in (first, second):
        CallerFactory.create_batch(8, season=season, team=team)
    return first, second


def test_moving_a_caller_warns_about_the_team_left_below_eight(two_teams):
    first, second = two_teams
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    request = RequestFactory().post("/")
    request.user = superuser
    request.session = {}
    request._messages = FallbackStorage(request)
    moved = Caller.objects.filter(team=first).first()
    moved.team = second
    model_admin = admin.site._registry[Caller]
    model_admin.save_model(request, moved, SimpleNamespace(initial={"team": first.pk}), change=True)

    texts = [str(m) for m in get_messages(request)]
    assert texts == ["小组“第一组”现有 7 人，通常为 8–13 人"]  # 第二组 has 9: fine
    assert Caller.objects.filter(team=second).count() == 9


def test_the_team_list_flags_sizes_outside_the_plan(client, two_teams):
    first, _second = two_teams
    Caller.objects.filter(team=first).first().delete()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:callbacks_team_changelist")).content.decode()
    assert "7 ⚠" in html
    assert ">8<" in html
