from django.contrib import admin

from callbacks.models import Assignment, Attendance, Caller, ContactLog, ProspectReport, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "season", "kind", "leader"]
    list_filter = ["season", "kind"]
    search_fields = ["name"]
    raw_id_fields = ["leader"]
    filter_horizontal = ["supervisors"]


@admin.register(Caller)
class CallerAdmin(admin.ModelAdmin):
    list_display = [
        "staff_no",
        "name",
        "kind",
        "capacity",
        "team",
        "is_supervisor",
        "is_strike",
        "qualification_status",
    ]
    list_filter = ["season", "kind", "is_supervisor", "is_strike", "qualification_status"]
    search_fields = ["staff_no", "name", "department"]
    raw_id_fields = ["user", "team"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["candidate", "caller", "source", "active", "assigned_at"]
    list_filter = ["source", "active"]
    search_fields = ["candidate__exam_number", "caller__staff_no"]
    raw_id_fields = ["candidate", "caller"]


@admin.register(ContactLog)
class ContactLogAdmin(admin.ModelAdmin):
    list_display = ["candidate", "caller", "contacted_at", "channel", "duration_seconds", "outcome", "intent"]
    list_filter = ["channel", "outcome", "intent"]
    search_fields = ["candidate__exam_number", "caller__staff_no"]
    raw_id_fields = ["candidate", "caller"]
    date_hierarchy = "contacted_at"
    show_full_result_count = False

    # A contact drawn for a supervision audit is evidence: nobody edits or deletes it afterwards.
    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.audit_items.exists():
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.audit_items.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["caller", "day"]
    list_filter = ["day"]
    search_fields = ["caller__staff_no", "caller__name"]
    raw_id_fields = ["caller"]


@admin.register(ProspectReport)
class ProspectReportAdmin(admin.ModelAdmin):
    list_display = ["exam_number", "id_number", "name", "caller", "created_at"]
    list_filter = ["season"]
    search_fields = ["exam_number", "id_number", "name", "caller__staff_no"]
    raw_id_fields = ["caller"]


from callbacks import casework_admin  # noqa: E402,F401  (registers the casework models)
