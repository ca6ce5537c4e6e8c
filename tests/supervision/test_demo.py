"""The supervision demo seeder on a small demo season, and every page rendered with its data."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings
from django.urls import reverse

from admissions.models import Season
from callbacks.choices import QualificationStatus, TeamKind
from callbacks.demo import OFFICE_USERNAME, DemoOptions, demo_season_delete, demo_season_generate
from callbacks.models import Caller, Team
from supervision import demo, services
from supervision.models import AuditSample, AuditScore, Finding, Incident, QualificationReview

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMALL = DemoOptions(candidates=200, callers=20, teams=2, year=2019, seed=5, batch_size=100)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_season(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(DEMO_SEEDERS=[], PASSWORD_HASHERS=FAST_HASHERS):
        demo_season_generate(options=SMALL)
        season = Season.objects.get(year=SMALL.year)
        demo.seed(season, random.Random(1))
    yield season
    with django_db_blocker.unblock():
        for year in (SMALL.year, SMALL.year - 1):
            demo_season_delete(year=year)
        User.objects.filter(username=OFFICE_USERNAME).delete()
        Group.objects.all().delete()


def test_seeder_builds_reviews_samples_scores_and_findings(demo_season):
    season = demo_season
    teams = Team.objects.filter(season=season, kind=TeamKind.REGULAR)
    assert AuditSample.objects.filter(season=season).count() == teams.count()
    for sample in AuditSample.objects.filter(season=season):
        assert sorted(services.sample_reproduce(sample=sample)) == sorted(
            sample.items.values_list("contact_log_id", flat=True)
        )
    assert AuditScore.objects.filter(item__sample__season=season).exists()
    assert Finding.objects.filter(season=season).exists()
    assert Incident.objects.filter(season=season).count() == 1
    qualified = Caller.objects.filter(season=season, qualification_status=QualificationStatus.QUALIFIED)
    assert QualificationReview.objects.filter(caller__in=qualified).count() == qualified.count()


def test_every_page_renders_with_demo_data(client, demo_season, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    season = demo_season
    sample = AuditSample.objects.filter(season=season).first()
    sup = sample.supervisor
    item = sample.items.filter(findings__isnull=False).first()
    finding = item.findings.first()
    pages = [
        reverse("supervision:home"),
        reverse("supervision:qualification"),
        reverse("supervision:samples"),
        reverse("supervision:sample", args=[sample.pk]),
        reverse("supervision:item", args=[item.pk]),
        reverse("supervision:findings"),
        reverse("supervision:finding", args=[finding.pk]),
        reverse("supervision:arbitration"),
        reverse("supervision:incidents"),
        reverse("supervision:noshow"),
        reverse("supervision:ledger_checks") + f"?team={item.team_id}",
        reverse("supervision:ledger"),
        reverse("supervision:contact_attachments", args=[item.contact_log_id]),
    ]
    client.force_login(sup.user)
    for url in pages:
        assert client.get(url).status_code == 200, url
    client.force_login(User.objects.get(username=OFFICE_USERNAME))
    for url in [
        *pages,
        reverse("supervision:coverage"),
        reverse("supervision:scorecard"),
        reverse("supervision:calibration"),
    ]:
        assert client.get(url).status_code == 200, url
    client.force_login(finding.caller.user)
    resp = client.get(reverse("supervision:my_findings"))
    assert finding.description in resp.content.decode()
