"""Small display filters of the caller workspace."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from callbacks.choices import RiskSignal

register = template.Library()
RISK_LABELS = dict(RiskSignal.choices)


@register.filter
def duration_text(seconds: int | None) -> str:
    """185 -> 3分05秒."""
    seconds = int(seconds or 0)
    minutes, rest = divmod(seconds, 60)
    return _("%(m)d分%(s)02d秒") % {"m": minutes, "s": rest}


@register.filter
def risk_labels(values) -> str:
    return "、".join(str(RISK_LABELS.get(v, v)) for v in values or ())
