from django.contrib import admin

from admissions.models import (
    Candidate,
    CandidatePhone,
    Discrepancy,
    PaymentRecord,
    PiiAccessLog,
    ProvincePolicy,
    ReconciliationRun,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from callback_office.roles import is_office


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
class CandidateAdmin(admin.ModelAdmin):
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


@admin.register(CandidatePhone)
class CandidatePhoneAdmin(admin.ModelAdmin):
    list_display = ["number", "owner", "candidate"]
    list_filter = ["owner"]
    search_fields = ["number", "candidate__exam_number"]
    raw_id_fields = ["candidate"]


class ImportedRecordAdmin(admin.ModelAdmin):
    list_filter = ["season"]
    search_fields = ["exam_number"]
    raw_id_fields = ["candidate"]


@admin.register(PaymentRecord)
class PaymentRecordAdmin(ImportedRecordAdmin):
    list_display = ["exam_number", "paid_on", "amount", "season"]


@admin.register(RegistrationRecord)
class RegistrationRecordAdmin(ImportedRecordAdmin):
    list_display = ["exam_number", "registered_on", "season"]


@admin.register(WithdrawalRecord)
class WithdrawalRecordAdmin(ImportedRecordAdmin):
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
