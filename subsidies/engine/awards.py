"""七 awards: best team (pool split by grade, leader 20%), excellent individual, special award."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from subsidies.engine.facts import CallerFacts, SeasonFacts
from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import frac, percent, yuan
from subsidies.engine.ranking import mean, top_ids
from subsidies.engine.scheme import JUNIOR, LEVELS, UNDERGRADUATE, Scheme
from subsidies.engine.teams import TeamPool

GRADE_LABELS = ("一等奖", "二等奖", "三等奖")


@dataclass(frozen=True)
class TeamAward:
    team_id: int
    eligible: bool
    why: str
    rank: int | None = None
    grade: int | None = None  # 1, 2, 3
    amount: Fraction = Fraction(0)


def grades(winners: int) -> list[int]:
    """Grade of each winner by rank: the first third (rounded up) 1st, up to two thirds 2nd, rest 3rd."""
    first = ceil(Fraction(winners, 3))
    second = ceil(Fraction(2 * winners, 3))
    return [1 if i < first else 2 if i < second else 3 for i in range(winners)]


def best_team_outcomes(pools: list[TeamPool], scheme: Scheme) -> dict[int, TeamAward]:
    """Eligibility, ranking and grade of every regular team with candidates."""
    considered = [p for p in pools if p.combined.admitted > 0]
    if not considered:
        return {}
    mean_count = mean([p.combined.assigned for p in considered])
    level_rates = {lv: [r for p in considered if (r := p.rate(lv)) is not None] for lv in LEVELS}
    level_means = {lv: mean(rates) for lv, rates in level_rates.items() if rates}
    outcomes: dict[int, TeamAward] = {}
    eligible: list[TeamPool] = []
    for p in considered:
        why = []
        if p.combined.assigned < mean_count:
            why.append(f"回访人数 {p.combined.assigned} 低于平均 {yuan(mean_count)}")
        for lv in (UNDERGRADUATE, JUNIOR):
            if lv not in level_means:
                continue
            rate = p.rate(lv)
            label = "本科" if lv == UNDERGRADUATE else "专科"
            if rate is None:
                why.append(f"没有{label}考生")
            elif not rate > level_means[lv]:
                why.append(f"{label}报到率 {percent(rate)} 未超过平均 {percent(level_means[lv])}")
        if p.wrong_withdrawal_ids:
            why.append("组内有误退，取消评奖资格")
        if why:
            outcomes[p.team.id] = TeamAward(p.team.id, False, "；".join(why))
        else:
            eligible.append(p)
    eligible.sort(key=lambda p: (-p.combined.rate, -p.combined.enrolled, p.team.name, p.team.id))  # type: ignore[operator]
    winners = floor(frac(scheme.best_team_share_of_teams) * len(considered))
    if eligible:
        winners = max(winners, 1)
    winners = min(winners, len(eligible))
    grade_of = grades(winners)
    grade_sizes = {g: grade_of.count(g) for g in (1, 2, 3)}
    for i, p in enumerate(eligible):
        if i >= winners:
            outcomes[p.team.id] = TeamAward(
                p.team.id, True, f"排名第 {i + 1}，未进入前 {winners} 名", rank=i + 1
            )
            continue
        grade = grade_of[i]
        share = frac(scheme.best_team_grade_shares[grade - 1])
        amount = frac(scheme.best_team_pool) * share / grade_sizes[grade]
        outcomes[p.team.id] = TeamAward(
            p.team.id,
            True,
            f"排名第 {i + 1}，{GRADE_LABELS[grade - 1]}（奖金池 {yuan(scheme.best_team_pool)} 元的 "
            f"{percent(share)}，{grade_sizes[grade]} 个小组平分）",
            rank=i + 1,
            grade=grade,
            amount=amount,
        )
    return outcomes


def best_team_lines(
    ledger: Ledger,
    facts: SeasonFacts,
    pool: TeamPool,
    award: TeamAward,
    award_ok: dict[int, str],
    scheme: Scheme,
) -> None:
    """Split a winning team's award: leader 20%, the rest equally among the other members."""
    if award.grade is None:
        return
    members = facts.members(pool.team.id)
    leader_id = pool.team.leader_id if any(m.id == pool.team.leader_id for m in members) else None
    others = [m for m in members if m.id != leader_id]
    shares: dict[int, tuple[Fraction, str]] = {}
    if leader_id is not None and others:
        leader_part = award.amount * frac(scheme.best_team_leader_share)
        shares[leader_id] = (leader_part, f"组长占 {percent(scheme.best_team_leader_share)}")
        each = (award.amount - leader_part) / len(others)
        for m in others:
            shares[m.id] = (each, f"其余 {len(others)} 名组员平分 {yuan(award.amount - leader_part)} 元")
    else:
        for m in members:
            shares[m.id] = (award.amount / len(members), f"{len(members)} 名组员平分")
    grade_label = GRADE_LABELS[award.grade - 1]
    points = scheme.points_best_team[award.grade - 1]
    for person_id, (amount, how) in shares.items():
        blocked = award_ok.get(person_id)
        ledger.add(
            person_id,
            "best_team",
            0 if blocked else amount,
            f"小组「{pool.team.name}」获最佳小组{grade_label}，小组奖金 {yuan(award.amount)} 元，{how}"
            + (f"；{blocked}，本人份额不发放" if blocked else ""),
            subject=f"team:{pool.team.id}",
            inputs={
                "team_id": pool.team.id,
                "grade": award.grade,
                "team_award": award.amount,
                "rank": award.rank,
            },
            tier=grade_label,
            points=0 if blocked else points,
        )


def individual_lines(
    ledger: Ledger, ranked: list[CallerFacts], award_ok: dict[int, str], scheme: Scheme
) -> None:
    """Excellent individual (top 10% by count and by rate) and special award (≥ mean count, 100%)."""
    if not ranked:
        return
    by_count = top_ids(ranked, lambda c: c.combined.assigned, scheme.excellent_top_share)
    by_rate = top_ids(ranked, lambda c: c.combined.rate, scheme.excellent_top_share)  # type: ignore[arg-type,return-value]
    excellent = [c for c in ranked if c.id in by_count and c.id in by_rate]
    paid = [c for c in excellent if c.id not in award_ok]
    top = percent(scheme.excellent_top_share)
    for c in excellent:
        blocked = award_ok.get(c.id)
        each = frac(scheme.excellent_pool) / len(paid) if paid else Fraction(0)
        ledger.add(
            c.id,
            "excellent",
            0 if blocked else each,
            f"回访量 {c.combined.assigned} 人居前 {top}，报到率 {percent(c.combined.rate)} 居前 {top}："
            + (
                f"{blocked}，不发放"
                if blocked
                else f"奖金池 {yuan(scheme.excellent_pool)} 元由 {len(paid)} 人平分"
            ),
            inputs={"assigned": c.combined.assigned, "rate": c.combined.rate, "winners": len(paid)},
            rate=c.combined.rate,
            points=0 if blocked else scheme.points_excellent,
        )
    mean_count = mean([c.combined.assigned for c in ranked])
    for c in ranked:
        if c.combined.assigned >= mean_count and c.combined.rate == 1:
            blocked = award_ok.get(c.id)
            ledger.add(
                c.id,
                "special",
                0 if blocked else scheme.special_award_yuan,
                f"回访量 {c.combined.assigned} 人不低于平均 {yuan(mean_count)} 人且报到率 100%"
                + (f"：{blocked}，不发放" if blocked else ""),
                inputs={"assigned": c.combined.assigned, "mean": mean_count},
                rate=c.combined.rate,
                points=0 if blocked else scheme.points_special,
            )
