"""Sampling: random, reproducible from seed + parameters, stratified, never the same record twice."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import sampling, services
from supervision.models import AuditItem, AuditSample
from supervision.sampling import Record
from supervision.selectors import new_caller_ids, sampling_reminders
from tests.factories import CallerFactory, SeasonFactory, TeamFactory
from tests.supervision.conftest import make_contacts


def records(caller_sizes: dict[int, int], *, outcome="connected", start=1) -> list[Record]:
    out, rid = [], start
    for caller_id, n in caller_sizes.items():
        for _ in range(n):
            out.append(Record(rid, caller_id, outcome))
            rid += 1
    return out


@pytest.mark.sqlite
class TestDraw:
    def test_same_seed_same_items_different_seed_different_items(self):
        recs = {1: records({10: 50, 11: 50})}
        a = sampling.draw(recs, seed=1)
        b = sampling.draw(recs, seed=1)
        c = sampling.draw(recs, seed=2)
        assert [d.id for d in a] == [d.id for d in b]
        assert len(a) == len(c) == 20
        assert {d.id for d in a} != {d.id for d in c}

    def test_draw_does_not_depend_on_input_order(self):
        recs = records({10: 30, 11: 30})
        assert sampling.draw({1: recs}, seed=9) == sampling.draw({1: list(reversed(recs))}, seed=9)

    def test_default_twenty_per_team_or_all_when_fewer(self):
        recs = {1: records({10: 40}), 2: records({20: 7}, start=100)}
        drawn = sampling.draw(recs, seed=3)
        per_team = Counter(d.team_id for d in drawn)
        assert per_team == {1: 20, 2: 7}
        assert {d.id for d in drawn if d.team_id == 2} == set(range(100, 107))

    def test_stratified_by_caller_equal_shares(self):
        drawn = sampling.draw({1: records({10: 25, 11: 25, 12: 25, 13: 25})}, seed=5)
        assert Counter(d.stratum for d in drawn) == {
            "caller:10": 5,
            "caller:11": 5,
            "caller:12": 5,
            "caller:13": 5,
        }

    def test_new_or_flagged_callers_get_extra_weight(self):
        # weighted sizes 50/25/25/25: one each, then 16 by weight → 6.4/3.2/3.2/3.2
        drawn = sampling.draw(
            {1: records({10: 25, 11: 25, 12: 25, 13: 25})}, seed=5, caller_weights={10: 2.0}
        )
        assert Counter(d.stratum for d in drawn) == {
            "caller:10": 8,
            "caller:11": 4,
            "caller:12": 4,
            "caller:13": 4,
        }

    def test_stratified_by_outcome(self):
        recs = records({10: 30}) + records({10: 10}, outcome="no_answer", start=500)
        drawn = sampling.draw({1: recs}, seed=7, strata=("outcome",))
        assert Counter(d.stratum for d in drawn) == {"outcome:connected": 15, "outcome:no_answer": 5}

    def test_every_caller_gets_one_before_shares(self):
        drawn = sampling.draw({1: records({10: 100, 11: 1, 12: 1})}, seed=1, per_team=5)
        assert Counter(d.stratum for d in drawn) == {"caller:10": 3, "caller:11": 1, "caller:12": 1}

    def test_allocate_caps_at_stratum_size(self):
        assert sampling.allocate(20, [2, 50], [1.0, 1.0]) == [2, 18]
        assert sampling.allocate(3, [1, 1, 1, 1], [1.0] * 4) == [1, 1, 1, 0]


pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(caller, leader, outsider):
    return {
        "caller": make_contacts(caller, 15),
        "leader": make_contacts(leader, 15, outcome="no_answer"),
        "outsider": make_contacts(outsider, 10),
    }


def draw(supervisor, season, **kw):
    today = timezone.localdate()
    return services.sample_draw(
        supervisor=supervisor,
        season=season,
        period_start=today - dt.timedelta(days=7),
        period_end=today,
        **kw,
    )


def item_ids(sample: AuditSample) -> list[int]:
    return list(sample.items.order_by("contact_log_id").values_list("contact_log_id", flat=True))


@pytest.mark.sqlite
def test_draw_stores_seed_and_parameters_and_is_scoped_to_supervisors_teams(
    contacts, supervisor, season, team
):
    sample = draw(supervisor, season, seed=123)
    assert sample.seed == 123
    assert sample.parameters["per_team"] == 20
    assert sample.parameters["strata"] == ["caller"]
    assert sample.parameters["team_ids"] == [team.pk]
    drawn = set(item_ids(sample))
    assert len(drawn) == 20
    assert not drawn & {c.pk for c in contacts["outsider"]}
    assert set(sample.items.values_list("team_id", flat=True)) == {team.pk}
    # stratified by caller: 15 + 15 records → 10 each
    assert Counter(sample.items.values_list("stratum", flat=True)) == {
        f"caller:{contacts['caller'][0].caller_id}": 10,
        f"caller:{contacts['leader'][0].caller_id}": 10,
    }


def test_other_teams_cannot_be_sampled(contacts, supervisor, season, other_team):
    with pytest.raises(ValidationError):
        draw(supervisor, season, team_ids=[other_team.pk])


def test_unassigned_supervisor_cannot_sample(contacts, season):
    from tests.supervision.factories import SupervisorFactory

    with pytest.raises(ValidationError):
        draw(SupervisorFactory(season=season), season)


@pytest.mark.sqlite
def test_reproduce_gives_identical_items_even_after_later_samples(contacts, supervisor, season):
    first = draw(supervisor, season, params=services.SampleParameters(per_team=12))
    second = draw(supervisor, season, params=services.SampleParameters(per_team=12))
    make_contacts(contacts["caller"][0].caller, 5)  # new records after the draw
    assert sorted(services.sample_reproduce(sample=first)) == item_ids(first)
    assert sorted(services.sample_reproduce(sample=second)) == item_ids(second)


def test_two_seeds_draw_different_records(contacts, supervisor, season):
    a = draw(supervisor, season, seed=1, params=services.SampleParameters(per_team=5))
    # a fresh copy of the pool: delete the first sample, then draw with another seed
    first = set(item_ids(a))
    AuditItem.objects.filter(sample=a).delete()
    b = draw(supervisor, season, seed=2, params=services.SampleParameters(per_team=5))
    assert first != set(item_ids(b))


@pytest.mark.sqlite
def test_records_are_never_drawn_twice(contacts, supervisor, second_supervisor, season):
    first = draw(supervisor, season)  # 20 of 30
    second = draw(second_supervisor, season)  # the remaining 10
    third = draw(supervisor, season)
    assert len(item_ids(second)) == 10
    assert not set(item_ids(first)) & set(item_ids(second))
    assert item_ids(third) == []
    assert AuditItem.objects.values("contact_log").distinct().count() == AuditItem.objects.count() == 30


@pytest.mark.sqlite
def test_constraint_refuses_a_second_draw_of_a_record(contacts, supervisor, season):
    sample = draw(supervisor, season, params=services.SampleParameters(per_team=1))
    item = sample.items.get()
    other = AuditSample.objects.create(
        season=season, supervisor=supervisor, period_start=sample.period_start, period_end=sample.period_end
    )
    with pytest.raises(IntegrityError):
        AuditItem.objects.create(sample=other, contact_log=item.contact_log, team=item.team)


def test_invalid_parameters(contacts, supervisor, season):
    with pytest.raises(ValidationError):
        draw(supervisor, season, params=services.SampleParameters(per_team=0))
    with pytest.raises(ValidationError):
        draw(supervisor, season, params=services.SampleParameters(strata=("province",)))


def test_new_callers_and_callers_with_open_findings_are_weighted(caller, leader, supervisor, season):
    last_year = SeasonFactory(year=2022)
    CallerFactory(
        season=last_year, user=leader.user, staff_no=leader.staff_no, team=TeamFactory(season=last_year)
    )
    assert new_caller_ids(season=season, caller_ids={caller.pk, leader.pk}) == {caller.pk}
    make_contacts(caller, 3)
    make_contacts(leader, 3)
    sample = draw(supervisor, season)
    assert sample.parameters["caller_weights"] == {str(caller.pk): 2.0, str(leader.pk): 1.0}


@freeze_time("2023-07-20 10:00:00")
def test_reminder_when_team_sampled_less_than_twice_this_month(caller, supervisor, season, team):
    make_contacts(caller, 3)
    assert [r.samplings for r in sampling_reminders(user=supervisor.user, season=season)] == [0]
    draw(supervisor, season, params=services.SampleParameters(per_team=1))
    assert [r.samplings for r in sampling_reminders(user=supervisor.user, season=season)] == [1]
    draw(supervisor, season, params=services.SampleParameters(per_team=1))
    assert sampling_reminders(user=supervisor.user, season=season) == []
    # outside admission: no reminder
    assert sampling_reminders(user=supervisor.user, season=season, today=dt.date(2023, 9, 20)) == []


@pytest.mark.sqlite
@settings(max_examples=60, deadline=None)
@given(
    sizes=st.dictionaries(st.integers(1, 6), st.integers(1, 40), min_size=1, max_size=5),
    per_team=st.integers(1, 30),
    seed=st.integers(0, 2**62),
    by_outcome=st.booleans(),
    heavy=st.sets(st.integers(1, 6)),
)
def test_draw_properties(sizes, per_team, seed, by_outcome, heavy):
    recs = records(sizes)
    recs = [Record(r.id, r.caller_id, "no_answer" if r.id % 3 == 0 else "connected") for r in recs]
    strata = ("caller", "outcome") if by_outcome else ("caller",)
    weights = {c: 2.0 for c in heavy}
    drawn = sampling.draw({1: recs}, seed=seed, per_team=per_team, strata=strata, caller_weights=weights)
    ids = [d.id for d in drawn]
    assert len(ids) == len(set(ids)) == min(per_team, len(recs))
    assert set(ids) <= {r.id for r in recs}
    assert drawn == sampling.draw(
        {1: recs}, seed=seed, per_team=per_team, strata=strata, caller_weights=weights
    )
    # every stratum is represented when the sample is at least as large as the number of strata
    keys = {sampling.stratum_key(r, strata) for r in recs}
    if per_team >= len(keys):
        assert {d.stratum for d in drawn} == keys
