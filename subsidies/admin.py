from django.contrib import admin

from subsidies.models import Adjustment, Deduction, Inquiry, PayoutLine, PayoutRun, SubsidyScheme


@admin.register(SubsidyScheme)
class SubsidySchemeAdmin(admin.ModelAdmin):
    search_fields = ["note", "season__year"]
    list_display = ["season", "version", "note", "created_by", "created_at"]
    list_filter = ["season"]


@admin.register(PayoutRun)
class PayoutRunAdmin(admin.ModelAdmin):
    search_fields = ["season__year", "number"]
    list_display = ["season", "number", "status", "total", "person_count", "created_at", "approved_at"]
    list_filter = ["season", "status"]
    readonly_fields = [f.name for f in PayoutRun._meta.fields]

    def has_change_permission(self, request, obj=None):  # runs change through services only
        return False


@admin.register(Deduction)
class DeductionAdmin(admin.ModelAdmin):
    search_fields = ["person__staff_no", "person__name", "reason"]
    list_display = ["season", "person", "percent", "reason", "created_at"]
    list_filter = ["season"]
    raw_id_fields = ["person"]


@admin.register(Inquiry)
class InquiryAdmin(admin.ModelAdmin):
    search_fields = ["person__staff_no", "person__name", "question"]
    list_display = ["run", "person", "status", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["person", "line", "run"]


@admin.register(Adjustment)
class AdjustmentAdmin(admin.ModelAdmin):
    search_fields = ["person__staff_no", "person__name", "reason"]
    list_display = ["season", "person", "amount", "reason_code", "settled_run", "created_at"]
    list_filter = ["season", "reason_code"]
    raw_id_fields = ["person", "inquiry", "settled_run"]


@admin.register(PayoutLine)
class PayoutLineAdmin(admin.ModelAdmin):
    """Lines of frozen runs: read-only (a run changes only by computing a new one)."""

    list_display = ["run", "person", "rule", "subject", "amount"]
    list_filter = ["run__season", "rule", "category"]
    search_fields = ["person__staff_no", "person__name", "reason"]
    raw_id_fields = ["run", "person"]

    def has_change_permission(self, request, obj=None):
        return False
