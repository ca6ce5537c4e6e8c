"""The denormalized season of withdrawal requests and strike cases: set by the services, filled
from the candidate on any other create, and what the season's counts and lists filter on."""

from __future__ import annotations

import pytest

from admissions.choices import CallbackStatus
from callbacks.casework_models import StrikeCase, StrikeCaseKind, StrikeCaseStatus, WithdrawalRequest
from callbacks.casework_selectors import strike_cases_for, strike_queue, withdrawals_for
from callbacks.casework_services import strike_case_escalate, withdrawal_open
from reports.dashboards import office_dashboard
from tests.casework.factories import StrikeCaseFactory, WithdrawalRequestFactory
from tests.factories import CandidateFactory, ProvinceFactory, SeasonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def last_year(season):
    return SeasonFactory(year=season.year - 1)


def test_services_set_the_candidates_season(mine, unreachable, caller):
    req = withdrawal_open(candidate=mine, user=caller.user)
    case = strike_case_escalate(
        candidate=unreachable,
        user=caller.user,
        kind=StrikeCaseKind.UNREACHABLE,
        steps_tried=["empty_number"],
        note="空号",
    )
    assert WithdrawalRequest.objects.values_list("season_id", flat=True).get(pk=req.pk) == mine.season_id
    assert StrikeCase.objects.values_list("season_id", flat=True).get(pk=case.pk) == unreachable.season_id


def test_other_creators_get_it_from_the_candidate(season, last_year, office_user):
    old = CandidateFactory(season=last_year, province=ProvinceFactory(season=last_year))
    req = WithdrawalRequestFactory(candidate=old)
    assert req.season_id == last_year.pk
    # a candidate given by id only costs one read of its season more than an explicit season
    # (the rest: the INSERT and its audit entry)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def create(**season):
        with CaptureQueriesContext(connection) as ctx:
            case = StrikeCase.objects.create(
                candidate_id=old.pk,
                kind=StrikeCaseKind.UNREACHABLE,
                status=StrikeCaseStatus.CLOSED,
                created_by=office_user,
                **season,
            )
        return case, len(ctx)

    explicit, n_explicit = create(season_id=last_year.pk)
    derived, n_derived = create()
    assert n_derived == n_explicit + 1
    assert set(
        StrikeCase.objects.filter(pk__in=[explicit.pk, derived.pk]).values_list("season_id", flat=True)
    ) == {last_year.pk}


def test_season_counts_and_lists_leave_other_seasons_out(season, last_year, office_user, mine, unreachable):
    old = CandidateFactory(
        season=last_year,
        province=ProvinceFactory(season=last_year),
        status=CallbackStatus.WITHDRAWAL_REQUESTED,
    )
    WithdrawalRequestFactory(candidate=mine)
    WithdrawalRequestFactory(candidate=old)
    WithdrawalRequestFactory(candidate=CandidateFactory(season=last_year, province=old.province))
    StrikeCaseFactory(candidate=unreachable, status=StrikeCaseStatus.APPROVED)
    StrikeCaseFactory(candidate=old, status=StrikeCaseStatus.APPROVED)
    StrikeCaseFactory(
        candidate=CandidateFactory(season=last_year, province=old.province), status=StrikeCaseStatus.PENDING
    )

    assert list(withdrawals_for(user=office_user, season=season).values_list("candidate_id", flat=True)) == [
        mine.pk
    ]
    assert withdrawals_for(user=office_user, season=last_year).count() == 2
    assert [c.candidate_id for c in strike_queue(user=office_user, season=season)] == [unreachable.pk]
    assert strike_cases_for(user=office_user, season=last_year).count() == 2

    board = office_dashboard(season=season)
    assert board.withdrawals_open == 1
    assert (board.strike["queue"], board.strike["pending"]) == (1, 0)
    board = office_dashboard(season=last_year)
    assert board.withdrawals_open == 2
    assert (board.strike["queue"], board.strike["pending"]) == (1, 1)


def test_the_counts_do_not_join_candidates(season):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        office_dashboard(season=season)
    counts = [
        q["sql"]
        for q in ctx.captured_queries
        if "callbacks_withdrawalrequest" in q["sql"] or "callbacks_strikecase" in q["sql"]
    ]
    assert len(counts) == 2
    assert all("admissions_candidate" not in sql for sql in counts), counts
