"""The team dashboard's next-tier estimate (computed from the thresholds, one engine call) gives
exactly the subsidies engine's `whatif.next_tier` (which prices every count from 1 up)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from admissions.choices import Level
from reports.dashboards import next_tier_for
from subsidies.engine.facts import LevelFacts
from subsidies.engine.phone import level_amount
from subsidies.engine.scheme import Scheme, Tier
from subsidies.engine.whatif import next_tier

DEFAULT = Scheme()


@st.composite
def facts(draw):
    admitted = draw(st.integers(min_value=1, max_value=400))
    enrolled = draw(st.integers(min_value=0, max_value=admitted))
    withdrawable = draw(st.integers(min_value=0, max_value=admitted))
    return LevelFacts(admitted + draw(st.integers(0, 5)), admitted, enrolled, withdrawable)


@st.composite
def tier_tables(draw):
    """Strictly decreasing thresholds (as the scheme form requires), 1–6 tiers."""
    n = draw(st.integers(min_value=1, max_value=6))
    thresholds = sorted(
        draw(st.sets(st.integers(min_value=0, max_value=10_000), min_size=n, max_size=n)), reverse=True
    )
    return tuple(Tier(Decimal(t).scaleb(-4), Decimal(draw(st.integers(0, 80)))) for t in thresholds)


def _same(f: LevelFacts, level: str, scheme: Scheme) -> None:
    now = level_amount(f, level, scheme)
    assert next_tier_for(f, level, scheme, now) == next_tier(f, level, scheme)


@settings(max_examples=300, deadline=None)
@given(f=facts(), level=st.sampled_from([Level.UNDERGRADUATE, Level.JUNIOR]))
def test_same_as_the_engine_with_the_default_scheme(f, level):
    _same(f, level, DEFAULT)


@settings(max_examples=300, deadline=None)
@given(f=facts(), tiers=tier_tables())
def test_same_as_the_engine_with_any_tier_table(f, tiers):
    scheme = Scheme(tiers={**DEFAULT.tiers, Level.UNDERGRADUATE: tiers})
    _same(f, Level.UNDERGRADUATE, scheme)


def test_known_values():
    # 1 of 4 enrolled: below every 本科 tier; 3 more make 100 % (tier >99.00 %, 240 yuan more)
    f = LevelFacts(4, 4, 1, 0)
    tip = next_tier_for(f, Level.UNDERGRADUATE, DEFAULT, level_amount(f, Level.UNDERGRADUATE, DEFAULT))
    assert (tip.more, tip.tier, tip.gain) == (3, ">99.00%", Decimal("240.00"))
    everyone = LevelFacts(4, 4, 4, 0)
    assert (
        next_tier_for(
            everyone, Level.UNDERGRADUATE, DEFAULT, level_amount(everyone, Level.UNDERGRADUATE, DEFAULT)
        )
        is None
    )


def test_team_dashboard_prices_each_member_level_at_most_twice(db, monkeypatch):
    """One `level_amount` for the tier now and one for the next tier, whatever the counts (the
    what-if used to price every count from 1 up to the member's admitted candidates)."""
    from reports import dashboards
    from tests.dashboards.factories import build_season

    built = build_season(previous=False, casework=False)
    calls = []

    def counting(facts, level, scheme):
        calls.append((facts, level))
        return level_amount(facts, level, scheme)

    from subsidies.engine import whatif

    monkeypatch.setattr(dashboards, "level_amount", counting)
    monkeypatch.setattr(whatif, "level_amount", counting)  # were the what-if loop used again
    data = dashboards.team_dashboard(user=built.leaders[0].user, season=built.season)
    priced = sum(len(m.tiers) for m in data.members)
    assert priced == 4  # two members, both levels
    assert len(calls) <= 2 * priced
