"""六.(五) strike team: 70 yuan per no-show brought in, 100 after the registration period;
七.(四) daily allowance: 80 yuan per day for teachers and staff, 50 for students."""

from __future__ import annotations

from collections import Counter

from subsidies.engine.facts import AFTER_REGISTRATION, NO_SHOW, STUDENT, CallerFacts, StrikeCredit
from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import frac, percent, yuan
from subsidies.engine.scheme import Scheme

STRIKE_LABELS = {NO_SHOW: "录取期间劝来（经督查核实的不报到考生）", AFTER_REGISTRATION: "正常报到期后劝来"}


def strike_lines(ledger: Ledger, credits: list[StrikeCredit], scheme: Scheme) -> None:
    rates = {NO_SHOW: scheme.strike_no_show_yuan, AFTER_REGISTRATION: scheme.strike_after_registration_yuan}
    counts = Counter((c.holder_id, c.kind) for c in credits if c.kind in rates)
    for (holder_id, kind), n in sorted(counts.items()):
        ledger.add(
            holder_id,
            "strike",
            frac(rates[kind]) * n,
            f"突击组{STRIKE_LABELS[kind]} {n} 人 × {yuan(rates[kind])} 元",
            subject=kind,
            inputs={"kind": kind, "students": n, "per_student": rates[kind]},
        )


def allowance_lines(ledger: Ledger, caller: CallerFacts, bottom: bool, scheme: Scheme) -> None:
    if caller.attended_days <= 0:
        return
    student = caller.kind == STUDENT
    per_day = scheme.allowance_student_yuan if student else scheme.allowance_teacher_yuan
    line = ledger.add(
        caller.id,
        "allowance",
        frac(per_day) * caller.attended_days,
        f"{'学生' if student else '教职工'}出勤 {caller.attended_days} 天 × {yuan(per_day)} 元",
        inputs={"days": caller.attended_days, "per_day": per_day, "kind": caller.kind},
    )
    if bottom and line.amount > 0:
        factor = frac(scheme.bottom_allowance_factor)
        ledger.add(
            caller.id,
            "allowance_bottom",
            -frac(line.amount) * (1 - factor),
            f"报到率（本专科合计）倒数 {scheme.bottom_count} 名：交通餐饮补贴按 {percent(factor)} 发放",
            inputs={"allowance": line.amount, "factor": scheme.bottom_allowance_factor},
        )
