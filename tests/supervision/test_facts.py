"""The selectors other apps read (INTERFACES.md): audited counts, incidents, open findings, and the
audit ledger, follow-up ledger checks and no-show verification."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from admissions.choices import CallbackStatus
from callbacks.models import StrikeCase
from supervision import selectors, services
from supervision.choices import FindingStatus, IncidentKind
from supervision.selectors import (
    audited_record_counts,
    incident_team_ids,
    ledger_shortfalls,
    open_findings_by_caller,
    wrong_withdrawal_caller_ids,
)
from tests.factories import AssignmentFactory, CandidateFactory, ContactFactory, SeasonFactory, TeamFactory
from tests.supervision.factories import FindingFactory, ItemFactory, SampleFactory

pytestmark = pytest.mark.django_db


def incident(season, team, kind, caller=None, improper=False, user=None):
    return services.incident_record(
        season=season,
        kind=kind,
        team=team,
        caller=caller,
        caused_by_improper_callback=improper,
        description="经过",
        handling="",
        occurred_on=dt.date(2023, 7, 20),
        handled_on=None,
        user=user,
    )


def test_incident_selectors(season, team, other_team, caller, outsider, office_user):
    third = TeamFactory(season=season, name="第三组")
    incident(season, team, IncidentKind.PUBLIC_OPINION, improper=True, user=office_user)
    incident(season, other_team, IncidentKind.PUBLIC_OPINION, improper=False, user=office_user)
    incident(season, third, IncidentKind.COMPLAINT, improper=True, user=office_user)
    incident(season, other_team, IncidentKind.WRONG_WITHDRAWAL, caller=outsider, user=office_user)
    incident(season, team, IncidentKind.MISCONDUCT, caller=caller, user=office_user)
    assert incident_team_ids(season=season) == {team.pk}
    assert wrong_withdrawal_caller_ids(season=season) == {outsider.pk}
    assert incident_team_ids(season=SeasonFactory(year=2024)) == set()


def test_incident_validation(season, team, outsider, office_user):
    with pytest.raises(ValidationError):
        incident(season, team, IncidentKind.WRONG_WITHDRAWAL, user=office_user)
    with pytest.raises(ValidationError):  # caller of another team
        incident(season, team, IncidentKind.COMPLAINT, caller=outsider, user=office_user)


def test_audited_counts_and_open_findings(
    season, team, other_team, caller, outsider, supervisor, second_supervisor, other_supervisor
):
    s1 = SampleFactory(supervisor=supervisor, season=season)
    mine = [
        ItemFactory(
            sample=s1, contact_log=ContactFactory(caller=caller, candidate=CandidateFactory(season=season))
        )
        for _ in range(3)
    ]
    s2 = SampleFactory(supervisor=other_supervisor, season=season)
    theirs = ItemFactory(
        sample=s2, contact_log=ContactFactory(caller=outsider, candidate=CandidateFactory(season=season))
    )
    card = services.scorecard_current(season=season)
    marks = {str(c.id): c.max_points for c in card.criteria.all()}
    for it in mine[:2]:
        services.audit_score_submit(item=it, supervisor=supervisor, marks=marks)
    services.audit_score_submit(item=mine[0], supervisor=second_supervisor, marks=marks)
    services.audit_score_submit(item=theirs, supervisor=other_supervisor, marks=marks)
    assert audited_record_counts(season=season) == {
        (supervisor.pk, team.pk): 2,
        (second_supervisor.pk, team.pk): 1,
        (other_supervisor.pk, other_team.pk): 1,
    }
    FindingFactory(item=mine[0])
    FindingFactory(item=mine[1], status=FindingStatus.RESPONDED)
    FindingFactory(item=mine[1], status=FindingStatus.CLOSED)
    FindingFactory(item=mine[2], status=FindingStatus.DISMISSED)
    FindingFactory(item=theirs, status=FindingStatus.DISPUTED)
    assert open_findings_by_caller(season=season) == {caller.pk: 2, outsider.pk: 1}

    rows = selectors.audit_ledger(user=supervisor.user, season=season)
    assert [(r.team_name, r.audited, r.findings) for r in rows] == [(team.name, 2, 4)]


def test_ledger_shortfalls(season, team, caller, leader):
    now = timezone.now()
    good = [
        AssignmentFactory(
            caller=caller,
            candidate=CandidateFactory(
                season=season,
                contact_count=5,
                contact_seconds=25 * 60,
                last_contact_at=now - dt.timedelta(days=1),
            ),
        )
        for _ in range(2)
    ]
    AssignmentFactory(
        caller=leader,
        candidate=CandidateFactory(
            season=season, contact_count=2, contact_seconds=30 * 60, last_contact_at=now
        ),
    )
    AssignmentFactory(
        caller=leader,
        candidate=CandidateFactory(
            season=season,
            contact_count=6,
            contact_seconds=30 * 60,
            last_contact_at=now - dt.timedelta(days=10),
        ),
    )
    AssignmentFactory(
        caller=leader, candidate=CandidateFactory(season=season, status=CallbackStatus.WITHDRAWN)
    )
    rows = {r.caller: r for r in ledger_shortfalls(team_ids={team.pk}, season=season, now=now)}
    assert not rows[caller].flagged and rows[caller].candidates == len(good)
    r = rows[leader]
    assert (r.candidates, str(r.avg_contacts), str(r.avg_minutes), r.stale, r.flagged) == (
        2,
        "4.0",
        "30.0",
        1,
        True,
    )


def test_ledger_check_record(season, team, caller, supervisor, other_supervisor):
    AssignmentFactory(caller=caller, candidate=CandidateFactory(season=season, contact_count=1))
    check = services.ledger_check_record(supervisor=supervisor, team=team, note="已提醒")
    assert [f["caller_id"] for f in check.flagged] == [caller.pk]
    assert check.parameters == {"min_contacts": 4, "min_minutes": 20, "stale_days": 7}
    with pytest.raises(ValidationError):
        services.ledger_check_record(supervisor=other_supervisor, team=team)


# --- no-show verification -----------------------------------------------------------------------


def strike_case(caller, kind="no_show", status="approved"):
    cand = CandidateFactory(season=caller.season)
    AssignmentFactory(caller=caller, candidate=cand)
    return StrikeCase.objects.create(
        candidate=cand, kind=kind, status=status, requested_by=caller, created_by=caller.user
    )


def test_noshow_verify_confirms(caller, supervisor):
    case = strike_case(caller)
    assert not case.takeable
    services.noshow_verify(case=case, supervisor=supervisor, note="听了两段录音，确认不来", confirmed=True)
    case.refresh_from_db()
    assert (case.verified_by, case.verification_note) == (supervisor, "听了两段录音，确认不来")
    assert case.verified_at is not None and case.takeable
    with pytest.raises(ValidationError):
        services.noshow_verify(case=case, supervisor=supervisor, note="again", confirmed=True)


def test_noshow_verify_rejects(caller, supervisor):
    case = strike_case(caller, kind="after_registration")
    services.noshow_verify(case=case, supervisor=supervisor, note="记录与录音不符", confirmed=False)
    case.refresh_from_db()
    assert case.status == "dismissed" and case.verified_at is None and not case.takeable


def test_noshow_verify_scope_and_kind(caller, supervisor, other_supervisor):
    with pytest.raises(ValidationError):
        services.noshow_verify(
            case=strike_case(caller), supervisor=other_supervisor, note="x", confirmed=True
        )
    with pytest.raises(ValidationError):
        services.noshow_verify(
            case=strike_case(caller, kind="unreachable"), supervisor=supervisor, note="x", confirmed=True
        )
    with pytest.raises(ValidationError):
        services.noshow_verify(case=strike_case(caller), supervisor=supervisor, note=" ", confirmed=True)
