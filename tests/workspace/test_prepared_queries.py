"""Precompiled queries (callback_office.prepared) give exactly what the ORM gives.

"My candidates" opens with a query compiled once per process, and its reminders come from that
query's rows. These tests compare both, on PostgreSQL and SQLite, with every kind of row the
order distinguishes (due follow-ups, never contacted, hesitant, unreachable, decided, a tie),
and check that a query whose SQL cannot be reused is refused instead of mis-bound.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.db.models import F, Value
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Candidate, Season
from callback_office.prepared import NotPreparable, PreparedValues
from callbacks import selectors
from callbacks.models import Assignment
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, ContactFactory, PhoneFactory

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def held(caller, *, next_call_at=None, **kw):
    candidate = CandidateFactory(season=caller.season, **kw)
    AssignmentFactory(caller=caller, candidate=candidate, next_call_at=next_call_at)
    return candidate


@pytest.fixture
def varied(caller):
    """25 due follow-ups (more than the 20 reminders), two of them due at the same minute, and
    every other priority group, plus another caller's candidates that must not show."""
    now = timezone.now()
    for i in range(25):
        held(caller, next_call_at=now - dt.timedelta(minutes=i % 23), status=CallbackStatus.HESITANT)
    held(caller, next_call_at=now + dt.timedelta(days=1))  # a follow-up not yet due
    held(caller, status=CallbackStatus.UNCONTACTED)
    held(caller, status=CallbackStatus.HESITANT, contact_count=2, last_contact_at=now - dt.timedelta(days=2))
    held(
        caller, status=CallbackStatus.UNREACHABLE, contact_count=4, last_contact_at=now - dt.timedelta(days=1)
    )
    held(caller, status=CallbackStatus.CONFIRMED, contact_count=1, last_contact_at=now)
    other = CallerFactory(season=caller.season, team=caller.team)
    held(other, next_call_at=now - dt.timedelta(hours=1))
    return now


def orm_first_page(caller, now):
    qs = selectors.my_candidates(caller=caller, now=now).values(*selectors.MY_CANDIDATE_FIELDS)
    return list(qs[: selectors.MY_CANDIDATES_PAGE + 1])


def test_first_page_is_the_orm_list_row_for_row(caller, varied):
    rows = selectors.my_candidates_first_page(caller_id=caller.pk, season_id=caller.season_id, now=varied)
    assert len(rows) == 30
    assert rows == orm_first_page(caller, varied)  # same values, same types (converters applied)
    assert isinstance(rows[0]["next_call_at"], dt.datetime) and rows[0]["next_call_at"].tzinfo is not None
    assert [r["followup_due"] for r in rows].count(True) == 25


def test_count_is_the_orm_lists_count(caller, varied):
    ended = held(caller)
    Assignment.objects.filter(candidate=ended).update(active=False)
    expected = selectors.my_candidates(caller=caller, now=varied).count()
    assert expected == 30
    assert selectors.my_candidates_count(caller_id=caller.pk, season_id=caller.season_id) == expected
    other = Assignment.objects.exclude(caller=caller).values_list("caller_id", flat=True).get()
    assert selectors.my_candidates_count(caller_id=other, season_id=caller.season_id) == 1
    assert (
        selectors.my_candidates_count(caller_id=caller.pk, season_id=Season.objects.create(year=1999).pk) == 0
    )


def test_arguments_are_bound_per_call_not_frozen_at_the_first(caller, varied):
    selectors.my_candidates_first_page(caller_id=caller.pk, season_id=caller.season_id, now=varied)
    earlier = varied - dt.timedelta(minutes=10)  # fewer follow-ups are due then
    rows = selectors.my_candidates_first_page(caller_id=caller.pk, season_id=caller.season_id, now=earlier)
    assert rows == orm_first_page(caller, earlier)
    assert [r["followup_due"] for r in rows].count(True) == 13  # due 10 minutes or more before
    other = CallerFactory(season=caller.season)
    held(other)
    assert (
        len(selectors.my_candidates_first_page(caller_id=other.pk, season_id=other.season_id, now=varied))
        == 1
    )
    assert selectors.my_candidates_first_page(caller_id=caller.pk, season_id=-1, now=varied) == []


def test_reminders_from_the_rows_are_the_due_query(caller, varied):
    rows = selectors.my_candidates_first_page(caller_id=caller.pk, season_id=caller.season_id, now=varied)
    due = selectors.followups_due_in(rows=rows)
    assert len(due) == 20
    assert due == selectors.followups_due(caller=caller, now=varied)
    assert [d["next_call_at"] for d in due] == sorted(d["next_call_at"] for d in due)


def test_the_page_shows_the_oldest_due_reminders(client, caller, varied):
    client.force_login(caller.user)
    html = client.get("/callbacks/mine/").content.decode()
    oldest = Assignment.objects.filter(caller=caller, next_call_at__lte=timezone.now()).order_by(
        "next_call_at"
    )
    reminder_block = html.split('class="reminders"')[1].split("</div>")[0]
    assert reminder_block.count('class="tag warn"') == 20
    assert oldest.first().candidate.name in reminder_block


def test_caller_current_loads_caller_season_and_team(caller, django_assert_num_queries):
    newer = Season.objects.create(year=caller.season.year + 1)
    user = User.objects.get(pk=caller.user_id)
    assert selectors.caller_current(user=user) is None  # no profile in the latest season
    newer.delete()
    user = User.objects.get(pk=caller.user_id)
    with django_assert_num_queries(1):
        found = selectors.caller_current(user=user)
        assert (found.pk, found.season.year, found.team.name) == (
            caller.pk,
            caller.season.year,
            caller.team.name,
        )
    assert found._state.adding is False and found.season_id == caller.season_id
    assert selectors.caller_for(user=user, season=caller.season) is found  # cached for the request
    caller.team = None
    caller.save()
    assert selectors.caller_current(user=User.objects.get(pk=caller.user_id)).team is None


def test_a_query_whose_sql_depends_on_the_arguments_is_refused(season):
    by_ids = PreparedValues(
        lambda ids: Candidate.objects.filter(id__in=ids).values("id"),
        sample_a={"ids": [1]},
        sample_b={"ids": [1, 2]},
    )
    with pytest.raises(NotPreparable):
        by_ids(ids=[3])


def test_samples_that_cannot_be_located_are_refused():
    build = lambda a, b: Candidate.objects.filter(id=a, season_id=b).values("id")  # noqa: E731
    with pytest.raises(ValueError):  # equal values: which slot is whose?
        PreparedValues(build, sample_a={"a": 1, "b": 1}, sample_b={"a": 2, "b": 3})
    with pytest.raises(ValueError):  # True == 1
        PreparedValues(build, sample_a={"a": True, "b": 1}, sample_b={"a": False, "b": 6})
    with pytest.raises(ValueError):
        PreparedValues(build, sample_a={"a": None, "b": 5}, sample_b={"a": 2, "b": 6})


def test_each_call_is_checked_as_the_orm_would(caller, varied):
    first_page = selectors.my_candidates_first_page
    args = {"caller_id": caller.pk, "season_id": caller.season_id, "now": varied}
    assert first_page(**args)
    with pytest.raises(TypeError):  # = NULL would match nothing
        first_page(**{**args, "caller_id": None})
    with pytest.raises(TypeError):
        first_page(**{**args, "caller_id": str(caller.pk)})
    with pytest.raises(TypeError):  # read as UTC by PostgreSQL, as local time by the ORM
        first_page(**{**args, "now": varied.replace(tzinfo=None)})
    with pytest.raises(TypeError):
        first_page(**args, extra=1)


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused(caller):
    from django.db import connection, transaction
    from django.db.transaction import TransactionManagementError

    locked = PreparedValues(
        lambda pk: Candidate.objects.select_for_update().filter(pk=pk).values("id"),
        sample_a={"pk": -2_000_000_001},
        sample_b={"pk": -2_000_000_002},
    )
    candidate = held(caller)
    with transaction.atomic():
        assert locked(pk=candidate.pk) == [{"id": candidate.pk}]
    if not connection.features.has_select_for_update:  # SQLite: no row locks, the ORM lets it pass
        assert locked(pk=candidate.pk) == [{"id": candidate.pk}]
        return
    with pytest.raises(TransactionManagementError):
        locked(pk=candidate.pk)


def test_a_derived_parameter_is_refused(season):
    shifted = PreparedValues(
        lambda n: Candidate.objects.filter(contact_count=n + 1).values("id"),
        sample_a={"n": 10},
        sample_b={"n": 20},
    )
    with pytest.raises(NotPreparable):
        shifted(n=1)


def test_an_unused_argument_is_refused(season):
    unused = PreparedValues(
        lambda n: Candidate.objects.annotate(k=Value(1)).filter(contact_count=F("k")).values("id"),
        sample_a={"n": 10},
        sample_b={"n": 20},
    )
    with pytest.raises(NotPreparable):
        unused(n=1)


def test_held_candidate_is_the_orm_instance_with_its_phones(caller, django_assert_num_queries):
    now = timezone.now()
    candidate = held(
        caller, next_call_at=now + dt.timedelta(hours=3), name="李四", id_number="110101200501011234"
    )
    PhoneFactory(candidate=candidate, number="13800000001")
    PhoneFactory(candidate=candidate, number="13800000002", owner="parent")
    with django_assert_num_queries(2):  # the candidate (+ province, season), its phones
        found = selectors.candidate_held_by(caller=caller, pk=candidate.pk)
        phones = [(p.number, p.owner) for p in found.phones.all()]
        assert (found.province.province, found.season.year) == (
            candidate.province.province,
            caller.season.year,
        )
    orm = Candidate.objects.get(pk=candidate.pk)
    fields = [f.attname for f in Candidate._meta.concrete_fields]
    assert [getattr(found, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert phones == [(p.number, p.owner) for p in orm.phones.all()]
    assert found.next_call_at == now + dt.timedelta(hours=3)
    other = CallerFactory(season=caller.season, team=caller.team)
    assert selectors.candidate_held_by(caller=other, pk=candidate.pk) is None


def test_history_rows_are_the_contacts_newest_first(caller):
    candidate = held(caller)
    now = timezone.now()
    for hours in (5, 1, 3):
        ContactFactory(candidate=candidate, caller=caller, contacted_at=now - dt.timedelta(hours=hours))
    ContactFactory(candidate=held(caller), caller=caller)  # someone else's history
    rows = selectors.contact_history_rows(candidate_id=candidate.pk)
    assert [r["contacted_at"] for r in rows] == [now - dt.timedelta(hours=h) for h in (1, 3, 5)]
    assert {r["caller__name"] for r in rows} == {caller.name}
    assert set(rows[0]) == set(selectors.HISTORY_FIELDS)


def test_prepared_update_binds_every_call_and_counts_rows(caller):
    from callbacks.services import _update_contact_summary

    a, b = held(caller), held(caller)
    now = timezone.now()
    for seconds in (30, 45):
        assert (
            _update_contact_summary(
                pk=a.pk,
                status=CallbackStatus.HESITANT,
                seconds=seconds,
                contacted_at=now,
                now=now,
                masters=False,
            )
            == 1
        )
    assert _update_contact_summary(pk=-1, status="x", seconds=1, contacted_at=now, now=now, masters=True) == 0
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.contact_count, a.contact_seconds, a.last_contact_at) == ("hesitant", 2, 75, now)
    assert (b.contact_count, b.contact_seconds, b.last_contact_at) == (0, 0, None)
    earlier = now - dt.timedelta(days=1)  # an older contact logged late keeps the latest date
    _update_contact_summary(
        pk=a.pk, status="confirmed", seconds=0, contacted_at=earlier, now=now, masters=True
    )
    a.refresh_from_db()
    assert (a.status, a.contact_count, a.last_contact_at, a.masters_track_interest) == (
        "confirmed",
        3,
        now,
        True,
    )
