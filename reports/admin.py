from django.contrib import admin

from reports.models import ExportLog, ProgressSnapshot, WeeklyReport


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(admin.ModelAdmin):
    search_fields = ["scope_id"]
    list_display = [
        "day",
        "season",
        "scope",
        "scope_id",
        "level",
        "candidates",
        "paid",
        "enrolled",
        "early_payment_rate",
        "enrollment_rate",
    ]
    list_filter = ["season", "scope", "level", "day"]


@admin.register(WeeklyReport)
class WeeklyReportAdmin(admin.ModelAdmin):
    search_fields = ["team__name"]
    list_display = ["week_start", "team", "season", "generated_at"]
    list_filter = ["season", "week_start"]
    exclude = ["html"]


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    """Read-only: the log is evidence of who exported personal data."""

    search_fields = ["user__username", "what"]

    list_display = ["created_at", "user", "what", "personal_data", "row_count", "season"]
    list_filter = ["season", "personal_data"]
    readonly_fields = ["season", "user", "created_at", "what", "personal_data", "row_count", "filters"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
