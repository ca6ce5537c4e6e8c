"""六.(四) supervision subsidy: 0.5 yuan per audited record per team, void on 舆情, +20% above target."""

from __future__ import annotations

from subsidies.engine.facts import AuditCount
from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import frac, percent, yuan
from subsidies.engine.scheme import Scheme
from subsidies.engine.teams import TeamPool


def supervision_lines(
    ledger: Ledger, audit: AuditCount, pool: TeamPool | None, incident: bool, scheme: Scheme
) -> None:
    team_name = pool.team.name if pool else str(audit.team_id)
    subject = f"team:{audit.team_id}"
    if incident:
        ledger.add(
            audit.supervisor_id,
            "supervision",
            0,
            f"小组「{team_name}」因回访不当引发舆情：该组 {audit.count} 条督查记录不发补贴",
            subject=subject,
            inputs={"team_id": audit.team_id, "records": audit.count, "incident": True},
        )
        return
    base = frac(scheme.supervision_per_record) * audit.count
    line = ledger.add(
        audit.supervisor_id,
        "supervision",
        base,
        f"小组「{team_name}」督查记录 {audit.count} 条 × {yuan(scheme.supervision_per_record)} 元",
        subject=subject,
        inputs={
            "team_id": audit.team_id,
            "records": audit.count,
            "per_record": scheme.supervision_per_record,
        },
    )
    if pool is not None and line.amount > 0 and pool.all_above_target():
        ledger.add(
            audit.supervisor_id,
            "supervision_uplift",
            frac(line.amount) * frac(scheme.supervision_uplift),
            f"小组「{team_name}」最终报到率高于目标任务：督查补贴 {line.amount} 元上浮 "
            f"{percent(scheme.supervision_uplift)}",
            subject=subject,
            inputs={
                "team_id": audit.team_id,
                "supervision": line.amount,
                "uplift": scheme.supervision_uplift,
            },
        )
