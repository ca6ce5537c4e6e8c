from django.contrib import admin

from supervision.models import (
    AuditItem,
    AuditSample,
    AuditScore,
    ContactAttachment,
    Finding,
    Incident,
    LedgerCheck,
    QualificationReview,
    Scorecard,
    ScorecardCriterion,
)


@admin.register(QualificationReview)
class QualificationReviewAdmin(admin.ModelAdmin):
    list_display = ["caller", "reviewed_on", "outcome", "reviewer"]
    list_filter = ["outcome"]
    raw_id_fields = ["caller", "reviewer"]


class AuditItemInline(admin.TabularInline):
    model = AuditItem
    raw_id_fields = ["contact_log", "team"]
    extra = 0


@admin.register(AuditSample)
class AuditSampleAdmin(admin.ModelAdmin):
    list_display = ["id", "supervisor", "period_start", "period_end", "seed", "created_at"]
    raw_id_fields = ["supervisor"]
    inlines = [AuditItemInline]


class CriterionInline(admin.TabularInline):
    model = ScorecardCriterion
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ["season", "version", "created_at"]
    inlines = [CriterionInline]


@admin.register(AuditScore)
class AuditScoreAdmin(admin.ModelAdmin):
    list_display = ["item", "supervisor", "total", "submitted_at"]
    raw_id_fields = ["item", "supervisor", "scorecard"]


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ["caller", "team", "category", "severity", "status", "created_at"]
    list_filter = ["status", "severity", "category"]
    raw_id_fields = ["item", "caller", "team", "author", "verified_by", "arbitrated_by"]


@admin.register(ContactAttachment)
class ContactAttachmentAdmin(admin.ModelAdmin):
    list_display = ["contact_log", "kind", "size", "uploaded_at", "archived"]
    list_filter = ["kind", "archived"]
    raw_id_fields = ["contact_log", "uploaded_by"]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["occurred_on", "kind", "team", "caller", "caused_by_improper_callback"]
    list_filter = ["kind", "caused_by_improper_callback"]
    raw_id_fields = ["team", "caller", "recorded_by"]


@admin.register(LedgerCheck)
class LedgerCheckAdmin(admin.ModelAdmin):
    list_display = ["team", "supervisor", "checked_at"]
    raw_id_fields = ["team", "supervisor"]
