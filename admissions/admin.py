from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from admissions.choices import CallbackStatus
from admissions.imports import (
    CandidateResource,
    PaymentRecordResource,
    RegistrationRecordResource,
    WithdrawalRecordResource,
    chinese_labels,
)
from admissions.models import (
    Candidate,
    CandidatePhone,
    Discrepancy,
    PaymentRecord,
    PiiAccessLog,
    PiiField,
    ProvincePolicy,
    ReconciliationRun,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from admissions.services import pii_access_record
from callback_office.admin_export import OfficeExportMixin, with_season
from callback_office.privacy import mask_id_number, mask_phone
from callback_office.roles import is_office

# --- export resources (the import formats plus 年度; personal data masked) ----------------------


class CandidateAdminResource(CandidateResource):
    """投档考生名单's columns, plus 年度, 回访状态, 缴费日期 and 报到日期; ID numbers and phones masked."""

    season = Field(attribute="season__year", column_name="年度")
    status = Field(column_name="回访状态")
    paid_on = Field(attribute="paid_on", column_name="缴费日期")
    enrolled_on = Field(attribute="enrolled_on", column_name="报到日期")

    class Meta(CandidateResource.Meta):
        fields = ("season", *CandidateResource.Meta.fields, "status", "paid_on", "enrolled_on")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses = {v: k for k, v in chinese_labels(CallbackStatus).items()}

    def dehydrate_id_number(self, obj: Candidate) -> str:
        return mask_id_number(obj.id_number)

    def _phones(self, obj: Candidate, owners: set[str]) -> str:
        return "、".join(mask_phone(p.number) for p in obj.phones.all() if p.owner in owners)

    def dehydrate_status(self, obj: Candidate) -> str:
        return self.statuses.get(obj.status, obj.status)


@admin.register(Season)
class SeasonAdmin(admin.ModelAdmin):
    list_filter = ["admission_start"]
    list_display = ["year", "admission_start", "admission_end", "payment_close", "registration_date"]
    search_fields = ["year"]


@admin.register(ProvincePolicy)
class ProvincePolicyAdmin(admin.ModelAdmin):
    list_display = ["province", "season", "withdrawable", "phones_shielded", "new_gaokao"]
    list_filter = ["season", "withdrawable", "phones_shielded", "new_gaokao"]
    search_fields = ["province"]


class CandidatePhoneInline(admin.TabularInline):
    model = CandidatePhone
    extra = 0


@admin.register(Candidate)
class CandidateAdmin(OfficeExportMixin, admin.ModelAdmin):
    resource_classes = [CandidateAdminResource]
    list_select_related_for_export = ("season", "province")
    prefetch_for_export = ("phones",)
    list_display = [
        "exam_number",
        "name",
        "province",
        "level",
        "admission_type",
        "status",
        "paid_on",
        "enrolled_on",
    ]
    list_filter = [
        "season",
        "level",
        "admission_type",
        "status",
        "masters_track_interest",
        "in_pool",
        "province__withdrawable",
    ]
    search_fields = ["exam_number", "name", "high_school"]
    list_select_related = ["province"]
    raw_id_fields = ["province"]
    inlines = [CandidatePhoneInline]
    show_full_result_count = False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            _log_full_values(request, Candidate, object_id, [PiiField.ID_NUMBER, PiiField.PHONES])
        return response


def _log_full_values(request, model, object_id, fields) -> None:
    """A change form shown with full values (ID number, phones): one log row per field."""
    try:
        obj = model.objects.filter(pk=int(object_id)).first()
    except (TypeError, ValueError):
        return
    candidate = obj if isinstance(obj, Candidate) else getattr(obj, "candidate", None)
    for field in fields if candidate is not None else ():
        pii_access_record(user=request.user, candidate=candidate, field=field, path=request.path)


@admin.register(CandidatePhone)
class CandidatePhoneAdmin(admin.ModelAdmin):
    list_display = ["masked_number", "owner", "candidate"]
    list_filter = ["owner"]
    search_fields = ["number", "candidate__exam_number"]
    raw_id_fields = ["candidate"]

    @admin.display(description=_("号码"))
    def masked_number(self, obj: CandidatePhone) -> str:
        return mask_phone(obj.number)  # lists stay masked; the change form is logged

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            _log_full_values(request, CandidatePhone, object_id, [PiiField.PHONES])
        return response


class ImportedRecordAdmin(OfficeExportMixin, admin.ModelAdmin):
    list_select_related_for_export = ("season",)
    list_filter = ["season"]
    search_fields = ["exam_number"]
    raw_id_fields = ["candidate"]


@admin.register(PaymentRecord)
class PaymentRecordAdmin(ImportedRecordAdmin):
    resource_classes = [with_season(PaymentRecordResource)]
    list_display = ["exam_number", "paid_on", "amount", "season"]


@admin.register(RegistrationRecord)
class RegistrationRecordAdmin(ImportedRecordAdmin):
    resource_classes = [with_season(RegistrationRecordResource)]
    list_display = ["exam_number", "registered_on", "season"]


@admin.register(WithdrawalRecord)
class WithdrawalRecordAdmin(ImportedRecordAdmin):
    resource_classes = [with_season(WithdrawalRecordResource)]
    list_display = ["exam_number", "withdrawn_on", "season"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = [
        "season",
        "status",
        "trigger",
        "rows_read",
        "rows_changed",
        "discrepancies_new",
        "started_at",
    ]
    list_filter = ["season", "status", "trigger"]
    search_fields = ["job_id", "error"]


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = ["exam_number", "kind", "season", "resolved", "updated_at"]
    list_filter = ["season", "kind", "resolved"]
    search_fields = ["exam_number", "details"]
    raw_id_fields = ["candidate", "resolved_by", "first_run", "last_run"]


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(admin.ModelAdmin):
    """Who was shown which candidate's full ID number / phones, when (read only)."""

    list_display = ["created_at", "user", "candidate", "field", "path"]
    list_filter = ["field", "candidate__season"]
    search_fields = ["user__username", "candidate__exam_number"]
    list_select_related = ["user", "candidate"]
    show_full_result_count = False

    def has_view_permission(self, request, obj=None) -> bool:
        return is_office(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
