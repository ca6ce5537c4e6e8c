"""Qualification gating, findings: acknowledge/dispute window, arbitration, rectification,
calibration agreement."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from callbacks.choices import QualificationStatus, TeamKind
from callbacks.services import assignment_claim
from supervision import services
from supervision.choices import FindingCategory, FindingStatus, ReviewOutcome, Severity
from supervision.models import AuditScore, FindingEvent, QualificationReview
from supervision.selectors import agreement, calibration_report, visible_scores
from tests.factories import CallerFactory, CandidateFactory, ContactFactory, TeamFactory
from tests.supervision.factories import ItemFactory, SampleFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


# --- qualification ------------------------------------------------------------------------------


def test_review_sets_status_and_unblocks_claiming(season, team, supervisor):
    newbie = CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    CandidateFactory(season=season, in_pool=True)
    with pytest.raises(ValidationError, match="资格审查尚未通过"):
        assignment_claim(caller=newbie, count=1)
    review = services.qualification_review_record(
        caller=newbie,
        reviewer=supervisor.user,
        trained=True,
        script_tested=True,
        rules_acknowledged=True,
        outcome=ReviewOutcome.QUALIFIED,
    )
    newbie.refresh_from_db()
    assert newbie.qualified
    assert review.reviewer == supervisor.user
    assert len(assignment_claim(caller=newbie, count=1)) == 1


def test_passing_needs_all_three_checks_and_rejection_needs_a_reason(season, team, supervisor):
    c = CallerFactory(season=season, team=team, qualification_status=QualificationStatus.PENDING)
    with pytest.raises(ValidationError):
        services.qualification_review_record(
            caller=c,
            reviewer=supervisor.user,
            trained=True,
            script_tested=False,
            rules_acknowledged=True,
            outcome=ReviewOutcome.QUALIFIED,
        )
    with pytest.raises(ValidationError):
        services.qualification_review_record(
            caller=c,
            reviewer=supervisor.user,
            trained=True,
            script_tested=False,
            rules_acknowledged=True,
            outcome=ReviewOutcome.REJECTED,
        )
    services.qualification_review_record(
        caller=c,
        reviewer=supervisor.user,
        trained=True,
        script_tested=False,
        rules_acknowledged=True,
        outcome=ReviewOutcome.REJECTED,
        note="话术考核未通过",
    )
    c.refresh_from_db()
    assert c.qualification_status == QualificationStatus.REJECTED
    assert QualificationReview.objects.filter(caller=c).count() == 1


# --- scoring and findings -----------------------------------------------------------------------


@pytest.fixture
def item(caller, supervisor, season):
    sample = SampleFactory(supervisor=supervisor, season=season)
    return ItemFactory(
        sample=sample, contact_log=ContactFactory(caller=caller, candidate=CandidateFactory(season=season))
    )


def full_marks(season, **override):
    card = services.scorecard_current(season=season)
    marks = {str(c.id): c.max_points for c in card.criteria.all()}
    for position, value in override.items():
        crit = card.criteria.get(position=int(position.removeprefix("p")))
        marks[str(crit.id)] = value
    return marks


def score(item, sup, **override):
    return services.audit_score_submit(
        item=item, supervisor=sup, marks=full_marks(item.sample.season, **override)
    )


def finding(item, sup):
    return services.finding_create(
        item=item,
        author=sup,
        severity=Severity.MAJOR,
        category=FindingCategory.POLICY,
        description="政策讲解错误",
        required_rectification="回电更正",
    )


def test_default_scorecard_has_the_seeds_standards(season):
    card = services.scorecard_current(season=season)
    assert [c.label for c in card.criteria.all()] == [
        "礼貌开场并表明身份",
        "所在省份政策讲解准确",
        "无虚假宣传或违规承诺",
        "无禁用语",
        "记录与通话一致（不得虚假回访）",
        "下一步安排清楚",
    ]
    assert card.version == 1


def test_score_total_is_weighted(item, supervisor):
    # weights 1,2,3,1,3,1 (sum 11); policy (weight 2) 5/10 → (11 - 1) / 11 = 90.91 %
    s = score(item, supervisor, p2=5)
    assert s.total == Decimal("90.91")


def test_score_validation_and_once_per_supervisor(item, supervisor, other_supervisor):
    with pytest.raises(ValidationError):
        score(item, supervisor, p1=11)
    score(item, supervisor)
    with pytest.raises(ValidationError):
        score(item, supervisor)
    with pytest.raises(ValidationError):  # not their team
        score(item, other_supervisor)


def test_scorecard_revision_keeps_old_scores(item, supervisor, office_user, season):
    old = score(item, supervisor)
    card = services.scorecard_revise(
        season=season, user=office_user, criteria=[("礼貌开场", 5, Decimal("1")), ("", 5, Decimal("1"))]
    )
    assert card.version == 2
    assert [c.label for c in card.criteria.all()] == ["礼貌开场"]
    old.refresh_from_db()
    assert old.scorecard.version == 1


def test_blind_scoring(item, supervisor, second_supervisor, office_user, season):
    score(item, supervisor)
    assert visible_scores(item=item, user=second_supervisor.user, season=season) == []
    assert len(visible_scores(item=item, user=office_user, season=season)) == 1
    score(item, second_supervisor)
    assert len(visible_scores(item=item, user=second_supervisor.user, season=season)) == 2


def test_finding_needs_a_score_first(item, supervisor):
    with pytest.raises(ValidationError):
        finding(item, supervisor)


def test_rectification_flow(item, supervisor, caller, leader):
    score(item, supervisor)
    f = finding(item, supervisor)
    assert (f.caller, f.team, f.status) == (caller, caller.team, FindingStatus.OPEN)
    services.finding_acknowledge(finding=f, caller=caller)
    with pytest.raises(ValidationError):  # cannot verify before a response
        services.finding_verify(finding=f, supervisor=supervisor, accepted=True)
    services.finding_respond(finding=f, caller=leader, text="组内已复盘")
    services.finding_respond(finding=f, caller=caller, text="已回电更正")
    f.refresh_from_db()
    assert f.status == FindingStatus.RESPONDED
    assert f.leader_response == "组内已复盘"
    services.finding_verify(finding=f, supervisor=supervisor, accepted=False, note="未回电")
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN
    services.finding_respond(finding=f, caller=caller, text="已回电，考生确认")
    services.finding_verify(finding=f, supervisor=supervisor, accepted=True, note="录音已核")
    f.refresh_from_db()
    assert (f.status, f.verified_by) == (FindingStatus.CLOSED, supervisor)
    assert list(FindingEvent.objects.filter(finding=f).values_list("action", flat=True)) == [
        "create",
        "acknowledge",
        "leader_respond",
        "respond",
        "reopen",
        "respond",
        "verify",
    ]
    with pytest.raises(ValidationError):
        services.finding_respond(finding=f, caller=caller, text="again")


def test_only_the_caller_acknowledges_or_disputes(item, supervisor, leader, outsider):
    score(item, supervisor)
    f = finding(item, supervisor)
    for other in (leader, outsider):
        with pytest.raises(ValidationError):
            services.finding_acknowledge(finding=f, caller=other)
        with pytest.raises(ValidationError):
            services.finding_dispute(finding=f, caller=other, reason="x")
    with pytest.raises(ValidationError):
        services.finding_respond(finding=f, caller=outsider, text="x")


def test_dispute_window(item, supervisor, caller, settings):
    settings.FINDING_DISPUTE_DAYS = 3
    score(item, supervisor)
    with freeze_time("2023-07-20 09:00:00"):
        late = finding(item, supervisor)
        on_time = finding(item, supervisor)
        assert late.dispute_deadline.isoformat() == "2023-07-23T09:00:00+00:00"
    with freeze_time("2023-07-23 08:59:00"):
        services.finding_dispute(finding=on_time, caller=caller, reason="录音里讲的是对的")
    with freeze_time("2023-07-23 09:01:00"), pytest.raises(ValidationError, match="申诉期限"):
        services.finding_dispute(finding=late, caller=caller, reason="太晚了")
    on_time.refresh_from_db()
    assert on_time.status == FindingStatus.DISPUTED
    with pytest.raises(ValidationError):  # no second dispute
        services.finding_dispute(finding=on_time, caller=caller, reason="again")


def test_acknowledged_finding_cannot_be_disputed(item, supervisor, caller):
    score(item, supervisor)
    f = finding(item, supervisor)
    services.finding_acknowledge(finding=f, caller=caller)
    with pytest.raises(ValidationError):
        services.finding_dispute(finding=f, caller=caller, reason="改主意了")


def test_arbitration_by_another_supervisor_only(
    item, supervisor, second_supervisor, other_supervisor, caller, season
):
    score(item, supervisor)
    f = finding(item, supervisor)
    services.finding_dispute(finding=f, caller=caller, reason="讲解无误")
    with pytest.raises(ValidationError, match="不能仲裁自己"):
        services.finding_arbitrate(finding=f, user=supervisor.user, upheld=True, note="维持")
    with pytest.raises(ValidationError):  # a supervisor of another team is not a party
        services.finding_arbitrate(finding=f, user=other_supervisor.user, upheld=True, note="维持")
    with pytest.raises(ValidationError):  # the caller cannot decide
        services.finding_arbitrate(finding=f, user=caller.user, upheld=False, note="撤销")
    services.finding_arbitrate(finding=f, user=second_supervisor.user, upheld=False, note="录音核实无误")
    f.refresh_from_db()
    assert (f.status, f.arbitrated_by, f.arbitration_upheld) == (
        FindingStatus.DISMISSED,
        second_supervisor.user,
        False,
    )


def test_supervision_lead_arbitrates_and_upheld_goes_back_to_rectification(
    item, supervisor, other_supervisor, caller, season
):
    TeamFactory(season=season, name="督查组", kind=TeamKind.SUPERVISION, leader=other_supervisor)
    score(item, supervisor)
    f = finding(item, supervisor)
    services.finding_dispute(finding=f, caller=caller, reason="讲解无误")
    services.finding_arbitrate(finding=f, user=other_supervisor.user, upheld=True, note="录音确有错误")
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN and f.acknowledged_at is not None
    with pytest.raises(ValidationError):
        services.finding_arbitrate(finding=f, user=other_supervisor.user, upheld=False, note="again")


# --- calibration --------------------------------------------------------------------------------


def test_agreement_on_a_hand_example():
    class S:
        def __init__(self, marks):
            self.marks = marks

    scores = [S({"1": 10, "2": 8}), S({"1": 10, "2": 5}), S({"1": 8, "2": 8})]
    a, b = agreement(scores, [(1, "开场"), (2, "政策")])
    # criterion 1: pairs (10,10)=0 (10,8)=2 (10,8)=2 → mean 4/3, identical 1/3
    assert (a.pairs, a.mean_abs_diff, a.identical_share) == (3, Decimal("1.33"), Decimal("0.3333"))
    # criterion 2: (8,5)=3 (8,8)=0 (5,8)=3 → mean 2, identical 1/3
    assert (b.pairs, b.mean_abs_diff, b.identical_share) == (3, Decimal("2.00"), Decimal("0.3333"))


def test_calibration_report_via_calibration_items(item, supervisor, other_supervisor, season):
    with pytest.raises(ValidationError):
        score(item, other_supervisor)
    services.item_set_calibration(item=item, calibration=True)
    score(item, supervisor, p1=10, p2=8)
    score(item, other_supervisor, p1=6, p2=8)
    [row] = calibration_report(season=season)
    assert row.item == item
    by_label = {c.label: c for c in row.criteria}
    assert by_label["礼貌开场并表明身份"].mean_abs_diff == Decimal("4.00")
    assert by_label["礼貌开场并表明身份"].identical_share == Decimal("0")
    assert by_label["所在省份政策讲解准确"].identical_share == Decimal("1")
    assert AuditScore.objects.filter(item=item).count() == 2


def test_supervisor_must_be_flagged(season, item):
    plain = SupervisorFactory(season=season, is_supervisor=False)
    item.team.supervisors.add(plain)
    with pytest.raises(ValidationError):
        score(item, plain)
