"""Result lines: every amount with the rule, inputs and a Chinese reason behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from subsidies.engine.numbers import as_decimal, money

# Rule codes, in the order they are applied, with the sheet column (category) they add to.
RULES: dict[str, tuple[str, str]] = {
    "phone": ("phone", "电话补贴"),
    "phone_uplift": ("phone", "连续参加上浮10%"),
    "workload": ("phone", "低于最低回访量扣除"),
    "leader": ("leader", "组长专项补贴"),
    "supervision": ("supervision", "督查补贴"),
    "supervision_uplift": ("supervision", "督查补贴上浮"),
    "strike": ("strike", "突击补贴"),
    "allowance": ("allowance", "交通餐饮补贴"),
    "allowance_bottom": ("allowance", "倒数名次补贴减半"),
    "best_team": ("award", "最佳小组奖"),
    "excellent": ("award", "优秀个人奖"),
    "special": ("award", "特别奖"),
    "wrong_withdrawal": ("deduction", "误退：补贴按比例发放"),
    "wrong_withdrawal_team": ("deduction", "小组误退：相关补贴按比例发放"),
    "misconduct": ("deduction", "违纪扣除"),
    "adjustment": ("adjustment", "调整"),
}
CATEGORIES: dict[str, str] = {
    "phone": "电话补贴",
    "leader": "组长补贴",
    "supervision": "督查补贴",
    "strike": "突击补贴",
    "allowance": "交通餐饮补贴",
    "award": "奖励",
    "deduction": "扣减",
    "adjustment": "调整",
}


PLAIN = frozenset({str, int, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Inputs as JSON: Fractions as 6-decimal strings, Decimals as strings."""
    if type(value) in PLAIN:  # the common case first: ~250,000 values for 10,000 callers
        return value
    if isinstance(value, Fraction):
        return str(as_decimal(value))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Line:
    person_id: int
    rule: str
    amount: Decimal
    reason: str
    subject: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    rate: Decimal | None = None
    tier: str = ""
    steps: int | None = None
    points: int = 0

    @property
    def category(self) -> str:
        return RULES[self.rule][0]

    @property
    def label(self) -> str:
        return RULES[self.rule][1]

    @property
    def key(self) -> tuple[int, str, str]:
        """What identifies 'the same line' across two runs."""
        return (self.person_id, self.rule, self.subject)


class Ledger:
    """Collects lines per person; every amount is rounded to 0.01 yuan as it is added."""

    def __init__(self) -> None:
        self._lines: dict[int, list[Line]] = defaultdict(list)

    def add(
        self,
        person_id: int,
        rule: str,
        amount: Decimal | Fraction | int,
        reason: str,
        *,
        subject: str = "",
        inputs: dict[str, Any] | None = None,
        rate: Fraction | None = None,
        tier: str = "",
        steps: int | None = None,
        points: int = 0,
    ) -> Line:
        if rule not in RULES:
            raise KeyError(rule)
        line = Line(
            person_id=person_id,
            rule=rule,
            amount=money(amount),
            reason=reason,
            subject=subject,
            inputs=jsonable(inputs or {}),
            rate=None if rate is None else as_decimal(rate),
            tier=tier,
            steps=steps,
            points=points,
        )
        self._lines[person_id].append(line)
        return line

    def lines(self, person_id: int) -> list[Line]:
        return self._lines.get(person_id, [])

    def total(
        self, person_id: int, rules: Iterable[str] | None = None, subject: str | None = None
    ) -> Decimal:
        wanted = None if rules is None else set(rules)
        return sum(
            (
                line.amount
                for line in self._lines.get(person_id, [])
                if (wanted is None or line.rule in wanted) and (subject is None or line.subject == subject)
            ),
            Decimal("0.00"),
        )

    def all_lines(self, order: list[int]) -> tuple[Line, ...]:
        out: list[Line] = []
        for pid in order:
            out.extend(self._lines.get(pid, []))
        return tuple(out)
