from django.contrib import admin

from supervision.models import (
    AuditItem,
    AuditSample,
    AuditScore,
    ContactAttachment,
    Finding,
    FindingEvent,
    Incident,
    LedgerCheck,
    QualificationReview,
    Scorecard,
    ScorecardCriterion,
)


@admin.register(QualificationReview)
class QualificationReviewAdmin(admin.ModelAdmin):
    search_fields = ["caller__staff_no", "caller__name"]
    list_display = ["caller", "reviewed_on", "outcome", "reviewer"]
    list_filter = ["outcome"]
    raw_id_fields = ["caller", "reviewer"]


class AuditItemInline(admin.TabularInline):
    model = AuditItem
    raw_id_fields = ["contact_log", "team"]
    extra = 0


@admin.register(AuditSample)
class AuditSampleAdmin(admin.ModelAdmin):
    list_filter = ["season", "period_start"]
    search_fields = ["supervisor__staff_no", "supervisor__name"]
    list_display = ["id", "supervisor", "period_start", "period_end", "seed", "created_at"]
    raw_id_fields = ["supervisor"]
    inlines = [AuditItemInline]


class CriterionInline(admin.TabularInline):
    model = ScorecardCriterion
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_filter = ["season"]
    search_fields = ["criteria__label"]
    list_display = ["season", "version", "created_at"]
    inlines = [CriterionInline]


@admin.register(AuditScore)
class AuditScoreAdmin(admin.ModelAdmin):
    list_filter = ["scorecard__season", "submitted_at"]
    search_fields = ["supervisor__staff_no", "item__contact_log__candidate__exam_number"]
    list_display = ["item", "supervisor", "total", "submitted_at"]
    raw_id_fields = ["item", "supervisor", "scorecard"]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    search_fields = ["caller__staff_no", "caller__name", "description"]
    list_display = ["caller", "team", "category", "severity", "status", "created_at"]
    list_filter = ["status", "severity", "category"]
    raw_id_fields = ["item", "caller", "team", "author", "verified_by", "arbitrated_by"]


@admin.register(ContactAttachment)
class ContactAttachmentAdmin(admin.ModelAdmin):
    search_fields = ["contact_log__candidate__exam_number", "original_name"]
    list_display = ["contact_log", "kind", "size", "uploaded_at", "archived"]
    list_filter = ["kind", "archived"]
    raw_id_fields = ["contact_log", "uploaded_by"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    search_fields = ["description", "team__name", "caller__staff_no"]
    list_display = ["occurred_on", "kind", "team", "caller", "caused_by_improper_callback"]
    list_filter = ["kind", "caused_by_improper_callback"]
    raw_id_fields = ["team", "caller", "recorded_by"]


@admin.register(LedgerCheck)
class LedgerCheckAdmin(admin.ModelAdmin):
    list_filter = ["season", "checked_at"]
    search_fields = ["team__name", "supervisor__staff_no"]
    list_display = ["team", "supervisor", "checked_at"]
    raw_id_fields = ["team", "supervisor"]


@admin.register(AuditItem)
class AuditItemAdmin(admin.ModelAdmin):
    list_display = ["sample", "contact_log", "team", "stratum", "calibration"]
    list_filter = ["calibration", "sample__season"]
    search_fields = ["contact_log__candidate__exam_number", "team__name"]
    raw_id_fields = ["sample", "contact_log", "team"]


@admin.register(ScorecardCriterion)
class ScorecardCriterionAdmin(admin.ModelAdmin):
    list_display = ["scorecard", "position", "label", "max_points", "weight"]
    list_filter = ["scorecard__season"]
    search_fields = ["label"]


@admin.register(FindingEvent)
class FindingEventAdmin(admin.ModelAdmin):
    """The findings' history: read-only evidence."""

    list_display = ["finding", "actor", "action", "from_status", "to_status", "at"]
    list_filter = ["action", "to_status"]
    search_fields = ["finding__caller__staff_no", "note"]
    raw_id_fields = ["finding", "actor"]

    def has_change_permission(self, request, obj=None):
        return False
