"""八 penalties applied at the end: wrong withdrawal (误退) halving, misconduct, then adjustments."""

from __future__ import annotations

from decimal import Decimal

from subsidies.engine.facts import AdjustmentFact, Misconduct, SeasonFacts
from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import frac, percent
from subsidies.engine.scheme import Scheme
from subsidies.engine.teams import TeamPool

NOT_PENALTY = (
    "phone",
    "phone_uplift",
    "workload",
    "leader",
    "supervision",
    "supervision_uplift",
    "strike",
    "allowance",
    "allowance_bottom",
    "best_team",
    "excellent",
    "special",
)


def wrong_withdrawal_lines(
    ledger: Ledger, facts: SeasonFacts, pools: dict[int, TeamPool], scheme: Scheme
) -> None:
    """The flagged caller: everything × 50%. Their team's leader bonus and the team's supervision
    subsidy × 50% for people not flagged themselves (an amount is never halved twice)."""
    factor = frac(scheme.wrong_withdrawal_factor)
    flagged = {c.id for c in facts.callers if c.wrong_withdrawal}
    for c in facts.callers:
        if c.id not in flagged:
            continue
        total = ledger.total(c.id, rules=NOT_PENALTY)
        if total <= 0:
            continue
        ledger.add(
            c.id,
            "wrong_withdrawal",
            -frac(total) * (1 - factor),
            f"本人有误退记录：所有补贴 {total} 元按 {percent(factor)} 发放，并取消评奖资格",
            inputs={"total": total, "factor": scheme.wrong_withdrawal_factor},
        )
    for team_id, pool in pools.items():
        if not pool.wrong_withdrawal_ids:
            continue
        subject = f"team:{team_id}"
        who = "、".join(str(c.staff_no) for c in facts.members(team_id) if c.wrong_withdrawal)
        people: set[int] = set()
        if pool.team.leader_id is not None:
            people.add(pool.team.leader_id)
        people |= set(pool.team.supervisor_ids)
        for person_id in sorted(people - flagged):
            rules = ["leader", "supervision", "supervision_uplift"]
            amount = ledger.total(person_id, rules=rules, subject=subject)
            if amount <= 0:
                continue
            ledger.add(
                person_id,
                "wrong_withdrawal_team",
                -frac(amount) * (1 - factor),
                f"小组「{pool.team.name}」有误退（{who}）："
                f"与该组相关的补贴 {amount} 元按 {percent(factor)} 发放",
                subject=subject,
                inputs={"team_id": team_id, "amount": amount, "factor": scheme.wrong_withdrawal_factor},
            )


def misconduct_lines(ledger: Ledger, records: tuple[Misconduct, ...], scheme: Scheme) -> None:
    by_person: dict[int, list[Misconduct]] = {}
    for m in records:
        by_person.setdefault(m.person_id, []).append(m)
    for person_id, items in sorted(by_person.items()):
        pct = min(sum((m.percent for m in items), Decimal(0)), scheme.misconduct_max)
        total = ledger.total(person_id)
        if total <= 0 or pct <= 0:
            continue
        reasons = "；".join(m.reason for m in items)
        ledger.add(
            person_id,
            "misconduct",
            -frac(total) * frac(pct),
            f"违纪（{reasons}）：扣除补贴总额 {total} 元的 {percent(pct)}",
            inputs={"total": total, "percent": pct},
        )


def adjustment_lines(ledger: Ledger, adjustments: tuple[AdjustmentFact, ...]) -> None:
    for a in adjustments:
        ledger.add(
            a.person_id,
            "adjustment",
            a.amount,
            f"招生办调整（{a.reason_label or a.reason_code}）：{a.reason}",
            subject=f"adjustment:{a.id}",
            inputs={"adjustment_id": a.id, "reason_code": a.reason_code},
        )
