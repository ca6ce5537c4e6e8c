"""六.(三) team leader bonus: 1,500 if every level present reaches its target, else 1,000 at basic."""

from __future__ import annotations

from decimal import Decimal

from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import percent
from subsidies.engine.scheme import LEVEL_LABELS, Scheme
from subsidies.engine.teams import TeamPool


def describe(pool: TeamPool) -> str:
    parts = []
    for lv in pool.present:
        f = pool.levels[lv]
        st = pool.standards[lv]
        parts.append(
            f"{LEVEL_LABELS[lv]} {f.enrolled}/{f.admitted} = {percent(f.rate)}"
            f"（基本 {percent(st.basic)}，目标 {percent(st.target)}）"
        )
    return "；".join(parts) or "小组没有录取考生"


def leader_line(ledger: Ledger, pool: TeamPool, scheme: Scheme) -> None:
    leader_id = pool.team.leader_id
    if leader_id is None:
        return
    if pool.all_at_least("target"):
        amount, grade = scheme.leader_bonus_target, "达到目标任务"
    elif pool.all_at_least("basic"):
        amount, grade = scheme.leader_bonus_basic, "达到基本任务"
    else:
        amount, grade = Decimal(0), "未达到基本任务"
    ledger.add(
        leader_id,
        "leader",
        amount,
        f"小组「{pool.team.name}」{describe(pool)}：{grade}",
        subject=f"team:{pool.team.id}",
        inputs={
            "team_id": pool.team.id,
            "levels": {
                lv: {
                    "admitted": pool.levels[lv].admitted,
                    "enrolled": pool.levels[lv].enrolled,
                    "rate": pool.levels[lv].rate,
                    "basic": pool.standards[lv].basic,
                    "target": pool.standards[lv].target,
                }
                for lv in pool.present
            },
        },
        tier=grade,
    )
