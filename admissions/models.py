"""The ground floor: seasons, province policies, candidates and the lists the office imports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.choices import AdmissionType, CallbackStatus, Level, PhoneOwner, Strategy
from callback_office.privacy import mask_phone

RATE = {"max_digits": 6, "decimal_places": 5}


class Season(models.Model):
    """One admissions year (招生年度) with its key dates and targets (the 2023 plan's defaults)."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    admission_start = models.DateField(_("录取开始"), null=True, blank=True)
    admission_end = models.DateField(_("录取结束"), null=True, blank=True)
    payment_close = models.DateField(_("缴费系统关闭"), null=True, blank=True)
    registration_date = models.DateField(_("报到日期"), null=True, blank=True)
    undergrad_basic_target = models.DecimalField(_("本科基本任务"), default=Decimal("0.98"), **RATE)
    undergrad_target = models.DecimalField(_("本科目标任务"), default=Decimal("0.985"), **RATE)
    junior_basic_target = models.DecimalField(_("专科基本任务"), default=Decimal("0.935"), **RATE)
    junior_target = models.DecimalField(_("专科目标任务"), default=Decimal("0.95"), **RATE)
    stage1_payment_target = models.DecimalField(_("第一阶段提前缴费率"), default=Decimal("0.20"), **RATE)
    stage2_payment_target = models.DecimalField(_("第二阶段提前缴费率"), default=Decimal("0.60"), **RATE)
    stage3_payment_target = models.DecimalField(_("第三阶段提前缴费率"), default=Decimal("0.80"), **RATE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("招生年度")
        verbose_name_plural = _("招生年度")

    def __str__(self) -> str:
        return f"{self.year}"

    def targets(self, level: str) -> tuple[Decimal, Decimal]:
        """(basic, target) enrollment-rate targets for a level."""
        if level == Level.UNDERGRADUATE:
            return self.undergrad_basic_target, self.undergrad_target
        return self.junior_basic_target, self.junior_target

    def payment_stage(self, day: dt.date) -> tuple[int, Decimal] | None:
        """The early-payment stage in force on `day` and its target, or None if dates are unset.

        Stage 1 runs until one week after admission ends, stage 2 until one week before the
        payment system closes, stage 3 until it closes (the plan's 四.(六)).
        """
        if not (self.admission_end and self.payment_close):
            return None
        if day <= self.admission_end + dt.timedelta(days=7):
            return 1, self.stage1_payment_target
        if day <= self.payment_close - dt.timedelta(days=7):
            return 2, self.stage2_payment_target
        return 3, self.stage3_payment_target


class ProvincePolicy(models.Model):
    """A province's admission policy in a season; decides the caller's strategy."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="provinces")
    province = models.CharField(_("省份"), max_length=20)
    withdrawable = models.BooleanField(_("可退档"), default=False)
    phones_shielded = models.BooleanField(_("屏蔽考生电话"), default=False)
    new_gaokao = models.BooleanField(_("新高考"), default=False)

    class Meta:
        ordering = ["province"]
        verbose_name = _("省份政策")
        verbose_name_plural = _("省份政策")
        constraints = [
            models.UniqueConstraint(fields=["season", "province"], name="province_unique_per_season"),
        ]

    def __str__(self) -> str:
        return self.province

    @property
    def strategy(self) -> str:
        return Strategy.PERSUADE_WITHDRAW if self.withdrawable else Strategy.PERSUADE_ENROLL

    def get_strategy_display(self) -> str:
        return Strategy(self.strategy).label


class Candidate(models.Model):
    """A candidate whose file was sent to the school (投档考生)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="candidates")
    exam_number = models.CharField(_("考生号"), max_length=32)
    name = models.CharField(_("姓名"), max_length=64)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    province = models.ForeignKey(
        ProvincePolicy, on_delete=models.PROTECT, related_name="candidates", verbose_name=_("省份")
    )
    level = models.CharField(_("层次"), max_length=16, choices=Level.choices)
    admission_type = models.CharField(
        _("类型"), max_length=24, choices=AdmissionType.choices, default=AdmissionType.GENERAL
    )
    batch = models.CharField(_("批次"), max_length=64, blank=True)
    major = models.CharField(_("预录专业"), max_length=128, blank=True)
    preference_order = models.PositiveSmallIntegerField(_("志愿顺序"), null=True, blank=True)
    high_school = models.CharField(_("中学"), max_length=128, blank=True)
    address = models.CharField(_("通讯地址"), max_length=255, blank=True)

    status = models.CharField(
        _("回访状态"), max_length=24, choices=CallbackStatus.choices, default=CallbackStatus.UNCONTACTED
    )
    masters_track_interest = models.BooleanField(_("专硕意向"), default=False)
    in_pool = models.BooleanField(_("已放入录检池"), default=False)

    paid_on = models.DateField(_("缴费日期"), null=True, blank=True)
    payment_amount = models.DecimalField(
        _("缴费金额"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    enrolled_on = models.DateField(_("报到日期"), null=True, blank=True)
    withdrawn_on = models.DateField(_("退档日期"), null=True, blank=True)

    # Contact summary, kept in step with the contact log in the same transaction so that lists
    # read one row per candidate instead of aggregating contacts.
    contact_count = models.PositiveIntegerField(_("回访次数"), default=0)
    contact_seconds = models.PositiveIntegerField(_("回访总时长(秒)"), default=0)
    last_contact_at = models.DateTimeField(_("最近回访"), null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exam_number"]
        verbose_name = _("考生")
        verbose_name_plural = _("考生")
        constraints = [
            models.UniqueConstraint(fields=["season", "exam_number"], name="exam_number_unique_per_season"),
        ]
        indexes = [
            # office lists and dashboards filter a season by status / province / level
            models.Index(fields=["season", "status"], name="candidate_season_status"),
            models.Index(fields=["season", "province"], name="candidate_season_province"),
            models.Index(fields=["season", "level"], name="candidate_season_level"),
            # 按中学名称查询: classmates of an unreachable candidate
            models.Index(fields=["season", "high_school"], name="candidate_season_school"),
            # the claim query: next candidates in the pool
            models.Index(fields=["season", "id"], condition=Q(in_pool=True), name="candidate_pool"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.exam_number}）"

    @property
    def paid(self) -> bool:
        return self.paid_on is not None

    @property
    def enrolled(self) -> bool:
        return self.enrolled_on is not None

    @property
    def contact_minutes(self) -> Decimal:
        return (Decimal(self.contact_seconds) / 60).quantize(Decimal("0.1"))


class CandidatePhone(models.Model):
    """A phone number on file for a candidate, and whose it is (the manual wants 2–3)."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("号码"), max_length=32)
    owner = models.CharField(_("归属"), max_length=16, choices=PhoneOwner.choices, default=PhoneOwner.SELF)
    note = models.CharField(_("备注"), max_length=64, blank=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("考生电话")
        verbose_name_plural = _("考生电话")
        constraints = [
            models.UniqueConstraint(fields=["candidate", "number"], name="phone_unique_per_candidate"),
        ]

    def __str__(self) -> str:
        return mask_phone(self.number)  # the admin shows str() in lists and action labels


class PaymentRecord(models.Model):
    """A row of an imported payment list (缴费名单)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="payment_records")
    exam_number = models.CharField(_("考生号"), max_length=32)
    candidate = models.ForeignKey(
        Candidate, on_delete=models.SET_NULL, null=True, blank=True, related_name="payment_records"
    )
    paid_on = models.DateField(_("缴费日期"))
    amount = models.DecimalField(_("金额"), max_digits=10, decimal_places=2)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("缴费记录")
        verbose_name_plural = _("缴费记录")
        constraints = [
            models.UniqueConstraint(
                fields=["season", "exam_number", "paid_on"], name="payment_unique_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exam_number} {self.paid_on}"


class RegistrationRecord(models.Model):
    """A row of an imported registration list (报到名单)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="registration_records")
    exam_number = models.CharField(_("考生号"), max_length=32)
    candidate = models.ForeignKey(
        Candidate, on_delete=models.SET_NULL, null=True, blank=True, related_name="registration_records"
    )
    registered_on = models.DateField(_("报到日期"))
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("报到记录")
        verbose_name_plural = _("报到记录")
        constraints = [
            models.UniqueConstraint(fields=["season", "exam_number"], name="registration_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.exam_number} {self.registered_on}"


class WithdrawalRecord(models.Model):
    """A row of an imported list of completed withdrawals (退档名单)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="withdrawal_records")
    exam_number = models.CharField(_("考生号"), max_length=32)
    candidate = models.ForeignKey(
        Candidate, on_delete=models.SET_NULL, null=True, blank=True, related_name="withdrawal_records"
    )
    withdrawn_on = models.DateField(_("退档日期"))
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("退档记录")
        verbose_name_plural = _("退档记录")
        constraints = [
            models.UniqueConstraint(fields=["season", "exam_number"], name="withdrawal_record_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.exam_number} {self.withdrawn_on}"


class ReconciliationStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失败")


class ReconciliationRun(models.Model):
    """One run of the nightly reconciliation of payment and registration lists (对账)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="reconciliation_runs")
    status = models.CharField(
        _("状态"), max_length=16, choices=ReconciliationStatus.choices, default=ReconciliationStatus.RUNNING
    )
    trigger = models.CharField(_("触发方式"), max_length=32, blank=True)
    job_id = models.CharField(_("任务编号"), max_length=64, blank=True)
    files = models.JSONField(_("文件"), default=list, blank=True)
    rows_read = models.PositiveIntegerField(_("读取行数"), default=0)
    rows_changed = models.PositiveIntegerField(_("变更行数"), default=0)
    discrepancies_new = models.PositiveIntegerField(_("新增差异"), default=0)
    discrepancies_open = models.PositiveIntegerField(_("未处理差异"), default=0)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_seconds = models.DecimalField(
        _("耗时(秒)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("对账运行")
        verbose_name_plural = _("对账运行")

    def __str__(self) -> str:
        return f"{self.season_id} @ {self.started_at:%Y-%m-%d %H:%M}"


class DiscrepancyKind(models.TextChoices):
    PAID_BUT_WITHDRAWN = "paid_but_withdrawn", _("已缴费但已退档")
    REGISTERED_BUT_WITHDRAWN = "registered_but_withdrawn", _("已报到但已退档")
    CONFIRMED_UNPAID_PAST_STAGE = "confirmed_unpaid_past_stage", _("确认就读但逾期未缴费")
    REGISTERED_NEVER_CONTACTED = "registered_never_contacted", _("已报到但从未回访")
    UNKNOWN_EXAM_NUMBER = "unknown_exam_number", _("考生号不存在")
    DUPLICATE_ROW = "duplicate_row", _("重复记录")


class Discrepancy(models.Model):
    """A finding of the reconciliation for people to act on; one row per (season, kind, 考生号),
    reopened or updated by later runs, never duplicated."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="discrepancies")
    kind = models.CharField(_("类型"), max_length=32, choices=DiscrepancyKind.choices)
    exam_number = models.CharField(_("考生号"), max_length=32)
    candidate = models.ForeignKey(
        Candidate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="discrepancies",
        verbose_name=_("考生"),
    )
    details = models.TextField(_("说明"), blank=True)
    resolved = models.BooleanField(_("已处理"), default=False)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "auth.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("处理人"),
    )
    first_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resolved", "kind", "exam_number"]
        verbose_name = _("对账差异")
        verbose_name_plural = _("对账差异")
        constraints = [
            models.UniqueConstraint(fields=["season", "kind", "exam_number"], name="discrepancy_unique_key"),
        ]
        indexes = [
            # the open-discrepancy lists (office page, callers' lists)
            models.Index(
                fields=["season", "candidate"], condition=Q(resolved=False), name="discrepancy_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.exam_number}"


class PiiField(models.TextChoices):
    ID_NUMBER = "id_number", _("身份证号")
    PHONES = "phones", _("电话号码")


class PiiAccessLog(models.Model):
    """A full value of a candidate's personal data shown on a screen: who, when, what (PIPL).

    Screens show ID numbers masked to everyone; the office and the assigned caller reveal the full
    number with an explicit POST (one row each time). Full phone numbers are shown to them on the
    candidate page (for tel: links): one row per page view. Exports are logged in ExportLog. The
    row holds no personal data itself, only who looked at which candidate's what.
    """

    user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("查看人")
    )
    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="+", verbose_name=_("考生")
    )
    field = models.CharField(_("内容"), max_length=16, choices=PiiField.choices)
    path = models.CharField(_("页面"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("查看时间"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        indexes = [
            # the office's reveal log, newest first
            models.Index(fields=["created_at"], name="piilog_by_time"),
            # who looked at one candidate's data
            models.Index(fields=["candidate", "created_at"], name="piilog_by_candidate"),
        ]

    def __str__(self) -> str:
        return f"{self.get_field_display()} · {self.candidate_id} · {self.user_id}"
