"""Pages: the role matrix (403 for callers and leaders, 404 for other supervisors' objects),
constant query counts on lists, and the main flows through the views."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from callbacks.choices import QualificationStatus
from callbacks.models import StrikeCase
from supervision import services
from supervision.choices import FindingStatus
from supervision.models import AuditItem, AuditSample, Finding, Incident, LedgerCheck, QualificationReview
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, ContactFactory
from tests.supervision.conftest import make_contacts
from tests.supervision.factories import FindingFactory, ItemFactory, SampleFactory

pytestmark = pytest.mark.django_db

SUPERVISOR_PAGES = [
    "supervision:home",
    "supervision:qualification",
    "supervision:samples",
    "supervision:findings",
    "supervision:arbitration",
    "supervision:incidents",
    "supervision:noshow",
    "supervision:ledger_checks",
    "supervision:ledger",
]
OFFICE_PAGES = ["supervision:coverage", "supervision:scorecard", "supervision:calibration"]


@pytest.fixture
def world(season, team, caller, leader, supervisor, other_supervisor, outsider):
    sample = SampleFactory(supervisor=supervisor, season=season)
    item = ItemFactory(
        sample=sample, contact_log=ContactFactory(caller=caller, candidate=CandidateFactory(season=season))
    )
    services.audit_score_submit(
        item=item,
        supervisor=supervisor,
        marks={str(c.id): c.max_points for c in services.scorecard_current(season=season).criteria.all()},
    )
    finding = FindingFactory(item=item)
    cand = CandidateFactory(season=season)
    AssignmentFactory(caller=caller, candidate=cand)
    case = StrikeCase.objects.create(
        candidate=cand, kind="no_show", status="approved", requested_by=caller, created_by=caller.user
    )
    pending = CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    return {"sample": sample, "item": item, "finding": finding, "case": case, "pending": pending}


@pytest.mark.parametrize("name", SUPERVISOR_PAGES + OFFICE_PAGES)
def test_callers_and_leaders_are_refused(client, world, caller, leader, name):
    for user in (caller.user, leader.user):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403
    client.logout()
    assert client.get(reverse(name)).status_code == 302


@pytest.mark.parametrize("name", SUPERVISOR_PAGES)
def test_supervisor_and_office_open_supervisor_pages(client, world, supervisor, office_user, name):
    for user in (supervisor.user, office_user):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", OFFICE_PAGES)
def test_office_pages_are_office_only(client, world, supervisor, office_user, name):
    client.force_login(supervisor.user)
    assert client.get(reverse(name)).status_code == 403
    client.force_login(office_user)
    assert client.get(reverse(name)).status_code == 200


def test_other_supervisor_gets_404_for_objects_of_teams_they_do_not_cover(client, world, other_supervisor):
    client.force_login(other_supervisor.user)
    w = world
    gets = [
        reverse("supervision:sample", args=[w["sample"].pk]),
        reverse("supervision:item", args=[w["item"].pk]),
        reverse("supervision:finding", args=[w["finding"].pk]),
        reverse("supervision:contact_attachments", args=[w["item"].contact_log_id]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        (reverse("supervision:item_score", args=[w["item"].pk]), {}),
        (reverse("supervision:item_finding", args=[w["item"].pk]), {}),
        (reverse("supervision:finding_verify", args=[w["finding"].pk]), {"accepted": "1"}),
        (reverse("supervision:finding_arbitrate", args=[w["finding"].pk]), {"upheld": "1", "note": "x"}),
        (reverse("supervision:noshow_decide", args=[w["case"].pk]), {"confirmed": "1", "note": "x"}),
        (reverse("supervision:qualification_review", args=[w["pending"].pk]), {"outcome": "qualified"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    html = client.get(reverse("supervision:findings")).content.decode()
    assert "未表明身份" not in html
    assert "待核实" in client.get(reverse("supervision:noshow")).content.decode()
    assert w["case"].candidate.name not in client.get(reverse("supervision:noshow")).content.decode()


def test_my_findings_matrix(client, world, caller, leader, outsider, supervisor):
    url = reverse("supervision:my_findings")
    client.force_login(supervisor.user)
    assert client.get(url).status_code == 403
    for user, sees in ((caller.user, True), (leader.user, True), (outsider.user, False)):
        client.force_login(user)
        resp = client.get(url)
        assert resp.status_code == 200
        assert ("未表明身份" in resp.content.decode()) is sees
    client.force_login(outsider.user)
    act = reverse("supervision:my_finding_action", args=[world["finding"].pk, "acknowledge"])
    assert client.post(act).status_code == 404
    client.force_login(leader.user)
    client.post(act)
    world["finding"].refresh_from_db()
    assert world["finding"].acknowledged_at is None  # only the caller acknowledges


def test_nav_items(client, world, caller, supervisor):
    client.force_login(supervisor.user)
    html = client.get(reverse("home")).content.decode()
    assert 'href="/supervision/"' in html and reverse("supervision:my_findings") not in html
    client.force_login(caller.user)
    html = client.get(reverse("home")).content.decode()
    assert reverse("supervision:my_findings") in html and 'href="/supervision/"' not in html


def test_flow_draw_score_find_acknowledge_respond_verify(client, season, team, caller, supervisor, leader):
    make_contacts(caller, 4)
    client.force_login(supervisor.user)
    resp = client.post(
        reverse("supervision:sample_new"),
        {"period_start": "2000-01-01", "period_end": "2100-01-01", "per_team": "3", "strata": ["caller"]},
    )
    sample = AuditSample.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("supervision:sample", args=[sample.pk])
    assert sample.items.count() == 3
    item = sample.items.first()
    card = services.scorecard_current(season=season)
    marks = {f"c_{c.pk}": c.max_points for c in card.criteria.all()}
    client.post(reverse("supervision:item_score", args=[item.pk]), {**marks, "comment": "好"})
    client.post(
        reverse("supervision:item_finding", args=[item.pk]),
        {
            "severity": "major",
            "category": "policy",
            "description": "政策讲错",
            "required_rectification": "回电",
        },
    )
    f = Finding.objects.get()
    client.force_login(caller.user)
    client.post(reverse("supervision:my_finding_action", args=[f.pk, "acknowledge"]))
    client.post(reverse("supervision:my_finding_action", args=[f.pk, "respond"]), {"text": "已回电更正"})
    client.force_login(leader.user)
    client.post(reverse("supervision:my_finding_action", args=[f.pk, "respond"]), {"text": "组内复盘"})
    client.force_login(supervisor.user)
    client.post(reverse("supervision:finding_verify", args=[f.pk]), {"accepted": "1", "note": "已核实"})
    f.refresh_from_db()
    assert f.status == FindingStatus.CLOSED
    assert (f.caller_response, f.leader_response) == ("已回电更正", "组内复盘")


def test_dispute_and_arbitration_views(client, world, caller, supervisor, second_supervisor):
    f = world["finding"]
    client.force_login(caller.user)
    client.post(reverse("supervision:my_finding_action", args=[f.pk, "dispute"]), {"reason": "讲解无误"})
    client.force_login(supervisor.user)
    assert "讲解无误" not in client.get(reverse("supervision:arbitration")).content.decode()
    client.post(reverse("supervision:finding_arbitrate", args=[f.pk]), {"upheld": "0", "note": "自己"})
    f.refresh_from_db()
    assert f.status == FindingStatus.DISPUTED
    client.force_login(second_supervisor.user)
    assert f"/supervision/findings/{f.pk}/" in client.get(reverse("supervision:arbitration")).content.decode()
    client.post(reverse("supervision:finding_arbitrate", args=[f.pk]), {"upheld": "0", "note": "录音无误"})
    f.refresh_from_db()
    assert f.status == FindingStatus.DISMISSED


def test_qualification_view(client, world, supervisor):
    client.force_login(supervisor.user)
    pending = world["pending"]
    assert pending.name in client.get(reverse("supervision:qualification")).content.decode()
    client.post(
        reverse("supervision:qualification_review", args=[pending.pk]),
        {"trained": "on", "script_tested": "on", "rules_acknowledged": "on", "outcome": "qualified"},
    )
    pending.refresh_from_db()
    assert pending.qualified
    assert QualificationReview.objects.get().reviewer == supervisor.user


def test_coverage_and_scorecard_views(client, season, team, supervisor, other_supervisor, office_user):
    client.force_login(office_user)
    client.post(reverse("supervision:coverage"), {"team": team.pk, "supervisors": [other_supervisor.pk]})
    assert list(team.supervisors.all()) == [other_supervisor]
    client.post(
        reverse("supervision:scorecard"),
        {"label": ["开场", "政策", ""], "max_points": ["5", "10", "10"], "weight": ["1", "2.5", "1"]},
    )
    card = services.scorecard_current(season=season)
    assert card.version == 2
    assert [(c.label, c.max_points, str(c.weight)) for c in card.criteria.all()] == [
        ("开场", 5, "1.00"),
        ("政策", 10, "2.50"),
    ]


def test_incident_and_noshow_and_ledger_check_views(client, world, season, team, caller, supervisor):
    client.force_login(supervisor.user)
    client.post(
        reverse("supervision:incidents"),
        {
            "kind": "public_opinion",
            "team": team.pk,
            "caller": caller.pk,
            "caused_by_improper_callback": "on",
            "description": "家长发帖",
            "occurred_on": "2023-07-20",
        },
    )
    assert Incident.objects.get().caused_by_improper_callback
    client.post(
        reverse("supervision:noshow_decide", args=[world["case"].pk]), {"confirmed": "1", "note": "已核录音"}
    )
    world["case"].refresh_from_db()
    assert world["case"].verified_by == supervisor
    client.post(reverse("supervision:ledger_checks"), {"team": team.pk, "note": "抽查"})
    assert LedgerCheck.objects.get().team == team


def test_audit_ledger_export(client, world, supervisor, team):
    client.force_login(supervisor.user)
    resp = client.get(reverse("supervision:ledger"), {"format": "xlsx"})
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("督查", "小组", "已评记录数", "发现问题数")
    assert rows[1][:4] == (supervisor.name, team.name, 1, 1)


def test_list_pages_have_constant_query_counts(
    client, django_assert_max_num_queries, season, team, caller, supervisor, office_user
):
    sample = SampleFactory(supervisor=supervisor, season=season)
    for _ in range(12):
        item = ItemFactory(
            sample=sample,
            contact_log=ContactFactory(caller=caller, candidate=CandidateFactory(season=season)),
        )
        FindingFactory(item=item)
    for _ in range(5):
        CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    client.force_login(supervisor.user)
    for url in (
        reverse("supervision:home"),
        reverse("supervision:samples"),
        reverse("supervision:sample", args=[sample.pk]),
        reverse("supervision:findings"),
        reverse("supervision:qualification"),
        reverse("supervision:noshow"),
        reverse("supervision:ledger"),
        reverse("supervision:incidents"),
        reverse("supervision:ledger_checks") + f"?team={team.pk}",
    ):
        with django_assert_max_num_queries(16):
            assert client.get(url).status_code == 200
    client.force_login(caller.user)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("supervision:my_findings")).status_code == 200
    client.force_login(office_user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("supervision:calibration")).status_code == 200
    assert AuditItem.objects.count() == 12


def test_calibration_items_reach_other_supervisors_blind(
    client, world, supervisor, other_supervisor, office_user
):
    item = world["item"]
    client.force_login(office_user)
    client.post(reverse("supervision:item_calibration", args=[item.pk]), {"calibration": "on"})
    client.force_login(other_supervisor.user)
    assert (
        reverse("supervision:item", args=[item.pk])
        in client.get(reverse("supervision:home")).content.decode()
    )
    html = client.get(reverse("supervision:item", args=[item.pk])).content.decode()
    assert "你提交后才能看到" in html and supervisor.name not in html
    card = services.scorecard_current(season=item.sample.season)
    client.post(
        reverse("supervision:item_score", args=[item.pk]), {f"c_{c.pk}": 7 for c in card.criteria.all()}
    )
    html = client.get(reverse("supervision:item", args=[item.pk])).content.decode()
    assert supervisor.name in html
    assert (
        reverse("supervision:item", args=[item.pk])
        not in client.get(reverse("supervision:home")).content.decode()
    )


def test_supervision_lead_opens_and_arbitrates_other_teams_disputes(
    client, world, caller, other_supervisor, season
):
    from callbacks.choices import TeamKind
    from tests.factories import TeamFactory

    TeamFactory(season=season, name="督查组", kind=TeamKind.SUPERVISION, leader=other_supervisor)
    f = world["finding"]
    services.finding_dispute(finding=f, caller=caller, reason="讲解无误")
    client.force_login(other_supervisor.user)
    assert f"/supervision/findings/{f.pk}/" in client.get(reverse("supervision:arbitration")).content.decode()
    assert client.get(reverse("supervision:finding", args=[f.pk])).status_code == 200
    client.post(reverse("supervision:finding_arbitrate", args=[f.pk]), {"upheld": "1", "note": "维持"})
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN


def test_upload_redirect_stays_on_site(client, world, caller):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(caller.user)
    url = reverse("supervision:contact_attachments", args=[world["item"].contact_log_id])
    resp = client.post(
        url, {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.4 x"), "next": "https://evil.example/"}
    )
    assert resp["Location"] == url


def test_supervision_lead_sees_every_team_but_scores_only_covered_ones(
    client, world, other_supervisor, season
):
    from callbacks.choices import TeamKind
    from tests.factories import TeamFactory

    TeamFactory(season=season, name="督查组", kind=TeamKind.SUPERVISION, leader=other_supervisor)
    item = world["item"]
    client.force_login(other_supervisor.user)
    assert client.get(reverse("supervision:item", args=[item.pk])).status_code == 200
    card = services.scorecard_current(season=season)
    client.post(
        reverse("supervision:item_score", args=[item.pk]), {f"c_{c.pk}": 7 for c in card.criteria.all()}
    )
    assert not item.scores.filter(supervisor=other_supervisor).exists()


def test_malformed_ids_are_404_not_500(client, world, supervisor, office_user):
    client.force_login(office_user)
    assert client.post(reverse("supervision:coverage"), {"team": "x"}).status_code == 404
    client.force_login(supervisor.user)
    assert client.post(reverse("supervision:incidents"), {"team": "1 OR 1=1"}).status_code == 404
    assert client.get(reverse("supervision:ledger_checks"), {"team": "abc"}).status_code == 404


def test_finding_history_reads_in_words_not_codes(client, world, caller, other_supervisor, season):
    """处理经过 names each step and status in Chinese (回访员申诉（待整改 → 申诉中）), not codes."""
    from callbacks.choices import TeamKind
    from tests.factories import TeamFactory

    TeamFactory(season=season, name="督查组", kind=TeamKind.SUPERVISION, leader=other_supervisor)
    f = world["finding"]
    services.finding_dispute(finding=f, caller=caller, reason="讲解无误")
    client.force_login(other_supervisor.user)
    html = client.get(reverse("supervision:finding", args=[f.pk])).content.decode()
    assert "回访员申诉（待整改 → 申诉中） 讲解无误" in html
    assert "dispute" not in html and "open→" not in html
