from decimal import Decimal

from django import template

from subsidies.engine.ledger import RULES

register = template.Library()


@register.filter
def rule_label(rule: str) -> str:
    return RULES.get(rule, ("", rule))[1]


@register.filter
def subject(value: str, teams: dict[int, str]) -> str:
    from subsidies.exports import subject_label

    return subject_label(value, teams or {})


@register.filter
def as_percent(rate: Decimal | None) -> str:
    if rate is None:
        return ""
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"
