"""Nightly progress snapshots and weekly team reports (stored, with history)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from admissions.models import RATE, Season
from callbacks.models import Team


class Scope(models.TextChoices):
    CALLER = "caller", _("回访员")
    TEAM = "team", _("小组")
    SEASON = "season", _("全校")
    PROVINCE = "province", _("省份")


ALL_LEVELS = "all"


class ProgressSnapshot(models.Model):
    """One day's numbers for a caller, a team, a province or the whole season, per level (or all
    levels).

    Dashboards read these rows instead of recomputing history, and the office dashboard reads
    the latest day's season, province and team rows instead of aggregating every candidate.
    `scope_id` is the caller's, team's or province policy's id, 0 for the season; `level` is a
    `Level` value or "all". `reached`, `confirmed` and `contacted` are None on rows taken before
    they were recorded.
    """

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField(_("日期"))
    scope = models.CharField(_("范围"), max_length=8, choices=Scope.choices)
    scope_id = models.PositiveBigIntegerField(_("范围编号"), default=0)
    level = models.CharField(_("层次"), max_length=16)
    candidates = models.PositiveIntegerField(_("考生数"), default=0)
    admitted = models.PositiveIntegerField(_("录取人数"), default=0)
    paid = models.PositiveIntegerField(_("已缴费"), default=0)
    enrolled = models.PositiveIntegerField(_("已报到"), default=0)
    contacts = models.PositiveIntegerField(_("回访次数"), default=0)
    minutes = models.DecimalField(_("回访分钟"), max_digits=12, decimal_places=1, default=0)
    early_payment_rate = models.DecimalField(_("提前缴费率"), default=0, **RATE)
    stage = models.PositiveSmallIntegerField(_("缴费阶段"), null=True, blank=True)
    stage_target = models.DecimalField(_("阶段目标"), null=True, blank=True, **RATE)
    enrollment_rate = models.DecimalField(_("报到率"), default=0, **RATE)
    reached = models.PositiveIntegerField(_("联系上"), null=True, blank=True)
    confirmed = models.PositiveIntegerField(_("确认就读"), null=True, blank=True)
    contacted = models.PositiveIntegerField(_("已联系"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "scope", "scope_id", "level"]
        verbose_name = _("进度快照")
        verbose_name_plural = _("进度快照")
        constraints = [
            models.UniqueConstraint(
                fields=["season", "day", "scope", "scope_id", "level"], name="snapshot_unique_per_day"
            ),
        ]
        indexes = [
            # a dashboard's history of one caller / team: by scope, newest day first
            models.Index(fields=["season", "scope", "scope_id", "day"], name="snapshot_history"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.scope}:{self.scope_id} {self.level}"


def weekly_report_upload_to(instance: WeeklyReport, filename: str) -> str:
    return f"reports/weekly/{instance.season_id}/{filename}"


class WeeklyReport(models.Model):
    """A team's weekly summary (各组小组长每周总结一次学生动态): HTML page and Excel workbook."""

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="weekly_reports")
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="weekly_reports", verbose_name=_("小组")
    )
    week_start = models.DateField(_("周一"))
    html = models.TextField(_("内容"))
    xlsx = models.FileField(_("Excel"), upload_to=weekly_report_upload_to, max_length=255, blank=True)
    data = models.JSONField(_("数据"), default=dict)
    generated_at = models.DateTimeField(_("生成时间"), auto_now=True)

    class Meta:
        ordering = ["-week_start", "team__sort_order", "team_id"]
        verbose_name = _("小组周报")
        verbose_name_plural = _("小组周报")
        constraints = [
            models.UniqueConstraint(fields=["team", "week_start"], name="weekly_report_unique_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.week_start}"


class ExportLog(models.Model):
    """One Excel export of a dashboard table or candidate list (who, when, what, how many rows).

    Exports of personal data (candidate lists) must be traceable (PIPL); the office reads these.
    """

    season = models.ForeignKey(Season, on_delete=models.CASCADE, related_name="export_logs")
    user = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("导出人")
    )
    created_at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    what = models.CharField(_("内容"), max_length=64)
    personal_data = models.BooleanField(_("含个人信息"), default=False)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("导出记录")
        verbose_name_plural = _("导出记录")
        indexes = [
            # the office's export log, newest first
            models.Index(fields=["season", "created_at"], name="exportlog_by_season_time"),
        ]

    def __str__(self) -> str:
        return f"{self.what} · {self.user_id} · {self.created_at:%Y-%m-%d %H:%M}"
