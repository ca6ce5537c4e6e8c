"""Admin for withdrawal requests and strike cases (changes go through the casework services)."""

from django.contrib import admin

from callbacks.casework_models import StrikeCase, WithdrawalMaterial, WithdrawalRequest


class MaterialInline(admin.TabularInline):
    model = WithdrawalMaterial
    extra = 0
    fields = ["kind", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(admin.ModelAdmin):
    list_display = ["candidate", "caller", "status", "created_at", "withdrawn_on"]
    list_filter = ["status", "candidate__season"]
    search_fields = ["candidate__exam_number", "candidate__name", "caller__staff_no"]
    raw_id_fields = ["candidate", "caller", "opened_by", "checked_by", "submitted_by", "decided_by"]
    inlines = [MaterialInline]


@admin.register(WithdrawalMaterial)
class WithdrawalMaterialAdmin(admin.ModelAdmin):
    list_display = ["request", "kind", "content_type", "size", "uploaded_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["request__candidate__exam_number", "sha256"]
    raw_id_fields = ["request", "uploaded_by"]
    readonly_fields = ["file", "content_type", "size", "sha256", "original_name"]


@admin.register(StrikeCase)
class StrikeCaseAdmin(admin.ModelAdmin):
    list_display = ["candidate", "kind", "status", "holder", "verified_at", "created_at"]
    list_filter = ["kind", "status", "candidate__season"]
    search_fields = ["candidate__exam_number", "candidate__name", "holder__staff_no"]
    raw_id_fields = [
        "candidate",
        "requested_by",
        "created_by",
        "approved_by",
        "verified_by",
        "holder",
        "closed_by",
    ]
