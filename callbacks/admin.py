from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.fields import Field

from admissions.imports import chinese_labels
from callback_office.admin_export import OfficeExportMixin, with_season
from callback_office.privacy import mask_id_number
from callbacks.choices import TeamKind
from callbacks.imports import RosterResource
from callbacks.models import (
    TEAM_SIZE_MAX,
    TEAM_SIZE_MIN,
    Assignment,
    Attendance,
    Caller,
    ContactLog,
    ProspectReport,
    Team,
)


class TeamAdminResource(resources.ModelResource):
    """回访小组: 年度, 小组, 类型, 排序, 组长, 督查, 人数 (in the teams' order)."""

    season = Field(attribute="season__year", column_name="年度")
    name = Field(attribute="name", column_name="小组")
    kind = Field(column_name="类型")
    sort_order = Field(attribute="sort_order", column_name="排序")
    leader = Field(column_name="组长")
    supervisors = Field(column_name="督查")
    members = Field(column_name="人数")

    class Meta:
        model = Team
        fields = ("season", "name", "kind", "sort_order", "leader", "supervisors", "members")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kinds = {v: k for k, v in chinese_labels(TeamKind).items()}

    def dehydrate_kind(self, obj: Team) -> str:
        return self.kinds.get(obj.kind, obj.kind)

    def dehydrate_leader(self, obj: Team) -> str:
        return f"{obj.leader.staff_no} {obj.leader.name}" if obj.leader else ""

    def dehydrate_supervisors(self, obj: Team) -> str:
        return "、".join(s.name for s in sorted(obj.supervisors.all(), key=lambda s: s.staff_no))

    def dehydrate_members(self, obj: Team) -> int:
        return len(obj.members.all())


# 回访人员名单 in the import's columns (export, edit, re-import), plus 年度.
CallerAdminResource = with_season(RosterResource)


@admin.register(Team)
class TeamAdmin(OfficeExportMixin, admin.ModelAdmin):
    resource_classes = [TeamAdminResource]
    list_select_related_for_export = ("season", "leader")
    prefetch_for_export = ("supervisors", "members")
    list_display = ["name", "season", "kind", "leader", "size", "sort_order"]
    list_editable = ["sort_order"]
    list_filter = ["season", "kind"]
    search_fields = ["name"]
    raw_id_fields = ["leader"]
    filter_horizontal = ["supervisors"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("人数"), ordering="member_count")
    def size(self, obj: Team) -> str:
        """Members, flagged when a regular team is outside the plan's 8–13."""
        n = obj.member_count
        if obj.kind == TeamKind.REGULAR and not TEAM_SIZE_MIN <= n <= TEAM_SIZE_MAX:
            return f"{n} ⚠"
        return str(n)


@admin.register(Caller)
class CallerAdmin(OfficeExportMixin, admin.ModelAdmin):
    resource_classes = [CallerAdminResource]
    list_select_related_for_export = ("season", "team")
    prefetch_for_export = ("led_teams", "supervised_teams")
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

    def save_model(self, request, obj: Caller, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Moving someone between teams: say so when a regular team leaves the plan's 8–13.
        teams = {obj.team_id, form.initial.get("team")} - {None}
        for team in Team.objects.filter(pk__in=teams, kind=TeamKind.REGULAR).annotate(n=Count("members")):
            if not TEAM_SIZE_MIN <= team.n <= TEAM_SIZE_MAX:
                messages.warning(
                    request,
                    gettext("小组“%(team)s”现有 %(n)s 人，通常为 %(min)s–%(max)s 人")
                    % {"team": team.name, "n": team.n, "min": TEAM_SIZE_MIN, "max": TEAM_SIZE_MAX},
                )


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

    def delete_queryset(self, request, queryset):
        """The changelist's bulk delete: refused if any selected contact was audited."""
        if queryset.filter(audit_items__isnull=False).exists():
            raise PermissionDenied
        super().delete_queryset(request, queryset)


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["caller", "day"]
    list_filter = ["day"]
    search_fields = ["caller__staff_no", "caller__name"]
    raw_id_fields = ["caller"]


@admin.register(ProspectReport)
class ProspectReportAdmin(admin.ModelAdmin):
    list_display = ["exam_number", "masked_id_number", "name", "caller", "created_at"]
    list_filter = ["season"]
    search_fields = ["exam_number", "id_number", "name", "caller__staff_no"]
    raw_id_fields = ["caller"]

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: ProspectReport) -> str:
        return mask_id_number(obj.id_number)


from callbacks import casework_admin  # noqa: E402,F401  (registers the casework models)
