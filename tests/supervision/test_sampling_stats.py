"""The sampling draw is random in the statistical sense (issue 5: "sampling is proven random").

`supervision.sampling.draw` is pure, so it is run over SEEDS = 2,000 consecutive seeds and the
inclusion counts of every record are compared with what a uniform draw without replacement
gives: a record of a stratum of n records, of which k are drawn, is included with probability
p = k / n, so over T draws its count X is Binomial(T, p) (mean Tp, sd sqrt(T p (1 - p))).

Two fixed, documented tolerances (chosen so that a correct draw fails far less than once in
10,000 runs, while a biased one — e.g. always favouring low ids, or a stratum getting the wrong
share — fails at once):

- per record: |X - Tp| <= 5 sd. One record exceeds it with probability ~5.7e-7; with at most 100
  records per test, the whole test fails by chance with probability < 1e-4.
- overall: the chi-square statistic sum((X - Tp)^2 / (T p (1 - p))) over a stratum's n records
  (n - 1 degrees of freedom: the counts of a stratum always add up to T k) must stay below the
  chi-square quantile 0.9999 (Wilson–Hilferty approximation, accurate to well under 1% here).

Stratification: with strata by caller (and by outcome), every single draw must give each stratum
exactly `allocate`'s share (one each first, then in proportion to size, largest remainder), and
within each stratum the records must be included uniformly (same tests as above).
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist

import pytest

from supervision.sampling import Record, allocate, draw, stratum_key

SEEDS = range(2000)
SD_TOLERANCE = 5.0
CHI2_LEVEL = 0.9999


def chi2_quantile(q: float, df: int) -> float:
    """Wilson–Hilferty: chi2_q(df) ~ df * (1 - 2/(9 df) + z_q sqrt(2/(9 df)))^3."""
    z = NormalDist().inv_cdf(q)
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def test_chi2_quantile_matches_the_tables():
    """Sanity check of the approximation against published values (chi2 0.999 quantiles)."""
    assert chi2_quantile(0.999, 99) == pytest.approx(148.23, rel=0.01)
    assert chi2_quantile(0.999, 19) == pytest.approx(43.82, rel=0.01)


def inclusion_counts(records, *, per_team, strata, seeds=SEEDS):
    counts: Counter[int] = Counter()
    per_stratum: list[Counter[str]] = []
    for seed in seeds:
        drawn = draw({1: records}, seed=seed, per_team=per_team, strata=strata)
        ids = [d.id for d in drawn]
        assert len(ids) == len(set(ids)), "a record was drawn twice in one sample"
        counts.update(ids)
        per_stratum.append(Counter(d.stratum for d in drawn))
    return counts, per_stratum


def assert_uniform(counts: Counter[int], ids: list[int], k: int, trials: int) -> None:
    """Every record of `ids` (a stratum of which k are drawn per trial) is included ~ trials * k/n."""
    n = len(ids)
    p = k / n
    mean = trials * p
    if p == 1:
        assert all(counts[i] == trials for i in ids)
        return
    sd = math.sqrt(trials * p * (1 - p))
    worst = max(ids, key=lambda i: abs(counts[i] - mean))
    assert abs(counts[worst] - mean) <= SD_TOLERANCE * sd, (worst, counts[worst], mean, sd)
    chi2 = sum((counts[i] - mean) ** 2 for i in ids) / (trials * p * (1 - p))
    assert chi2 <= chi2_quantile(CHI2_LEVEL, n - 1), (chi2, n)


def test_unstratified_inclusion_frequency_is_per_team_over_n():
    records = [Record(id=i, caller_id=1 + i % 7, outcome="connected") for i in range(1, 101)]
    counts, per_stratum = inclusion_counts(records, per_team=20, strata=())
    assert all(c == Counter({"all": 20}) for c in per_stratum)
    assert sum(counts.values()) == 20 * len(SEEDS)
    assert_uniform(counts, [r.id for r in records], 20, len(SEEDS))


def test_low_and_high_ids_are_equally_likely():
    """No drift with the id (records are scored in id order): the first and last halves are
    included equally often, within 5 sd of a hypergeometric split of each draw's 20."""
    records = [Record(id=i, caller_id=1, outcome="connected") for i in range(1, 101)]
    counts, _ = inclusion_counts(records, per_team=20, strata=())
    low = sum(counts[i] for i in range(1, 51))
    # per draw: Hypergeometric(N=100, K=50, n=20): mean 10, var 20 * .5 * .5 * 80/99
    sd = math.sqrt(len(SEEDS) * 20 * 0.25 * 80 / 99)
    assert abs(low - 10 * len(SEEDS)) <= SD_TOLERANCE * sd


def caller_records():
    """Four callers with 10, 20, 30 and 40 contact logs, outcomes mixed within each caller."""
    records, rid = [], 1
    for caller_id, size in ((11, 10), (12, 20), (13, 30), (14, 40)):
        for j in range(size):
            records.append(
                Record(id=rid, caller_id=caller_id, outcome=("connected", "no_answer")[j % 3 == 0])
            )
            rid += 1
    return records


@pytest.mark.parametrize("strata", [("caller",), ("caller", "outcome")], ids=["caller", "caller+outcome"])
def test_stratified_draws_give_every_stratum_its_share_and_are_uniform_inside(strata):
    records = caller_records()
    groups: dict[str, list[int]] = {}
    for r in records:
        groups.setdefault(stratum_key(r, strata), []).append(r.id)
    keys = sorted(groups)
    shares = dict(
        zip(keys, allocate(20, [len(groups[k]) for k in keys], [len(groups[k]) for k in keys]), strict=True)
    )
    if strata == ("caller",):
        # one each first, the other 16 by size (1.6, 3.2, 4.8, 6.4 → largest remainders .8, .6)
        assert [shares[f"caller:{c}"] for c in (11, 12, 13, 14)] == [3, 4, 6, 7]
    assert sum(shares.values()) == 20

    counts, per_stratum = inclusion_counts(records, per_team=20, strata=strata)
    for c in per_stratum:  # every single draw, not just on average
        assert dict(c) == {k: v for k, v in shares.items() if v}
    for key in keys:
        assert_uniform(counts, groups[key], shares[key], len(SEEDS))


def test_a_biased_draw_would_fail_these_checks():
    """The tolerances have teeth: a draw that prefers low ids a little (one record in 100 swapped
    for a lower one in a fifth of the draws) is caught by the same checks."""
    records = [Record(id=i, caller_id=1, outcome="connected") for i in range(1, 101)]
    counts, _ = inclusion_counts(records, per_team=20, strata=())
    biased = Counter(counts)
    biased[1] += len(SEEDS) // 5
    biased[100] -= len(SEEDS) // 5
    with pytest.raises(AssertionError):
        assert_uniform(biased, [r.id for r in records], 20, len(SEEDS))
