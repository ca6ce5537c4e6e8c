from django.contrib import admin

from reports.models import ProgressSnapshot, WeeklyReport


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(admin.ModelAdmin):
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
    list_display = ["week_start", "team", "season", "generated_at"]
    list_filter = ["season", "week_start"]
    exclude = ["html"]
