"""Callers, teams, assignments and the contact log (回访记录)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.models import RATE, Candidate, Season
from callback_office.privacy import mask_id_number
from callbacks.choices import (
    AssignmentSource,
    CallerKind,
    Channel,
    Intent,
    Outcome,
    QualificationStatus,
    TeamKind,
)

FULL_CAPACITY = Decimal("1.0")
STUDENT_CAPACITY = Decimal("0.5")

TEAM_SIZE_MIN = 8
TEAM_SIZE_MAX = 13

# Teams are listed by `sort_order`, then id, never by name: 第十组 sorts before 第二组 as text.
TEAM_ORDER = ("sort_order", "id")
UNNUMBERED_TEAM_ORDER = 1000
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_TEAM_NUMBER_RE = re.compile(r"\d+|[零〇一二两三四五六七八九十百千]+")


def team_number(name: str) -> int | None:
    """The number in a team's name: 第十二组 → 12, 第3组 → 3, 突击组 → None."""
    m = _TEAM_NUMBER_RE.search(name)
    if m is None:
        return None
    text = m.group()
    if text.isdigit():
        return int(text)
    total, digit = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            total += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return total + digit


def team_default_sort_order(name: str, kind: str = TeamKind.REGULAR) -> int:
    """Where a new team goes in lists: numbered regular teams by their number, then the others
    (unnumbered regular teams, then the supervision group and the strike team). The office can
    change it in the admin."""
    number = team_number(name) if kind == TeamKind.REGULAR else None
    if number is not None:
        return number
    return UNNUMBERED_TEAM_ORDER + list(TeamKind.values).index(kind)


class Team(models.Model):
    """A call-back team (回访小组) of 8–13 callers with a leader, or a special group."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("小组"), max_length=64)
    kind = models.CharField(_("类型"), max_length=16, choices=TeamKind.choices, default=TeamKind.REGULAR)
    leader = models.ForeignKey(
        "Caller",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_teams",
        verbose_name=_("组长"),
    )
    supervisors = models.ManyToManyField(
        "Caller", blank=True, related_name="supervised_teams", verbose_name=_("督查")
    )
    sort_order = models.PositiveIntegerField(
        _("排序"), default=0, help_text=_("小组在各列表中的顺序，小的在前（新建小组按名称中的序号）")
    )

    class Meta:
        ordering = ["season", *TEAM_ORDER]
        verbose_name = _("回访小组")
        verbose_name_plural = _("回访小组")
        constraints = [models.UniqueConstraint(fields=["season", "name"], name="team_unique_per_season")]

    def __str__(self) -> str:
        return self.name


class Caller(models.Model):
    """A caller's profile for one season (回访员), on Django's User (username = 工号)."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="callers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="callers")
    staff_no = models.CharField(_("工号"), max_length=32)
    name = models.CharField(_("姓名"), max_length=64)
    kind = models.CharField(_("身份"), max_length=16, choices=CallerKind.choices, default=CallerKind.TEACHER)
    department = models.CharField(_("部门"), max_length=128, blank=True)
    phone = models.CharField(_("手机"), max_length=32, blank=True)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("小组")
    )
    is_supervisor = models.BooleanField(_("督查"), default=False)
    is_strike = models.BooleanField(_("突击组"), default=False)
    qualification_status = models.CharField(
        _("资格审查"), max_length=16, choices=QualificationStatus.choices, default=QualificationStatus.PENDING
    )
    prev_undergrad_rate = models.DecimalField(_("上年本科报到率"), null=True, blank=True, **RATE)
    prev_junior_rate = models.DecimalField(_("上年专科报到率"), null=True, blank=True, **RATE)
    prev_excellent = models.BooleanField(_("上年优秀个人"), default=False)
    # Share of a full-time caller's load for fair distribution; blank = by kind (teachers and
    # staff full-time 1.0, students part-time 0.5).
    capacity = models.DecimalField(
        _("工作量系数"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("全职 1.0，兼职学生 0.5；留空按身份"),
    )

    class Meta:
        ordering = ["season", "staff_no"]
        verbose_name = _("回访员")
        verbose_name_plural = _("回访员")
        constraints = [
            models.UniqueConstraint(fields=["season", "staff_no"], name="caller_staff_no_unique_per_season"),
            models.UniqueConstraint(fields=["season", "user"], name="caller_user_unique_per_season"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.staff_no}）"

    @property
    def qualified(self) -> bool:
        return self.qualification_status == QualificationStatus.QUALIFIED

    @property
    def weight(self) -> Decimal:
        """Capacity used by fair distribution (explicit `capacity`, else by kind)."""
        if self.capacity is not None:
            return self.capacity
        return STUDENT_CAPACITY if self.kind == CallerKind.STUDENT else FULL_CAPACITY


class Assignment(models.Model):
    """A candidate given to a caller. At most one is active per candidate; history is kept."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="assignments")
    caller = models.ForeignKey(Caller, on_delete=models.PROTECT, related_name="assignments")
    source = models.CharField(_("来源"), max_length=16, choices=AssignmentSource.choices)
    active = models.BooleanField(_("有效"), default=True)
    assigned_at = models.DateTimeField(_("分配时间"), auto_now_add=True)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    ended_reason = models.CharField(_("结束原因"), max_length=128, blank=True)
    next_call_at = models.DateTimeField(_("下次回访"), null=True, blank=True)

    class Meta:
        verbose_name = _("分配")
        verbose_name_plural = _("分配")
        constraints = [
            models.UniqueConstraint(
                fields=["candidate"], condition=Q(active=True), name="one_active_assignment_per_candidate"
            ),
        ]
        indexes = [
            # "my candidates": a caller's active assignments
            models.Index(
                fields=["caller", "candidate"], condition=Q(active=True), name="assignment_active_by_caller"
            ),
            # follow-up reminders: due and overdue calls
            models.Index(
                fields=["next_call_at"],
                condition=Q(active=True, next_call_at__isnull=False),
                name="assignment_followup_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} → {self.caller_id}"


class ContactLog(models.Model):
    """One contact attempt (回访记录): phone, SMS, WeChat, QQ, Weibo or other."""

    # No single-column indexes on the two keys: `contact_by_candidate` and `contact_by_caller`
    # lead with them and serve every lookup (and the deletes' cascades); two fewer indexes to
    # write on every logged contact, on the largest table.
    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="contacts", db_index=False
    )
    caller = models.ForeignKey(Caller, on_delete=models.PROTECT, related_name="contacts", db_index=False)
    contacted_at = models.DateTimeField(_("回访时间"))
    channel = models.CharField(_("途径"), max_length=16, choices=Channel.choices, default=Channel.PHONE)
    duration_seconds = models.PositiveIntegerField(_("时长(秒)"), default=0)
    phone_number = models.CharField(_("拨打号码"), max_length=32, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    intent = models.CharField(_("意向"), max_length=24, choices=Intent.choices, default=Intent.NONE)
    risk_signals = models.JSONField(_("风险信号"), default=list, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    new_numbers = models.CharField(_("新获取号码"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-contacted_at"]
        verbose_name = _("回访记录")
        verbose_name_plural = _("回访记录")
        constraints = [
            models.CheckConstraint(condition=Q(duration_seconds__lte=4 * 3600), name="contact_duration_sane"),
        ]
        indexes = [
            # a candidate's history, newest first (covering the duration for summaries)
            models.Index(
                fields=["candidate", "contacted_at"],
                include=["duration_seconds"],
                name="contact_by_candidate",
            ),
            # a caller's ledger and the supervisors' sampling by period
            models.Index(fields=["caller", "contacted_at"], name="contact_by_caller"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} @ {self.contacted_at:%Y-%m-%d %H:%M}"


class Attendance(models.Model):
    """A day a caller worked during admission (for the daily allowance)."""

    caller = models.ForeignKey(Caller, on_delete=models.CASCADE, related_name="attendance")
    day = models.DateField(_("日期"))

    class Meta:
        ordering = ["day"]
        verbose_name = _("考勤")
        verbose_name_plural = _("考勤")
        constraints = [models.UniqueConstraint(fields=["caller", "day"], name="attendance_unique_per_day")]

    def __str__(self) -> str:
        return f"{self.caller_id} {self.day}"


class ProspectReport(models.Model):
    """报备: a caller registers a prospect before admission ("who reported, calls").

    Matched to candidates by exam number or ID number; when such a candidate is released or
    claimed, it goes to the reporting caller. One report per exam number / ID number per season.
    """

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="prospect_reports")
    caller = models.ForeignKey(
        Caller, on_delete=models.CASCADE, related_name="prospect_reports", verbose_name=_("报备人")
    )
    name = models.CharField(_("姓名"), max_length=64, blank=True)
    exam_number = models.CharField(_("考生号"), max_length=32, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    note = models.CharField(_("备注"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("报备时间"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("报备")
        verbose_name_plural = _("报备")
        constraints = [
            models.CheckConstraint(
                condition=~Q(exam_number="") | ~Q(id_number=""), name="report_names_exam_or_id_number"
            ),
            # first reporter wins: one report per exam number / ID number in a season
            models.UniqueConstraint(
                fields=["season", "exam_number"],
                condition=~Q(exam_number=""),
                name="report_unique_exam_number",
            ),
            models.UniqueConstraint(
                fields=["season", "id_number"], condition=~Q(id_number=""), name="report_unique_id_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exam_number or mask_id_number(self.id_number)} → {self.caller_id}"


from callbacks.casework_models import StrikeCase, WithdrawalMaterial, WithdrawalRequest  # noqa: E402,F401
