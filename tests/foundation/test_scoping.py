"""Row-level scoping: who sees which candidates, and who sees full personal data."""

import pytest
from django.db import IntegrityError

from callback_office.privacy import mask_id_number, mask_phone
from callbacks.selectors import can_see_full_pii, candidates_for
from tests.factories import AssignmentFactory, CandidateFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def cast(caller, leader, outsider, supervisor, office_user):
    mine = AssignmentFactory(caller=caller, candidate=CandidateFactory(season=caller.season)).candidate
    leaders_own = AssignmentFactory(caller=leader, candidate=CandidateFactory(season=caller.season)).candidate
    theirs = AssignmentFactory(caller=outsider, candidate=CandidateFactory(season=caller.season)).candidate
    unassigned = CandidateFactory(season=caller.season)
    return {"mine": mine, "leaders_own": leaders_own, "theirs": theirs, "unassigned": unassigned}


def visible(user, season):
    return set(candidates_for(user=user, season=season).values_list("exam_number", flat=True))


def test_caller_sees_only_own_candidates(cast, caller):
    assert visible(caller.user, caller.season) == {cast["mine"].exam_number}


def test_leader_sees_whole_team_but_not_other_teams(cast, leader):
    assert visible(leader.user, leader.season) == {cast["mine"].exam_number, cast["leaders_own"].exam_number}


def test_supervisor_sees_assigned_teams_only(cast, supervisor):
    assert visible(supervisor.user, supervisor.season) == {
        cast["mine"].exam_number,
        cast["leaders_own"].exam_number,
    }


def test_office_sees_everything(cast, office_user, season):
    assert len(visible(office_user, season)) == 4


def test_full_pii_only_for_assigned_caller_and_office(cast, caller, leader, supervisor, office_user):
    mine = cast["mine"]
    assert can_see_full_pii(user=caller.user, candidate=mine)
    assert can_see_full_pii(user=office_user, candidate=mine)
    assert not can_see_full_pii(user=leader.user, candidate=mine)
    assert not can_see_full_pii(user=supervisor.user, candidate=mine)


def test_one_active_assignment_per_candidate(cast, outsider):
    with pytest.raises(IntegrityError):
        AssignmentFactory(caller=outsider, candidate=cast["mine"])


def test_exam_number_unique_per_season(season):
    CandidateFactory(season=season, exam_number="X1")
    with pytest.raises(IntegrityError):
        CandidateFactory(season=season, exam_number="X1")


def test_masking():
    assert mask_id_number("510101200501011234") == "510101********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
