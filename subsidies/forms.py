"""Forms: the scheme (every parameter of the engine's Scheme), deductions, inquiries, answers."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from subsidies.engine import LEVELS, Scheme, SchemeError
from subsidies.engine.scheme import LEVEL_LABELS, PARAM_LABELS, Standards, Text
from subsidies.models import AdjustmentReason

STANDARD_LABELS = {
    "withdrawable_basic": _("可退档省份基本任务"),
    "withdrawable_target": _("可退档省份目标任务"),
    "fixed_basic": _("不可退档省份基本任务"),
    "fixed_target": _("不可退档省份目标任务"),
}


def engine_text(message: str) -> str:
    """An engine label or message (marked with the engine's gettext_noop) in the active language."""
    if isinstance(message, Text):
        return gettext(message.template) % {
            k: engine_text(v) if isinstance(v, Text) else v for k, v in message.params.items()
        }
    return gettext(message)


class SchemeForm(forms.Form):
    """One field per parameter; tier tables as lines of "阈值 元/人" (the last line is ≥)."""

    note = forms.CharField(label=_("修改说明"), max_length=255)

    def __init__(self, *args: Any, scheme: Scheme, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = scheme.to_dict()
        for lv in LEVELS:
            self.fields[f"tiers__{lv}"] = forms.CharField(
                label=_("%(level)s电话补贴档位（每行：报到率阈值 补贴元/人，从高到低；最后一档为≥）")
                % {"level": gettext(LEVEL_LABELS[lv])},
                widget=forms.Textarea(attrs={"rows": 7, "cols": 24}),
                initial="\n".join(f"{t} {y}" for t, y in data["tiers"][lv]),
            )
            for name in (f.name for f in fields(Standards)):
                self.fields[f"standards__{lv}__{name}"] = forms.DecimalField(
                    label=_("%(level)s%(standard)s")
                    % {"level": gettext(LEVEL_LABELS[lv]), "standard": STANDARD_LABELS[name]},
                    initial=Decimal(data["standards"][lv][name]),
                    max_digits=7,
                    decimal_places=5,
                )
        for f in fields(Scheme):
            if f.name in ("tiers", "standards"):
                continue
            value = getattr(scheme, f.name)
            label = gettext(PARAM_LABELS[f.name])
            if isinstance(value, bool):
                self.fields[f.name] = forms.BooleanField(label=label, required=False, initial=value)
            elif isinstance(value, int):
                self.fields[f.name] = forms.IntegerField(label=label, min_value=0, initial=value)
            elif isinstance(value, tuple):
                for i, v in enumerate(value):
                    kind = forms.IntegerField if isinstance(v, int) else forms.DecimalField
                    self.fields[f"{f.name}__{i}"] = kind(
                        label=_("%(label)s（%(n)s）") % {"label": label, "n": i + 1}, initial=v
                    )
            else:
                self.fields[f.name] = forms.DecimalField(
                    label=label, initial=value, max_digits=12, decimal_places=5
                )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        params: dict[str, Any] = {"tiers": {}, "standards": {}}
        for lv in LEVELS:
            rows = []
            for n, raw in enumerate(cleaned[f"tiers__{lv}"].splitlines(), start=1):
                if not raw.strip():
                    continue
                parts = raw.replace(",", " ").replace("，", " ").split()
                if len(parts) != 2:
                    self.add_error(
                        f"tiers__{lv}", _("第%(n)s行：需要“报到率阈值 补贴元/人”两个数") % {"n": n}
                    )
                    continue
                rows.append(parts)
            params["tiers"][lv] = rows
            params["standards"][lv] = {
                name: str(cleaned[f"standards__{lv}__{name}"]) for name in (f.name for f in fields(Standards))
            }
        for f in fields(Scheme):
            if f.name in ("tiers", "standards"):
                continue
            default = getattr(Scheme(), f.name)
            if isinstance(default, tuple):
                params[f.name] = [
                    cleaned[f"{f.name}__{i}"] if isinstance(v, int) else str(cleaned[f"{f.name}__{i}"])
                    for i, v in enumerate(default)
                ]
            elif isinstance(default, bool | int):
                params[f.name] = cleaned[f.name]
            else:
                params[f.name] = str(cleaned[f.name])
        if self.errors:
            return cleaned
        try:
            Scheme.from_dict(params)
        except SchemeError as exc:
            for key, messages in exc.errors.items():
                for m in messages:
                    param = engine_text(PARAM_LABELS[key]) if key in PARAM_LABELS else key
                    self.add_error(
                        None, _("%(param)s：%(message)s") % {"param": param, "message": engine_text(m)}
                    )
        cleaned["params"] = params
        return cleaned


class DeductionForm(forms.Form):
    person = forms.ModelChoiceField(label=_("人员"), queryset=None)
    percent = forms.DecimalField(
        label=_("扣除比例（%）"), min_value=Decimal("20"), max_value=Decimal("100"), decimal_places=2
    )
    reason = forms.CharField(label=_("原因"), max_length=255)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people


class InquiryForm(forms.Form):
    question = forms.CharField(label=_("我的问题"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    adjustment_amount = forms.DecimalField(
        label=_("调整金额（元，可为负，不调整留空）"), required=False, max_digits=12, decimal_places=2
    )
    reason_code = forms.ChoiceField(
        label=_("调整原因类别"), choices=[("", "—"), *list(AdjustmentReason.choices)], required=False
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("adjustment_amount") and not cleaned.get("reason_code"):
            self.add_error("reason_code", _("有调整金额时请选择原因类别"))
        return cleaned
