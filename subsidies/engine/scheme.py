"""The subsidy scheme: every number of the plan's sections 六–八 as data (the 2023 plan by default)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any


def gettext_noop(message: str) -> str:
    """Marks a display text for translation without importing Django (the engine is pure):
    makemessages extracts it, the display layer (subsidies/forms.py) translates it when shown."""
    return message


class Text(str):
    """A message of the engine: reads as the Chinese text; the display layer translates `template`
    and fills in `params` (translating those that are Texts themselves, such as level labels)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        text = super().__new__(cls, template % params if params else template)
        text.template = template
        text.params = params
        return text


UNDERGRADUATE = "undergraduate"
JUNIOR = "junior"
LEVELS: tuple[str, str] = (UNDERGRADUATE, JUNIOR)
# The levels' Chinese names: in the engine's reasons (data, stored with each payout line) and,
# translated, on screens.
LEVEL_LABELS = {UNDERGRADUATE: gettext_noop("本科"), JUNIOR: gettext_noop("专科")}


class SchemeError(ValueError):
    """A scheme parameter is invalid; `errors` maps the parameter to Chinese messages (`Text`s,
    translated by the display layer)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("；".join(f"{k}: {'，'.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class Tier:
    """Rate above `threshold` (or at least, for the last tier of a table) pays `yuan` per student."""

    threshold: Decimal
    yuan: Decimal


@dataclass(frozen=True)
class Standards:
    """Basic (基本任务) and target (目标任务) rates for withdrawable and non-withdrawable provinces."""

    withdrawable_basic: Decimal
    withdrawable_target: Decimal
    fixed_basic: Decimal
    fixed_target: Decimal


def _d(value: str) -> Decimal:
    return Decimal(value)


def _tiers(*rows: tuple[str, str]) -> tuple[Tier, ...]:
    return tuple(Tier(Decimal(t), Decimal(y)) for t, y in rows)


DEFAULT_TIERS = {
    # The plan prints ">97.00%" twice; the fifth row is read as >96.5% (issue 4).
    UNDERGRADUATE: _tiers(
        ("0.99", "55"), ("0.985", "50"), ("0.98", "45"), ("0.97", "40"), ("0.965", "30"), ("0.96", "25")
    ),
    JUNIOR: _tiers(
        ("0.97", "70"), ("0.96", "65"), ("0.95", "60"), ("0.94", "55"), ("0.93", "50"), ("0.92", "45")
    ),
}
DEFAULT_STANDARDS = {
    UNDERGRADUATE: Standards(_d("0.98"), _d("1.00"), _d("0.97"), _d("0.99")),
    JUNIOR: Standards(_d("0.93"), _d("0.95"), _d("0.92"), _d("0.94")),
}


@dataclass(frozen=True)
class Scheme:
    """All parameters of sections 六–八; amounts in yuan, rates and shares as fractions of 1."""

    tiers: dict[str, tuple[Tier, ...]] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    standards: dict[str, Standards] = field(default_factory=lambda: dict(DEFAULT_STANDARDS))
    # 注: +0.5 yuan per student for each full 0.1 percentage point above the tier's threshold
    increment_step: Decimal = Decimal("0.001")
    increment_yuan: Decimal = Decimal("0.5")
    # 六.(六) returning callers
    uplift_rate: Decimal = Decimal("0.10")
    uplift_prev_undergrad_rate: Decimal = Decimal("0.99")
    uplift_prev_junior_rate: Decimal = Decimal("0.96")
    uplift_prev_excellent: bool = True
    # 八.(一) minimum workload
    workload_minimum: int = 0
    workload_deduction_yuan: Decimal = Decimal("5")
    # 六.(三) team leader
    leader_bonus_target: Decimal = Decimal("1500")
    leader_bonus_basic: Decimal = Decimal("1000")
    # 六.(四) supervision
    supervision_per_record: Decimal = Decimal("0.5")
    supervision_uplift: Decimal = Decimal("0.20")
    # 六.(五) strike team
    strike_no_show_yuan: Decimal = Decimal("70")
    strike_after_registration_yuan: Decimal = Decimal("100")
    # 七 awards
    best_team_pool: Decimal = Decimal("25000")
    best_team_share_of_teams: Decimal = Decimal("0.30")
    best_team_grade_shares: tuple[Decimal, Decimal, Decimal] = (
        Decimal("0.40"),
        Decimal("0.32"),
        Decimal("0.28"),
    )
    best_team_leader_share: Decimal = Decimal("0.20")
    excellent_pool: Decimal = Decimal("25000")
    excellent_top_share: Decimal = Decimal("0.10")
    special_award_yuan: Decimal = Decimal("5000")
    points_best_team: tuple[int, int, int] = (20, 15, 10)
    points_excellent: int = 15
    points_special: int = 20
    # 七.(四) daily allowance
    allowance_teacher_yuan: Decimal = Decimal("80")
    allowance_student_yuan: Decimal = Decimal("50")
    # 八 penalties
    wrong_withdrawal_factor: Decimal = Decimal("0.5")
    bottom_count: int = 3
    bottom_allowance_factor: Decimal = Decimal("0.5")
    misconduct_min: Decimal = Decimal("0.20")
    misconduct_max: Decimal = Decimal("1.00")

    # --- (de)serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "tiers":
                out[f.name] = {
                    lv: [[str(t.threshold), str(t.yuan)] for t in rows] for lv, rows in value.items()
                }
            elif f.name == "standards":
                out[f.name] = {
                    lv: {k.name: str(getattr(s, k.name)) for k in fields(Standards)}
                    for lv, s in value.items()
                }
            elif isinstance(value, tuple):
                out[f.name] = [str(v) if isinstance(v, Decimal) else v for v in value]
            elif isinstance(value, Decimal):
                out[f.name] = str(value)
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scheme:
        """Build and validate a scheme; missing keys take the 2023 default; errors in Chinese."""
        return _parse(data)


PARAM_LABELS: dict[str, str] = {
    "tiers": gettext_noop("电话补贴档位"),
    "standards": gettext_noop("任务标准"),
    "increment_step": gettext_noop("递增步长（报到率）"),
    "increment_yuan": gettext_noop("每步增加（元/人）"),
    "uplift_rate": gettext_noop("连续参加上浮比例"),
    "uplift_prev_undergrad_rate": gettext_noop("上浮条件：上年本科报到率高于"),
    "uplift_prev_junior_rate": gettext_noop("上浮条件：上年专科报到率高于"),
    "uplift_prev_excellent": gettext_noop("上浮条件：上年优秀个人"),
    "workload_minimum": gettext_noop("最低回访量（人）"),
    "workload_deduction_yuan": gettext_noop("低于最低量扣除（元/生）"),
    "leader_bonus_target": gettext_noop("组长补贴（达目标任务）"),
    "leader_bonus_basic": gettext_noop("组长补贴（达基本任务）"),
    "supervision_per_record": gettext_noop("督查补贴（元/条）"),
    "supervision_uplift": gettext_noop("督查补贴上浮比例"),
    "strike_no_show_yuan": gettext_noop("突击补贴：录取期间（元/生）"),
    "strike_after_registration_yuan": gettext_noop("突击补贴：报到期后（元/生）"),
    "best_team_pool": gettext_noop("最佳小组奖金池"),
    "best_team_share_of_teams": gettext_noop("最佳小组评比比例"),
    "best_team_grade_shares": gettext_noop("一、二、三等奖占比"),
    "best_team_leader_share": gettext_noop("组长占比"),
    "excellent_pool": gettext_noop("优秀个人奖金池"),
    "excellent_top_share": gettext_noop("优秀个人前列比例"),
    "special_award_yuan": gettext_noop("特别奖（元/人）"),
    "points_best_team": gettext_noop("最佳小组积分（一、二、三等）"),
    "points_excellent": gettext_noop("优秀个人积分"),
    "points_special": gettext_noop("特别奖积分"),
    "allowance_teacher_yuan": gettext_noop("交通餐饮补贴：教职工（元/天）"),
    "allowance_student_yuan": gettext_noop("交通餐饮补贴：学生（元/天）"),
    "wrong_withdrawal_factor": gettext_noop("误退补贴发放比例"),
    "bottom_count": gettext_noop("倒数名次数"),
    "bottom_allowance_factor": gettext_noop("倒数名次补贴发放比例"),
    "misconduct_min": gettext_noop("违纪扣除下限"),
    "misconduct_max": gettext_noop("违纪扣除上限"),
}

_RATE_FIELDS = {
    "increment_step",
    "uplift_rate",
    "uplift_prev_undergrad_rate",
    "uplift_prev_junior_rate",
    "supervision_uplift",
    "best_team_share_of_teams",
    "best_team_leader_share",
    "excellent_top_share",
    "wrong_withdrawal_factor",
    "bottom_allowance_factor",
    "misconduct_min",
    "misconduct_max",
}


def _parse(data: dict[str, Any]) -> Scheme:
    errors: dict[str, list[str]] = {}
    default = Scheme()
    values: dict[str, Any] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    def dec(key: str, raw: Any) -> Decimal | None:
        if isinstance(raw, float | bool) or raw is None:
            err(key, gettext_noop("必须是数字（以字符串或整数表示）"))
            return None
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            err(key, Text(gettext_noop("「%(raw)s」不是有效的数字"), raw=raw))
            return None
        if not value.is_finite():
            err(key, gettext_noop("必须是有限的数字"))
            return None
        if value < 0:
            err(key, gettext_noop("不能为负数"))
            return None
        if key in _RATE_FIELDS and value > 1:
            err(key, gettext_noop("比例不能大于 1（100%）"))
            return None
        return value

    unknown = set(data) - {f.name for f in fields(Scheme)}
    for key in sorted(unknown):
        err(key, gettext_noop("未知的参数"))

    for f in fields(Scheme):
        if f.name not in data:
            values[f.name] = getattr(default, f.name)
            continue
        raw = data[f.name]
        current = getattr(default, f.name)
        if f.name == "tiers":
            values[f.name] = _parse_tiers(raw, err)
        elif f.name == "standards":
            values[f.name] = _parse_standards(raw, err, dec)
        elif isinstance(current, bool):
            if not isinstance(raw, bool):
                err(f.name, gettext_noop("必须是“是”或“否”"))
            values[f.name] = bool(raw)
        elif isinstance(current, int):
            if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
                err(f.name, gettext_noop("必须是非负整数"))
            values[f.name] = raw
        elif isinstance(current, tuple):
            if not isinstance(raw, list | tuple) or len(raw) != 3:
                err(f.name, gettext_noop("必须是 3 个数"))
                values[f.name] = current
            elif isinstance(current[0], int):
                if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw):
                    err(f.name, gettext_noop("必须是非负整数"))
                values[f.name] = tuple(raw)
            else:
                parsed = tuple(dec(f.name, v) for v in raw)
                values[f.name] = parsed
                if all(p is not None for p in parsed) and sum(parsed) > 1:  # type: ignore[arg-type]
                    err(f.name, gettext_noop("三个等级的占比之和不能超过 1（100%）"))
        else:
            values[f.name] = dec(f.name, raw)

    if not errors:
        points = [*values["points_best_team"], values["points_excellent"], values["points_special"]]
        if any(not (10 <= p <= 20) for p in points):
            err("points_best_team", gettext_noop("荣誉积分必须在 10 到 20 分之间"))
        if values["increment_step"] == 0:
            err("increment_step", gettext_noop("递增步长必须大于 0"))
        if values["misconduct_min"] > values["misconduct_max"]:
            err("misconduct_min", gettext_noop("违纪扣除下限不能大于上限"))
        if values["leader_bonus_basic"] > values["leader_bonus_target"]:
            err("leader_bonus_basic", gettext_noop("达基本任务的组长补贴不能高于达目标任务的补贴"))
        for lv, st in values["standards"].items():
            if st.withdrawable_basic > st.withdrawable_target or st.fixed_basic > st.fixed_target:
                err(
                    "standards",
                    Text(gettext_noop("%(level)s：基本任务不能高于目标任务"), level=Text(LEVEL_LABELS[lv])),
                )
    if errors:
        raise SchemeError(errors)
    return Scheme(**values)


def _parse_tiers(raw: Any, err: Any) -> dict[str, tuple[Tier, ...]]:
    out: dict[str, tuple[Tier, ...]] = {}
    if not isinstance(raw, dict) or set(raw) != set(LEVELS):
        err("tiers", gettext_noop("必须分别给出本科和专科的档位"))
        return dict(DEFAULT_TIERS)
    for lv in LEVELS:
        rows = raw[lv]
        label = Text(LEVEL_LABELS[lv])
        if not isinstance(rows, list) or not rows:
            err("tiers", Text(gettext_noop("%(level)s：至少需要一个档位"), level=label))
            out[lv] = DEFAULT_TIERS[lv]
            continue
        tiers: list[Tier] = []
        for i, row in enumerate(rows, start=1):
            try:
                threshold, amount = (Decimal(str(v).strip()) for v in row)
            except (InvalidOperation, TypeError, ValueError):
                err(
                    "tiers",
                    Text(
                        gettext_noop("%(level)s第%(n)s档：需要“报到率阈值 补贴元/人”两个数"), level=label, n=i
                    ),
                )
                continue
            if not (0 <= threshold <= 1):
                err(
                    "tiers",
                    Text(gettext_noop("%(level)s第%(n)s档：报到率阈值必须在 0 到 1 之间"), level=label, n=i),
                )
            if amount < 0:
                err("tiers", Text(gettext_noop("%(level)s第%(n)s档：补贴不能为负数"), level=label, n=i))
            tiers.append(Tier(threshold, amount))
        for a, b in pairwise(tiers):
            if b.threshold >= a.threshold:
                err("tiers", Text(gettext_noop("%(level)s：档位阈值必须从高到低严格递减"), level=label))
                break
        out[lv] = tuple(tiers)
    return out


def _parse_standards(raw: Any, err: Any, dec: Any) -> dict[str, Standards]:
    if not isinstance(raw, dict) or set(raw) != set(LEVELS):
        err("standards", gettext_noop("必须分别给出本科和专科的任务标准"))
        return dict(DEFAULT_STANDARDS)
    out: dict[str, Standards] = {}
    for lv in LEVELS:
        row = raw[lv]
        names = [k.name for k in fields(Standards)]
        if not isinstance(row, dict) or set(row) != set(names):
            err(
                "standards",
                Text(
                    gettext_noop("%(level)s：需要可退档/不可退档的基本任务和目标任务"),
                    level=Text(LEVEL_LABELS[lv]),
                ),
            )
            out[lv] = DEFAULT_STANDARDS[lv]
            continue
        parsed = {n: dec("standards", row[n]) for n in names}
        if any(v is None for v in parsed.values()):
            out[lv] = DEFAULT_STANDARDS[lv]
            continue
        if any(v > 1 for v in parsed.values()):
            err(
                "standards",
                Text(gettext_noop("%(level)s：任务标准不能大于 1（100%%）"), level=Text(LEVEL_LABELS[lv])),
            )
        out[lv] = Standards(**parsed)
    return out
