"""Property-based tests (hypothesis): contact logging and the subsidy scheme form never crash,
never half-write, and keep their invariants for any input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admissions.choices import PhoneOwner
from admissions.models import Candidate, CandidatePhone
from callbacks.choices import Channel, Intent, Outcome, RiskSignal
from callbacks.models import ContactLog
from callbacks.services import MAX_DURATION_SECONDS, contact_log, status_after_contact
from subsidies.engine.scheme import Scheme
from subsidies.forms import SchemeForm
from subsidies.models import SubsidyScheme
from subsidies.services import scheme_for, scheme_update
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, ProvinceFactory, TeamFactory

pytestmark = pytest.mark.django_db
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

junk = st.text(min_size=0, max_size=12)
contacts = st.fixed_dictionaries(
    {
        "outcome": st.one_of(st.sampled_from(Outcome.values), junk),
        "intent": st.one_of(st.sampled_from(Intent.values), junk),
        "channel": st.sampled_from(Channel.values),
        "duration_seconds": st.integers(min_value=-100, max_value=MAX_DURATION_SECONDS + 100),
        "minutes_ago": st.integers(min_value=-30, max_value=60 * 24 * 60),
        "risk_signals": st.lists(st.one_of(st.sampled_from(RiskSignal.values), junk), max_size=4),
        "notes": st.text(max_size=200),
        "new_phones": st.lists(
            st.tuples(
                st.one_of(st.from_regex(r"1[3-9]\d{9}", fullmatch=True), junk),
                st.one_of(st.sampled_from(PhoneOwner.values), junk),
            ),
            max_size=2,
        ),
        "withdrawable": st.booleans(),
    }
)


@pytest.fixture
def desk(season):
    team = TeamFactory(season=season)
    caller = CallerFactory(season=season, team=team)
    return caller


@PROPERTY
@given(data=contacts)
def test_contact_logging_all_or_nothing(desk, data):
    province = ProvinceFactory(season=desk.season, province="河南" if data["withdrawable"] else "四川")
    province.withdrawable = data["withdrawable"]
    province.save(update_fields=["withdrawable"])
    cand = CandidateFactory(season=desk.season, province=province)
    AssignmentFactory(candidate=cand, caller=desk)
    before = Candidate.objects.values("status", "contact_count", "contact_seconds").get(pk=cand.pk)
    phones_before = CandidatePhone.objects.filter(candidate=cand).count()
    try:
        log = contact_log(
            caller=desk,
            candidate=cand,
            contacted_at=timezone.now() - dt.timedelta(minutes=data["minutes_ago"]),
            outcome=data["outcome"],
            intent=data["intent"],
            channel=data["channel"],
            duration_seconds=data["duration_seconds"],
            risk_signals=data["risk_signals"],
            notes=data["notes"],
            new_phones=data["new_phones"],
        )
    except ValidationError as exc:
        # refused: a message per field, in Chinese, and nothing written
        assert exc.message_dict
        assert all(
            any("\u4e00" <= ch <= "\u9fff" for ch in m) for ms in exc.message_dict.values() for m in ms
        )
        after = Candidate.objects.values("status", "contact_count", "contact_seconds").get(pk=cand.pk)
        assert after == before
        assert not ContactLog.objects.filter(candidate=cand).exists()
        assert CandidatePhone.objects.filter(candidate=cand).count() == phones_before
        return
    after = Candidate.objects.values("status", "contact_count", "contact_seconds").get(pk=cand.pk)
    assert after["contact_count"] == before["contact_count"] + 1
    assert after["contact_seconds"] == before["contact_seconds"] + data["duration_seconds"]
    assert after["status"] == status_after_contact(
        current=before["status"], outcome=data["outcome"], intent=data["intent"]
    )
    assert 0 <= log.duration_seconds <= MAX_DURATION_SECONDS
    assert log.outcome in Outcome.values
    assert set(log.risk_signals) <= set(RiskSignal.values)
    assert ContactLog.objects.filter(candidate=cand).count() == 1


def scheme_post(scheme: Scheme) -> dict[str, str]:
    form = SchemeForm(scheme=scheme)
    data = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else str(value)
    data["note"] = "调整"
    return data


field_values = st.one_of(
    junk,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["", " ", "-1", "0", "1e400", "NaN", "1,000", "０.５", "0.95 300\n0.9 x", "1 2 3"]),
)


@PROPERTY
@given(changes=st.lists(st.tuples(st.integers(min_value=0, max_value=500), field_values), max_size=3))
def test_scheme_form_valid_means_a_working_scheme(season, office_user, changes):
    current = scheme_for(season)
    scheme = Scheme.from_dict(current.params)
    data = scheme_post(scheme)
    names = sorted(k for k in data if k != "note")
    for index, value in changes:
        data[names[index % len(names)]] = value
    form = SchemeForm(data, scheme=scheme)
    versions = SubsidyScheme.objects.filter(season=season).count()
    if not form.is_valid():
        assert form.errors
        return
    params = form.cleaned_data["params"]
    parsed = Scheme.from_dict(params)  # what the form accepted, the engine reads
    assert Scheme.from_dict(parsed.to_dict()) == parsed  # and it survives a save/load
    new = scheme_update(season=season, params=params, note="调整", user=office_user)
    assert new.version == current.version + 1
    assert SubsidyScheme.objects.filter(season=season).count() == versions + 1


def test_the_unchanged_form_is_valid(season):
    scheme = Scheme.from_dict(scheme_for(season).params)
    form = SchemeForm(scheme_post(scheme), scheme=scheme)
    assert form.is_valid(), form.errors
    assert Scheme.from_dict(form.cleaned_data["params"]) == scheme
