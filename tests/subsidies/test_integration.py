"""The run with the real fact sources of the other apps: supervision audits, incidents (舆情,
误退) and the strike team's credits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from callbacks.casework_models import StrikeCaseKind, StrikeCaseStatus
from subsidies.facts import load_facts
from subsidies.models import PayoutLine
from subsidies.services import payout_run_create
from supervision.choices import IncidentKind
from supervision.models import AuditScore, Incident, Scorecard
from tests.casework.factories import StrikeCaseFactory
from tests.factories import CallerFactory, ContactFactory
from tests.supervision.factories import ItemFactory, SampleFactory

D = Decimal


def audit(supervisor, caller, n):
    sample = SampleFactory(supervisor=supervisor, season=supervisor.season)
    card, _ = Scorecard.objects.get_or_create(season=supervisor.season, version=1)
    for _ in range(n):
        contact = ContactFactory(candidate=caller.assignments.first().candidate, caller=caller)
        item = ItemFactory(sample=sample, contact_log=contact, team=caller.team)
        AuditScore.objects.create(item=item, supervisor=supervisor, scorecard=card, total=D("90"))


@pytest.mark.django_db
def test_run_reads_audits_incidents_and_strike_credits(
    small_season, office_user, leader, caller, outsider, supervisor, team, other_team
):
    other_team.supervisors.add(supervisor)
    audit(supervisor, caller, 3)  # 第一组
    audit(supervisor, outsider, 2)  # 第二组: public-opinion incident
    Incident.objects.create(
        season=small_season,
        kind=IncidentKind.PUBLIC_OPINION,
        team=other_team,
        caused_by_improper_callback=True,
        description="家长在微博投诉",
        occurred_on=dt.date(2023, 8, 1),
    )
    Incident.objects.create(
        season=small_season,
        kind=IncidentKind.WRONG_WITHDRAWAL,
        team=team,
        caller=caller,
        description="材料不全导致误退",
        occurred_on=dt.date(2023, 8, 2),
    )
    striker = CallerFactory(season=small_season, team=None, is_strike=True)
    enrolled = caller.assignments.filter(candidate__enrolled_on__isnull=False).first().candidate
    StrikeCaseFactory(
        candidate=enrolled,
        kind=StrikeCaseKind.NO_SHOW,
        status=StrikeCaseStatus.CLOSED,
        holder=striker,
        verified_by=supervisor,
        verified_at=timezone.now(),
        requested_by=caller,
    )

    facts = load_facts(season=small_season)
    assert {(a.supervisor_id, a.team_id, a.count) for a in facts.audits} == {
        (supervisor.pk, team.pk, 3),
        (supervisor.pk, other_team.pk, 2),
    }
    assert facts.incident_team_ids == {other_team.pk}
    assert next(c for c in facts.callers if c.id == caller.pk).wrong_withdrawal
    assert [(s.holder_id, s.kind) for s in facts.strike_credits] == [(striker.pk, "no_show")]

    run = payout_run_create(season=small_season, user=office_user)

    def lines(person, *rules):
        qs = PayoutLine.objects.filter(run=run, person=person).order_by("position")
        return [(x.rule, x.amount) for x in qs if not rules or x.rule in rules]

    # 第一组 pooled 本科 198/200 = 99% is not above the 99% target: no uplift; 误退 in the team → 50%
    assert lines(supervisor) == [
        ("supervision", D("1.50")),
        ("supervision", D("0.00")),
        ("wrong_withdrawal_team", D("-0.75")),
    ]
    assert lines(striker) == [("strike", D("70.00"))]
    # the caller: everything halved (4,410 + 850 + 240 − 120 bottom-3 halving = 5,380 → −2,690)
    assert lines(caller, "wrong_withdrawal") == [("wrong_withdrawal", D("-2690.00"))]
    # the leader: bonus 1,500 halved for the team
    assert lines(leader, "leader", "wrong_withdrawal_team") == [
        ("leader", D("1500.00")),
        ("wrong_withdrawal_team", D("-750.00")),
    ]
