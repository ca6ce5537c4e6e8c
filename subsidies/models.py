"""Subsidy schemes per season, payout runs (frozen facts + lines), deductions, inquiries and
adjustments. The computation itself is the pure engine in `subsidies.engine`."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.models import Season
from callbacks.models import Caller

MONEY = {"max_digits": 12, "decimal_places": 2}


class SubsidyScheme(models.Model):
    """One version of a season's scheme (the engine's `Scheme` as JSON). Editing adds a version."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="subsidy_schemes")
    version = models.PositiveIntegerField(_("版本"))
    params = models.JSONField(_("参数"))
    note = models.CharField(_("修改说明"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["season", "-version"]
        verbose_name = _("补贴方案")
        verbose_name_plural = _("补贴方案")
        constraints = [
            models.UniqueConstraint(fields=["season", "version"], name="scheme_version_unique_per_season"),
        ]

    def __str__(self) -> str:
        return f"{self.season} v{self.version}"


class RunStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    APPROVED = "approved", _("已审批")


class PayoutRun(models.Model):
    """A computation frozen: the scheme snapshot, the facts it read and every line it produced.
    An approved run never changes; recomputing makes a new run."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="payout_runs")
    number = models.PositiveIntegerField(_("序号"))
    scheme = models.ForeignKey(SubsidyScheme, on_delete=models.PROTECT, related_name="runs")
    scheme_snapshot = models.JSONField(_("方案快照"))
    facts = models.JSONField(_("核算依据"))
    status = models.CharField(_("状态"), max_length=16, choices=RunStatus.choices, default=RunStatus.DRAFT)
    total = models.DecimalField(_("合计"), default=Decimal("0.00"), **MONEY)
    person_count = models.PositiveIntegerField(_("人数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("核算时间"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        ordering = ["-season__year", "-number"]
        verbose_name = _("补贴核算")
        verbose_name_plural = _("补贴核算")
        constraints = [
            models.UniqueConstraint(fields=["season", "number"], name="payout_run_number_unique_per_season"),
        ]

    def __str__(self) -> str:
        return f"{self.season} #{self.number}"

    @property
    def locked(self) -> bool:
        return self.status == RunStatus.APPROVED


class PayoutLine(models.Model):
    """One explained amount: who, which rule, on what numbers, how much and why."""

    run = models.ForeignKey(PayoutRun, on_delete=models.CASCADE, related_name="lines")
    person = models.ForeignKey(Caller, on_delete=models.PROTECT, related_name="payout_lines")
    position = models.PositiveIntegerField(_("顺序"))
    rule = models.CharField(_("规则"), max_length=32)
    category = models.CharField(_("类别"), max_length=16)
    subject = models.CharField(_("对象"), max_length=64, blank=True)
    inputs = models.JSONField(_("依据"), default=dict)
    rate = models.DecimalField(_("报到率"), max_digits=9, decimal_places=6, null=True, blank=True)
    tier = models.CharField(_("档位"), max_length=32, blank=True)
    steps = models.IntegerField(_("递增步数"), null=True, blank=True)
    points = models.PositiveIntegerField(_("积分"), default=0)
    amount = models.DecimalField(_("金额"), **MONEY)
    reason = models.TextField(_("说明"))

    class Meta:
        ordering = ["run", "position"]
        verbose_name = _("补贴明细")
        verbose_name_plural = _("补贴明细")
        indexes = [
            # a person's statement in a run
            models.Index(fields=["run", "person", "position"], name="payout_line_by_person"),
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.person_id} {self.rule} {self.amount}"


class Deduction(models.Model):
    """A misconduct deduction (八.(五)): 20–100% of the person's total, applied last."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="subsidy_deductions")
    person = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="subsidy_deductions")
    percent = models.DecimalField(
        _("扣除比例"),
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.20")), MaxValueValidator(Decimal("1.00"))],
        help_text=_("0.20 – 1.00，即 20% – 100%"),
    )
    reason = models.CharField(_("原因"), max_length=255)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("违纪扣除")
        verbose_name_plural = _("违纪扣除")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=Decimal("0.20"), percent__lte=Decimal("1.00")),
                name="deduction_percent_20_to_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.percent}"


class InquiryStatus(models.TextChoices):
    OPEN = "open", _("待答复")
    ANSWERED = "answered", _("已答复")


class Inquiry(models.Model):
    """A person's question about a line of a run; the office answers."""

    run = models.ForeignKey(PayoutRun, on_delete=models.CASCADE, related_name="inquiries")
    line = models.ForeignKey(PayoutLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    person = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="subsidy_inquiries")
    question = models.TextField(_("问题"))
    status = models.CharField(
        _("状态"), max_length=16, choices=InquiryStatus.choices, default=InquiryStatus.OPEN
    )
    answer = models.TextField(_("答复"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)

    class Meta:
        ordering = ["status", "-created_at"]
        verbose_name = _("补贴询问")
        verbose_name_plural = _("补贴询问")
        indexes = [models.Index(fields=["status", "created_at"], name="inquiry_by_status")]

    def __str__(self) -> str:
        return f"{self.person} {self.created_at:%Y-%m-%d}"


class AdjustmentReason(models.TextChoices):
    DATA_ERROR = "data_error", _("数据有误")
    LATE_REGISTRATION = "late_registration", _("补录报到")
    MISSED_ASSIGNMENT = "missed_assignment", _("分配遗漏")
    ATTENDANCE = "attendance", _("考勤更正")
    OTHER = "other", _("其他")


class Adjustment(models.Model):
    """An office correction, carried into the next runs as a line until a run with it is approved."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="subsidy_adjustments")
    person = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="subsidy_adjustments")
    amount = models.DecimalField(_("金额"), **MONEY)
    reason_code = models.CharField(_("原因类别"), max_length=32, choices=AdjustmentReason.choices)
    reason = models.CharField(_("说明"), max_length=255)
    inquiry = models.ForeignKey(
        Inquiry, on_delete=models.SET_NULL, null=True, blank=True, related_name="adjustments"
    )
    settled_run = models.ForeignKey(
        PayoutRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="settled_adjustments"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("补贴调整")
        verbose_name_plural = _("补贴调整")

    def __str__(self) -> str:
        return f"{self.person} {self.amount}"
