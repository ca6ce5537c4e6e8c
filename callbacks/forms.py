"""Forms of the caller workspace. Field checks that the service also makes are delegated to
`callbacks.services.contact_validate`, so the browser and the service say the same thing."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from admissions.choices import Level, PhoneOwner
from admissions.models import Candidate, ProvincePolicy, Season
from callbacks.choices import Channel, Intent, Outcome, RiskSignal
from callbacks.services import CLAIM_MAX, contact_validate

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_LOCAL, **kwargs)


def _datetime_field(label, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


class ClaimForm(forms.Form):
    count = forms.IntegerField(label=_("领取人数"), min_value=1, max_value=CLAIM_MAX, initial=10)


class ProspectReportForm(forms.Form):
    exam_number = forms.CharField(label=_("考生号"), max_length=32, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=18, required=False)
    name = forms.CharField(label=_("姓名"), max_length=64, required=False)
    note = forms.CharField(label=_("备注"), max_length=255, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("exam_number") and not data.get("id_number"):
            raise ValidationError({"exam_number": _("请填写考生号或身份证号。")})
        return data


class ReleaseForm(forms.Form):
    batch = forms.ChoiceField(label=_("批次"), required=False)
    province = forms.ModelChoiceField(
        label=_("省份"), queryset=ProvincePolicy.objects.none(), required=False, empty_label=_("全部")
    )
    level = forms.ChoiceField(
        label=_("层次"), choices=[("", _("全部")), *list(Level.choices)], required=False
    )

    def __init__(self, *args, season: Season, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].queryset = ProvincePolicy.objects.filter(season=season)
        batches = (
            Candidate.objects.filter(season=season)
            .exclude(batch="")
            .order_by("batch")
            .values_list("batch", flat=True)
            .distinct()
        )
        self.fields["batch"].choices = [("", _("全部")), *((b, b) for b in batches)]


class FollowupForm(forms.Form):
    next_call_at = _datetime_field(_("下次回访时间"), required=False)

    def clean_next_call_at(self):
        value = self.cleaned_data.get("next_call_at")
        if value is not None and value <= timezone.now():
            raise ValidationError(_("下次回访时间必须晚于现在。"))
        return value


class ContactLogForm(forms.Form):
    """One contact, filled in a few seconds: the defaults are a phone call just now."""

    # Blank means "now" (the moment of saving), so a page left open does not log a stale time.
    contacted_at = _datetime_field(_("回访时间（留空为现在）"), required=False)
    channel = forms.ChoiceField(label=_("途径"), choices=Channel.choices, initial=Channel.PHONE)
    phone_number = forms.ChoiceField(label=_("拨打号码"), required=False)
    outcome = forms.ChoiceField(label=_("结果"), choices=Outcome.choices, initial=Outcome.CONNECTED)
    intent = forms.ChoiceField(label=_("意向"), choices=Intent.choices, initial=Intent.NONE)
    duration_minutes = forms.IntegerField(label=_("时长（分）"), min_value=0, required=False, initial=0)
    duration_seconds = forms.IntegerField(label=_("时长（秒）"), min_value=0, required=False, initial=0)
    risk_signals = forms.MultipleChoiceField(
        label=_("风险信号（敏感点）"),
        choices=RiskSignal.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    masters_track_interest = forms.BooleanField(label=_("专硕意向"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    new_phone_1 = forms.CharField(label=_("新号码"), max_length=32, required=False)
    new_owner_1 = forms.ChoiceField(label=_("归属"), choices=PhoneOwner.choices, initial=PhoneOwner.PARENT)
    new_phone_2 = forms.CharField(label=_("新号码"), max_length=32, required=False)
    new_owner_2 = forms.ChoiceField(label=_("归属"), choices=PhoneOwner.choices, initial=PhoneOwner.OTHER)
    next_call_at = _datetime_field(_("约定下次回访"), required=False)

    FIELD_FOR_ERROR = {"duration": "duration_minutes", "new_phones": "new_phone_1"}

    def __init__(self, *args, candidate: Candidate, phone_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.candidate = candidate
        self.fields["phone_number"].choices = [("", _("（其他 / 非电话）")), *phone_choices]

    @property
    def total_seconds(self) -> int:
        data = self.cleaned_data
        return (data.get("duration_minutes") or 0) * 60 + (data.get("duration_seconds") or 0)

    @property
    def new_phones(self) -> list[tuple[str, str]]:
        data = self.cleaned_data
        return [
            (data[f"new_phone_{i}"].strip(), data[f"new_owner_{i}"])
            for i in (1, 2)
            if (data.get(f"new_phone_{i}") or "").strip() and data.get(f"new_owner_{i}")
        ]

    def clean(self):
        data = super().clean()
        if "contacted_at" not in self.errors and not data.get("contacted_at"):
            data["contacted_at"] = timezone.now()
        # Run the service's checks on whatever parsed, so that every error shows at once.
        try:
            contact_validate(
                candidate=self.candidate,
                contacted_at=data.get("contacted_at") or timezone.now(),
                duration_seconds=self.total_seconds,
                outcome=data.get("outcome") or Outcome.OTHER,
                intent=data.get("intent") or Intent.NONE,
                risk_signals=data.get("risk_signals") or [],
                new_phones=self.new_phones,
                next_call_at=data.get("next_call_at"),
            )
        except ValidationError as exc:
            self.add_service_errors(exc)
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            field = self.FIELD_FOR_ERROR.get(key, key)
            if field in self.fields and field in self.errors:
                continue  # the field's own error says it already
            self.add_error(field if field in self.fields else None, errors)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "contacted_at": data["contacted_at"],
            "channel": data["channel"],
            "duration_seconds": self.total_seconds,
            "phone_number": data.get("phone_number") or "",
            "outcome": data["outcome"],
            "intent": data["intent"],
            "risk_signals": data.get("risk_signals") or [],
            "notes": data.get("notes", ""),
            "new_phones": self.new_phones,
            "masters_track_interest": bool(data.get("masters_track_interest")),
            "next_call_at": data.get("next_call_at"),
        }


def default_followup() -> dt.datetime:
    """Tomorrow at 10:00 local time: the suggested follow-up slot."""
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    return tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
