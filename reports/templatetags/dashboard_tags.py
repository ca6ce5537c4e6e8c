"""Formatting of dashboard table cells (rates as percentages, empty as a dash)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def cell(value, kind: str = "text") -> str:
    if value is None or value == "":
        return "" if kind in ("text", "note") else "—"
    if kind == "rate":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            if timezone.is_aware(value)
            else value.strftime("%Y-%m-%d %H:%M")
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@register.filter
def percent(value) -> str:
    return cell(value, "rate")
