"""The supervision group's records (督查组): qualification reviews, sampled audits with scores and
findings, recordings, incidents and follow-up ledger checks."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.models import Season
from callbacks.models import Caller, ContactLog, Team
from supervision.choices import (
    AttachmentKind,
    FindingCategory,
    FindingStatus,
    IncidentKind,
    ReviewOutcome,
    Severity,
)


class QualificationReview(models.Model):
    """A caller's qualification review (资格审查) before they may claim or be assigned candidates."""

    caller = models.ForeignKey(
        Caller, on_delete=models.CASCADE, related_name="qualification_reviews", verbose_name=_("回访员")
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("审查人")
    )
    reviewed_on = models.DateField(_("审查日期"))
    trained = models.BooleanField(_("已参加培训"), default=False)
    script_tested = models.BooleanField(_("话术考核通过"), default=False)
    rules_acknowledged = models.BooleanField(_("已签署工作纪律"), default=False)
    outcome = models.CharField(_("结论"), max_length=16, choices=ReviewOutcome.choices)
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("资格审查")
        verbose_name_plural = _("资格审查")
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome=ReviewOutcome.QUALIFIED)
                | Q(trained=True, script_tested=True, rules_acknowledged=True),
                name="qualification_pass_needs_all_checks",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.reviewed_on} {self.get_outcome_display()}"


def new_seed() -> int:
    return secrets.randbits(62)


class AuditSample(models.Model):
    """One random sampling (抽查) of contact logs of a supervisor's teams for a period.

    `seed` and `parameters` are everything needed to draw the same items again
    (see `supervision.sampling`).
    """

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="audit_samples")
    supervisor = models.ForeignKey(
        Caller, on_delete=models.RESTRICT, related_name="audit_samples", verbose_name=_("督查")
    )
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    seed = models.BigIntegerField(_("随机种子"), default=new_seed)
    parameters = models.JSONField(_("抽样参数"), default=dict)
    created_at = models.DateTimeField(_("抽样时间"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("抽查")
        verbose_name_plural = _("抽查")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="sample_period_ordered"
            ),
        ]
        indexes = [
            # reminder: samplings of a season this month
            models.Index(fields=["season", "created_at"], name="sample_by_season_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.period_start}–{self.period_end}"


class AuditItem(models.Model):
    """A contact log drawn into a sample. A record is never drawn twice, across all samples."""

    sample = models.ForeignKey(AuditSample, on_delete=models.CASCADE, related_name="items")
    contact_log = models.ForeignKey(
        ContactLog, on_delete=models.CASCADE, related_name="audit_items", verbose_name=_("回访记录")
    )
    team = models.ForeignKey(
        Team, on_delete=models.RESTRICT, related_name="audit_items", verbose_name=_("小组")
    )
    stratum = models.CharField(_("分层"), max_length=64, blank=True)
    calibration = models.BooleanField(
        _("校准抽查"), default=False, help_text=_("由招生办指定，多位督查背对背评分")
    )

    class Meta:
        ordering = ["sample", "id"]
        verbose_name = _("抽查记录")
        verbose_name_plural = _("抽查记录")
        constraints = [
            models.UniqueConstraint(fields=["contact_log"], name="audit_item_contact_drawn_once"),
        ]
        indexes = [
            # the audit ledger and the supervisor's scope: items by team
            models.Index(fields=["team", "sample"], name="audit_item_by_team"),
        ]

    def __str__(self) -> str:
        return f"{self.sample_id}/{self.contact_log_id}"


class Scorecard(models.Model):
    """The audit scorecard of a season; each edit by the office makes a new version."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="scorecards")
    version = models.PositiveIntegerField(_("版本"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["season", "-version"]
        verbose_name = _("评分表")
        verbose_name_plural = _("评分表")
        constraints = [
            models.UniqueConstraint(fields=["season", "version"], name="scorecard_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.season} v{self.version}"


class ScorecardCriterion(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField(_("顺序"))
    label = models.CharField(_("评分项"), max_length=128)
    max_points = models.PositiveSmallIntegerField(_("满分"), default=10)
    weight = models.DecimalField(_("权重"), max_digits=5, decimal_places=2, default=Decimal("1"))

    class Meta:
        ordering = ["scorecard", "position"]
        verbose_name = _("评分项")
        verbose_name_plural = _("评分项")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "position"], name="criterion_position_unique"),
            models.CheckConstraint(condition=Q(max_points__gt=0), name="criterion_points_positive"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.label


class AuditScore(models.Model):
    """One supervisor's score of one sampled record; others' scores stay hidden until submitted."""

    item = models.ForeignKey(AuditItem, on_delete=models.CASCADE, related_name="scores")
    supervisor = models.ForeignKey(
        Caller, on_delete=models.RESTRICT, related_name="audit_scores", verbose_name=_("督查")
    )
    scorecard = models.ForeignKey(Scorecard, on_delete=models.RESTRICT, related_name="scores")
    marks = models.JSONField(_("各项得分"), default=dict, help_text=_("{评分项 id: 得分}"))
    total = models.DecimalField(_("得分率"), max_digits=5, decimal_places=2)
    comment = models.TextField(_("评语"), blank=True)
    submitted_at = models.DateTimeField(_("评分时间"), auto_now_add=True)

    class Meta:
        ordering = ["item", "submitted_at"]
        verbose_name = _("评分")
        verbose_name_plural = _("评分")
        constraints = [
            models.UniqueConstraint(fields=["item", "supervisor"], name="score_once_per_supervisor"),
        ]
        indexes = [
            # the audit ledger: scores per supervisor per period
            models.Index(fields=["supervisor", "submitted_at"], name="score_by_supervisor"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} · {self.supervisor_id} · {self.total}"


class Finding(models.Model):
    """A problem found in an audited record; it goes to the caller and their leader (整改)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(AuditItem, on_delete=models.CASCADE, related_name="findings")
    caller = models.ForeignKey(
        Caller, on_delete=models.RESTRICT, related_name="findings", verbose_name=_("回访员")
    )
    team = models.ForeignKey(Team, on_delete=models.RESTRICT, related_name="findings", verbose_name=_("小组"))
    author = models.ForeignKey(
        Caller, on_delete=models.RESTRICT, related_name="authored_findings", verbose_name=_("督查")
    )
    severity = models.CharField(
        _("严重程度"), max_length=16, choices=Severity.choices, default=Severity.MINOR
    )
    category = models.CharField(_("类别"), max_length=24, choices=FindingCategory.choices)
    description = models.TextField(_("问题描述"))
    required_rectification = models.TextField(_("整改要求"))
    status = models.CharField(
        _("状态"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    created_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    dispute_deadline = models.DateTimeField(_("确认/申诉截止"))

    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    dispute_reason = models.TextField(_("申诉理由"), blank=True)
    disputed_at = models.DateTimeField(_("申诉时间"), null=True, blank=True)
    arbitrated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("仲裁人"),
    )
    arbitrated_at = models.DateTimeField(_("仲裁时间"), null=True, blank=True)
    arbitration_upheld = models.BooleanField(_("维持问题"), null=True, blank=True)
    arbitration_note = models.TextField(_("仲裁意见"), blank=True)

    caller_response = models.TextField(_("回访员整改说明"), blank=True)
    caller_responded_at = models.DateTimeField(null=True, blank=True)
    leader_response = models.TextField(_("组长意见"), blank=True)
    leader_responded_at = models.DateTimeField(null=True, blank=True)

    verified_by = models.ForeignKey(
        Caller,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verified_findings",
        verbose_name=_("核实人"),
    )
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verification_note = models.TextField(_("核实意见"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("问题")
        verbose_name_plural = _("问题")
        indexes = [
            # open findings per caller / team (dashboards, subsidy facts)
            models.Index(
                fields=["season", "caller"],
                condition=Q(status__in=FindingStatus.unresolved()),
                name="finding_unresolved_by_caller",
            ),
            models.Index(fields=["team", "status"], name="finding_by_team_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.caller}"


class FindingEvent(models.Model):
    """Audit trail of a finding: every state change and who made it."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    ACTION_LABELS = {
        "create": _("提出问题"),
        "acknowledge": _("回访员确认"),
        "dispute": _("回访员申诉"),
        "arbitrate": _("督查组长裁定"),
        "respond": _("回访员反馈整改"),
        "leader_respond": _("小组长代为反馈"),
        "verify": _("督查核实关闭"),
        "reopen": _("督查退回重改"),
    }

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.finding_id} {self.action}"

    @property
    def action_label(self) -> str:
        return self.ACTION_LABELS.get(self.action, self.action)

    @property
    def from_label(self) -> str:
        return FindingStatus(self.from_status).label if self.from_status else ""

    @property
    def to_label(self) -> str:
        return FindingStatus(self.to_status).label if self.to_status else ""


def recording_upload_to(instance: ContactAttachment, filename: str) -> str:
    """A random name under recordings/ (the user's file name is kept only as data)."""
    suffix = PurePosixPath(filename).suffix.lower()[:8]
    return f"recordings/{secrets.token_hex(16)}{suffix}"


class ContactAttachment(models.Model):
    """A recording or chat screenshot of a contact, kept at least five months, then archived."""

    contact_log = models.ForeignKey(ContactLog, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to=recording_upload_to, max_length=255)
    kind = models.CharField(_("类型"), max_length=8, choices=AttachmentKind.choices)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(_("大小"))
    original_name = models.CharField(_("原文件名"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    archived = models.BooleanField(_("已归档"), default=False)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    archive_path = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("录音/截图")
        verbose_name_plural = _("录音/截图")
        indexes = [
            # the retention job: live files by age
            models.Index(fields=["uploaded_at"], condition=Q(archived=False), name="attachment_live_by_age"),
        ]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class Incident(models.Model):
    """A public-opinion incident, complaint, wrong withdrawal or misconduct against a team/caller."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(_("类型"), max_length=24, choices=IncidentKind.choices)
    team = models.ForeignKey(
        Team, on_delete=models.RESTRICT, related_name="incidents", verbose_name=_("小组")
    )
    caller = models.ForeignKey(
        Caller,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("回访员"),
    )
    caused_by_improper_callback = models.BooleanField(_("因回访不当引发"), default=False)
    description = models.TextField(_("经过"))
    handling = models.TextField(_("处理情况"), blank=True)
    occurred_on = models.DateField(_("发生日期"))
    handled_on = models.DateField(_("处理日期"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("舆情/投诉")
        verbose_name_plural = _("舆情/投诉")
        indexes = [models.Index(fields=["season", "kind"], name="incident_by_season_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.team}"


class LedgerCheck(models.Model):
    """A spot check of callers' follow-up ledgers after admission (四.(四).3)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="ledger_checks")
    supervisor = models.ForeignKey(Caller, on_delete=models.RESTRICT, related_name="ledger_checks")
    team = models.ForeignKey(Team, on_delete=models.RESTRICT, related_name="ledger_checks")
    checked_at = models.DateTimeField(_("检查时间"), auto_now_add=True)
    parameters = models.JSONField(_("标准"), default=dict)
    flagged = models.JSONField(_("未达标回访员"), default=list)
    note = models.TextField(_("检查记录"), blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        verbose_name = _("台账抽查")
        verbose_name_plural = _("台账抽查")

    def __str__(self) -> str:
        return f"{self.team} {self.checked_at:%Y-%m-%d}"
