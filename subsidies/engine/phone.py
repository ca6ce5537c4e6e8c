"""六.(二) phone subsidy per level, 六.(六) returning-caller uplift, 八.(一) minimum workload."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from subsidies.engine.facts import JUNIOR, UNDERGRADUATE, CallerFacts, LevelFacts
from subsidies.engine.ledger import Ledger
from subsidies.engine.numbers import frac, percent, yuan
from subsidies.engine.scheme import LEVEL_LABELS, LEVELS, Scheme
from subsidies.engine.tiers import find_tier, increment_steps, standards_for


def level_amount(facts: LevelFacts, level: str, scheme: Scheme) -> dict[str, Any] | None:
    """The phone subsidy for one level, with everything that explains it; None if no admitted."""
    rate = facts.rate
    if rate is None:
        return None
    std = standards_for(facts, level, scheme)
    assert std is not None
    match = find_tier(rate, scheme.tiers[level])
    steps = 0
    per_student: Fraction = Fraction(0)
    if match is not None:
        if rate >= std.basic:
            steps = increment_steps(rate, match.tier.threshold, scheme.increment_step)
        per_student = frac(match.tier.yuan) + steps * frac(scheme.increment_yuan)
    return {
        "rate": rate,
        "basic": std.basic,
        "target": std.target,
        "match": match,
        "steps": steps,
        "per_student": per_student,
        "amount": facts.enrolled * per_student,
    }


def phone_lines(ledger: Ledger, caller: CallerFacts, scheme: Scheme) -> None:
    for level in LEVELS:
        lf = caller.level(level)
        calc = level_amount(lf, level, scheme)
        if calc is None:
            continue
        match = calc["match"]
        label = LEVEL_LABELS[level]
        if match is None:
            reason = (
                f"{label}报到率 {percent(calc['rate'])} 低于最低档 "
                f"{percent(scheme.tiers[level][-1].threshold)}，无电话补贴"
            )
            tier = ""
        else:
            tier = match.label
            if calc["steps"]:
                extra = yuan(calc["steps"] * frac(scheme.increment_yuan))
                inc = (
                    f"，达到任务标准 {percent(calc['basic'])}，超出档位 {calc['steps']} 个 "
                    f"{percent(scheme.increment_step)}，每人加 {extra} 元"
                )
            elif calc["rate"] < calc["basic"]:
                inc = f"，未达任务标准 {percent(calc['basic'])}，不递增"
            else:
                inc = ""
            reason = (
                f"{label}：报到 {lf.enrolled} / 录取 {lf.admitted} = {percent(calc['rate'])}，"
                f"档位 {tier} {yuan(match.tier.yuan)} 元/人{inc}；"
                f"{lf.enrolled} × {yuan(calc['per_student'])} 元"
            )
        ledger.add(
            caller.id,
            "phone",
            calc["amount"],
            reason,
            subject=level,
            inputs={
                "level": level,
                "admitted": lf.admitted,
                "enrolled": lf.enrolled,
                "admitted_withdrawable": lf.admitted_withdrawable,
                "basic_standard": calc["basic"],
                "target_standard": calc["target"],
                "tier_yuan": None if match is None else match.tier.yuan,
                "per_student": calc["per_student"],
            },
            rate=calc["rate"],
            tier=tier,
            steps=calc["steps"] if match is not None else None,
        )


def uplift_applies(caller: CallerFacts, scheme: Scheme) -> tuple[bool, str]:
    """六.(六): (applies, why) — a previous-year condition and this year not below last year."""
    prev_ug = caller.prev_undergrad_rate
    prev_jr = caller.prev_junior_rate
    reasons = []
    if prev_ug is not None and prev_ug > scheme.uplift_prev_undergrad_rate:
        reasons.append(f"上年本科报到率 {percent(prev_ug)} 高于 {percent(scheme.uplift_prev_undergrad_rate)}")
    if prev_jr is not None and prev_jr > scheme.uplift_prev_junior_rate:
        reasons.append(f"上年专科报到率 {percent(prev_jr)} 高于 {percent(scheme.uplift_prev_junior_rate)}")
    if scheme.uplift_prev_excellent and caller.prev_excellent:
        reasons.append("上年获优秀个人")
    if not reasons:
        return False, "不满足上年条件"
    ug_rate = caller.undergraduate.rate
    jr_rate = caller.junior.rate
    if ug_rate is not None and prev_ug is not None:
        compare_level, now, before = UNDERGRADUATE, ug_rate, prev_ug
    elif jr_rate is not None and prev_jr is not None:
        compare_level, now, before = JUNIOR, jr_rate, prev_jr
    else:
        return False, "、".join(reasons) + "，但本年与上年没有可比的报到率"
    label = LEVEL_LABELS[compare_level]
    if now >= frac(before):
        return True, "、".join(reasons) + f"；本年{label}报到率 {percent(now)} 不低于上年 {percent(before)}"
    return False, "、".join(reasons) + f"；但本年{label}报到率 {percent(now)} 低于上年 {percent(before)}"


def uplift_line(ledger: Ledger, caller: CallerFacts, scheme: Scheme) -> None:
    base = ledger.total(caller.id, rules=["phone"])
    if base <= 0:
        return
    applies, why = uplift_applies(caller, scheme)
    if not applies:
        return
    ledger.add(
        caller.id,
        "phone_uplift",
        frac(base) * frac(scheme.uplift_rate),
        f"{why}：电话补贴 {base} 元上浮 {percent(scheme.uplift_rate)}",
        inputs={"phone": base, "uplift_rate": scheme.uplift_rate},
    )


def workload_line(ledger: Ledger, caller: CallerFacts, scheme: Scheme) -> None:
    assigned = caller.combined.assigned
    if scheme.workload_minimum <= 0 or assigned >= scheme.workload_minimum:
        return
    phone = ledger.total(caller.id, rules=["phone", "phone_uplift"])
    enrolled = caller.combined.enrolled
    wanted = frac(scheme.workload_deduction_yuan) * enrolled
    deduction = min(wanted, frac(phone))
    if deduction <= 0:
        return
    ledger.add(
        caller.id,
        "workload",
        -deduction,
        f"回访量 {assigned} 人低于最低回访量 {scheme.workload_minimum} 人：扣除 "
        f"{yuan(scheme.workload_deduction_yuan)} 元 × 报到 {enrolled} 人"
        + ("（以电话补贴为限）" if deduction < wanted else ""),
        inputs={
            "assigned": assigned,
            "minimum": scheme.workload_minimum,
            "enrolled": enrolled,
            "per_student": scheme.workload_deduction_yuan,
            "phone": phone,
        },
    )
