"""Forms for casework: withdrawal materials and decisions, strike-team escalation and results.

Content checks on uploads are the service's (`casework_services.material_inspect`), run here too
so the error shows next to the file field."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callbacks.casework_models import MaterialKind, StrikeCaseKind, StrikeResult, StrikeStep
from callbacks.casework_services import material_inspect


class WithdrawalOpenForm(forms.Form):
    note = forms.CharField(
        label=_("备注（可选）"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MaterialUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("材料"), choices=MaterialKind.choices, initial=MaterialKind.COMBINED)
    file = forms.FileField(
        label=_("文件（JPEG、PNG 图片或 PDF）"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        from django.conf import settings

        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise ValidationError(
                _("文件过大：%(size).1f MB，最大 %(limit).1f MB。")
                % {"size": upload.size / 1048576, "limit": settings.UPLOAD_MAX_BYTES / 1048576}
            )
        data = upload.read()
        upload.seek(0)
        material_inspect(data)
        return upload


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class CompleteForm(forms.Form):
    withdrawn_on = forms.DateField(label=_("退档日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"withdrawn_on": timezone.localdate()})
        super().__init__(*args, **kwargs)

    def clean_withdrawn_on(self):
        day = self.cleaned_data["withdrawn_on"]
        if day > timezone.localdate():
            raise ValidationError(_("退档日期不能晚于今天。"))
        return day


class EscalateForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"),
        choices=[(k, label) for k, label in StrikeCaseKind.choices if k != StrikeCaseKind.AFTER_REGISTRATION],
        initial=StrikeCaseKind.UNREACHABLE,
        widget=forms.RadioSelect,
    )
    steps_tried = forms.MultipleChoiceField(
        label=_("已经尝试过的办法"),
        choices=StrikeStep.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("情况说明（拨打了哪些号码、何时、结果）"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == StrikeCaseKind.UNREACHABLE and not data.get("steps_tried"):
            self.add_error("steps_tried", _("请勾选已经尝试过的联系办法（空号、错号、114 查询、班主任……）。"))
        return data


class AfterRegistrationForm(forms.Form):
    note = forms.CharField(label=_("情况说明"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class StrikeCloseForm(forms.Form):
    result = forms.ChoiceField(label=_("结果"), choices=StrikeResult.choices)
    note = forms.CharField(
        label=_("结案说明"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


def add_service_error(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form (field errors by key, others on top)."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc)
