"""The payout workbook: callers, teams, supervisors, strike team, awards and every rule line."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import IO

from callback_office.excel import SheetWriter, new_workbook, save_workbook
from subsidies.engine import LEVELS, Scheme
from subsidies.engine.awards import GRADE_LABELS, best_team_outcomes
from subsidies.engine.ledger import RULES
from subsidies.engine.numbers import as_decimal
from subsidies.engine.strike import STRIKE_LABELS
from subsidies.engine.teams import team_pool
from subsidies.models import PayoutRun
from subsidies.selectors import RunView, run_view

ZERO = Decimal("0.00")

CALLER_HEADERS = [
    "工号",
    "姓名",
    "小组",
    "本科录取",
    "本科报到",
    "本科报到率",
    "专科录取",
    "专科报到",
    "专科报到率",
    "电话补贴",
    "组长补贴",
    "督查补贴",
    "突击补贴",
    "交通餐饮补贴",
    "奖励",
    "扣减",
    "调整",
    "合计",
    "签字",
]
MONEY_COLUMNS = ["phone", "leader", "supervision", "strike", "allowance", "award", "deduction", "adjustment"]
LEVEL_LABEL = {"undergraduate": "本科", "junior": "专科"}


def rate_cell(admitted: int, enrolled: int) -> Decimal | str:
    """A rate as a Decimal fraction (formatted 0.00% in the sheet), blank with nobody admitted."""
    if not admitted:
        return ""
    return as_decimal(Fraction(enrolled, admitted))


def write_caller_sheet(wb, view: RunView) -> None:
    sheet = SheetWriter(wb, "回访员补贴", CALLER_HEADERS, percent_columns=[5, 8])
    totals = dict.fromkeys(MONEY_COLUMNS, ZERO)
    counts = [0, 0, 0, 0]
    for p in view.people:
        ug = p.facts.undergraduate if p.facts else None
        jr = p.facts.junior if p.facts else None
        ug_a, ug_e = (ug.admitted, ug.enrolled) if ug else (0, 0)
        jr_a, jr_e = (jr.admitted, jr.enrolled) if jr else (0, 0)
        for i, v in enumerate((ug_a, ug_e, jr_a, jr_e)):
            counts[i] += v
        for k in MONEY_COLUMNS:
            totals[k] += p.by_category[k]
        sheet.append(
            [
                p.staff_no,
                p.name,
                p.team,
                ug_a,
                ug_e,
                rate_cell(ug_a, ug_e),
                jr_a,
                jr_e,
                rate_cell(jr_a, jr_e),
                *(p.by_category[k] for k in MONEY_COLUMNS),
                p.total,
                "",
            ]
        )
    sheet.append(
        [
            "合计",
            f"{len(view.people)} 人",
            "",
            counts[0],
            counts[1],
            rate_cell(counts[0], counts[1]),
            counts[2],
            counts[3],
            rate_cell(counts[2], counts[3]),
            *(totals[k] for k in MONEY_COLUMNS),
            sum(totals.values(), ZERO),
            "",
        ]
    )


def write_team_sheet(wb, view: RunView) -> None:
    headers = ["小组", "组长", "人数"]
    for lv in LEVELS:
        label = LEVEL_LABEL[lv]
        headers += [f"{label}录取", f"{label}报到", f"{label}报到率", f"{label}基本任务", f"{label}目标任务"]
    headers += ["合计报到率", "组长补贴", "最佳小组排名", "奖项", "小组奖金", "说明"]
    sheet = SheetWriter(wb, "小组", headers, percent_columns=[5, 6, 7, 10, 11, 12, 13])
    scheme = Scheme.from_dict(view.run.scheme_snapshot)
    leader_amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in view.lines:
        if line["rule"] == "leader":
            leader_amounts[line["subject"]] += line["amount"]
    staff = {c.id: f"{c.name}（{c.staff_no}）" for c in view.facts.callers}
    pools = [team_pool(view.facts, t, scheme) for t in view.facts.teams if t.kind == "regular"]
    awards = best_team_outcomes(pools, scheme)
    for pool in pools:
        t = pool.team
        row: list = [t.name, staff.get(t.leader_id, ""), len(view.facts.members(t.id))]
        for lv in LEVELS:
            f = pool.levels[lv]
            st = pool.standards.get(lv)
            row += [
                f.admitted,
                f.enrolled,
                rate_cell(f.admitted, f.enrolled),
                as_decimal(st.basic) if st else "",
                as_decimal(st.target) if st else "",
            ]
        c = pool.combined
        award = awards.get(t.id)
        row += [
            rate_cell(c.admitted, c.enrolled),
            leader_amounts[f"team:{t.id}"],
            award.rank if award and award.rank else "",
            GRADE_LABELS[award.grade - 1] if award and award.grade else "",
            as_decimal(award.amount, 2) if award and award.grade else ZERO,
            award.why if award else "",
        ]
        sheet.append(row)


def write_supervisor_sheet(wb, view: RunView) -> None:
    sheet = SheetWriter(
        wb, "督查", ["工号", "姓名", "小组", "督查记录数", "督查补贴", "上浮", "误退扣减", "合计"]
    )
    teams = {t.id: t.name for t in view.facts.teams}
    rows: dict[tuple[str, str, str], dict] = {}
    for line in view.lines:
        if line["rule"] not in ("supervision", "supervision_uplift", "wrong_withdrawal_team"):
            continue
        if line["rule"] == "wrong_withdrawal_team" and not _is_supervision(view, line):
            continue
        team_id = int(line["subject"].split(":")[1])
        key = (line["person__staff_no"], line["person__name"], teams.get(team_id, str(team_id)))
        row = rows.setdefault(
            key, {"records": 0, "supervision": ZERO, "supervision_uplift": ZERO, "ww": ZERO}
        )
        if line["rule"] == "supervision":
            row["records"] = line["inputs"].get("records", 0)
            row["supervision"] += line["amount"]
        elif line["rule"] == "supervision_uplift":
            row["supervision_uplift"] += line["amount"]
        else:
            row["ww"] += line["amount"]
    total = ZERO
    for (staff_no, name, team), r in sorted(rows.items()):
        subtotal = r["supervision"] + r["supervision_uplift"] + r["ww"]
        total += subtotal
        sheet.append(
            [staff_no, name, team, r["records"], r["supervision"], r["supervision_uplift"], r["ww"], subtotal]
        )
    sheet.append(["合计", "", "", "", "", "", "", total])


def _is_supervision(view: RunView, line: dict) -> bool:
    """A team wrong-withdrawal line is the supervisor's when the person is not that team's leader."""
    team_id = int(line["subject"].split(":")[1])
    return not any(t.id == team_id and t.leader_id == line["person_id"] for t in view.facts.teams)


def write_strike_sheet(wb, view: RunView) -> None:
    headers = [
        "工号",
        "姓名",
        "录取期间劝来（人）",
        "录取期间补贴",
        "报到期后劝来（人）",
        "报到期后补贴",
        "合计",
    ]
    sheet = SheetWriter(wb, "突击组", headers)
    rows: dict[tuple[str, str], list] = {}
    for line in view.lines:
        if line["rule"] != "strike":
            continue
        row = rows.setdefault((line["person__staff_no"], line["person__name"]), [0, ZERO, 0, ZERO])
        offset = 0 if line["subject"] == "no_show" else 2
        row[offset] += line["inputs"].get("students", 0)
        row[offset + 1] += line["amount"]
    total = ZERO
    for (staff_no, name), r in sorted(rows.items()):
        total += r[1] + r[3]
        sheet.append([staff_no, name, *r, r[1] + r[3]])
    sheet.append(["合计", "", "", "", "", "", total])


def write_award_sheet(wb, view: RunView) -> None:
    sheet = SheetWriter(wb, "奖励", ["工号", "姓名", "奖项", "等级", "金额", "积分", "说明"])
    total = ZERO
    for line in view.lines:
        if line["category"] != "award":
            continue
        total += line["amount"]
        sheet.append(
            [
                line["person__staff_no"],
                line["person__name"],
                RULES[line["rule"]][1],
                line["tier"],
                line["amount"],
                line["points"],
                line["reason"],
            ]
        )
    sheet.append(["合计", "", "", "", total, "", ""])


def subject_label(subject: str, teams: dict[int, str]) -> str:
    """A line's subject for people: 本科/专科, a team's name, a strike kind, an adjustment."""
    if subject in LEVEL_LABEL:
        return LEVEL_LABEL[subject]
    kind, _, ident = subject.partition(":")
    if kind == "team" and ident.isdigit():
        return teams.get(int(ident), subject)
    if kind == "adjustment":
        return f"调整 #{ident}"
    return STRIKE_LABELS.get(subject, subject)


def write_lines_sheet(wb, view: RunView) -> None:
    teams = {t.id: t.name for t in view.facts.teams}
    headers = ["工号", "姓名", "规则", "对象", "报到率", "档位", "递增步数", "金额", "说明", "依据"]
    sheet = SheetWriter(wb, "规则明细", headers, percent_columns=[4])
    for line in view.lines:
        sheet.append(
            [
                line["person__staff_no"],
                line["person__name"],
                RULES[line["rule"]][1],
                subject_label(line["subject"], teams),
                line["rate"] if line["rate"] is not None else "",
                line["tier"],
                line["steps"] if line["steps"] is not None else "",
                line["amount"],
                line["reason"],
                json.dumps(line["inputs"], ensure_ascii=False, sort_keys=True),
            ]
        )


def write_payout_workbook(run: PayoutRun, target: str | IO[bytes]) -> None:
    view = run_view(run)
    wb = new_workbook()
    write_caller_sheet(wb, view)
    write_team_sheet(wb, view)
    write_supervisor_sheet(wb, view)
    write_strike_sheet(wb, view)
    write_award_sheet(wb, view)
    write_lines_sheet(wb, view)
    save_workbook(wb, target)
