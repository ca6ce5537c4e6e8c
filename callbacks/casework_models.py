"""Casework: withdrawal requests (退档申请) with their materials, and strike-team cases (突击组).

Part of the `callbacks` app (imported at the end of `callbacks/models.py`). Writes live in
`callbacks/casework_services.py`, reads in `callbacks/casework_selectors.py`.

Withdrawal materials. The manual (2024 培训手册, 「2、如何退档」) asks for the signed request,
the ID card and the exam ticket "in the same photo" (「退档申请+身份证+准考证」在同一照片内). A
request is complete with EITHER one combined photo holding all three (`combined`, the manual's
way) OR the three separate files (signed letter, ID card, exam ticket) — callers often receive
them as separate pictures, and a leader can check each one as well as the combined photo.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from admissions.choices import CallbackStatus
from admissions.models import Candidate


class WithdrawalStatus(models.TextChoices):
    COLLECTING = "collecting", _("收集材料")
    LEADER_CHECKED = "leader_checked", _("组长已审核")
    SUBMITTED = "submitted", _("已提交考试院")
    COMPLETED = "completed", _("已退档")
    REJECTED = "rejected", _("已驳回")

    @classmethod
    def open_values(cls) -> list[str]:
        return [cls.COLLECTING, cls.LEADER_CHECKED, cls.SUBMITTED]


# status -> statuses it may move to (anything else raises in the services)
WITHDRAWAL_TRANSITIONS: dict[str, frozenset[str]] = {
    WithdrawalStatus.COLLECTING: frozenset({WithdrawalStatus.LEADER_CHECKED, WithdrawalStatus.REJECTED}),
    # the office may send a checked request back for a better photo
    WithdrawalStatus.LEADER_CHECKED: frozenset(
        {WithdrawalStatus.SUBMITTED, WithdrawalStatus.COLLECTING, WithdrawalStatus.REJECTED}
    ),
    WithdrawalStatus.SUBMITTED: frozenset({WithdrawalStatus.COMPLETED, WithdrawalStatus.REJECTED}),
    WithdrawalStatus.COMPLETED: frozenset(),
    WithdrawalStatus.REJECTED: frozenset(),
}


class MaterialKind(models.TextChoices):
    COMBINED = "combined", _("三合一照片（申请书+身份证+准考证）")
    REQUEST_LETTER = "request_letter", _("签字退档申请书")
    ID_CARD = "id_card", _("身份证")
    EXAM_TICKET = "exam_ticket", _("准考证")

    @classmethod
    def separate(cls) -> frozenset[str]:
        return frozenset({cls.REQUEST_LETTER, cls.ID_CARD, cls.EXAM_TICKET})


def _copy_season(obj: models.Model) -> None:
    """Keep the denormalized `season` equal to the candidate's (set once, on create): the
    services pass it; any other creator (admin, fixtures, tests) gets it filled here."""
    if obj.season_id is None and obj.candidate_id is not None:
        cached = obj._meta.get_field("candidate").get_cached_value(obj, None)
        obj.season_id = (
            cached.season_id
            if cached is not None
            else Candidate.objects.filter(pk=obj.candidate_id).values_list("season_id", flat=True).first()
        )


class WithdrawalRequest(models.Model):
    """A candidate's request to have the file returned to the province (退档申请)."""

    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="withdrawal_requests", verbose_name=_("考生")
    )
    # the candidate's season, copied on create (see `save`): the season's counts and lists filter
    # on it through the index below instead of joining every request to its candidate
    season = models.ForeignKey(
        "admissions.Season",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name=_("招生年度"),
    )
    caller = models.ForeignKey(
        "callbacks.Caller",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="withdrawal_requests",
        verbose_name=_("回访员"),
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.COLLECTING
    )
    # the candidate's status before the request, restored when the request is rejected
    previous_candidate_status = models.CharField(
        _("申请前回访状态"), max_length=24, choices=CallbackStatus.choices, blank=True
    )
    note = models.TextField(_("备注"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人")
    )
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核组长"),
    )
    checked_at = models.DateTimeField(_("组长审核时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提交人"),
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("办结人"),
    )
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    withdrawn_on = models.DateField(_("退档日期"), null=True, blank=True)
    reject_reason = models.TextField(_("驳回原因"), blank=True)
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("退档申请")
        verbose_name_plural = _("退档申请")
        constraints = [
            models.UniqueConstraint(
                fields=["candidate"],
                condition=Q(status__in=WithdrawalStatus.open_values()),
                name="one_open_withdrawal_per_candidate",
            ),
        ]
        indexes = [
            # the review lists: open requests by status, newest first
            models.Index(fields=["status", "created_at"], name="withdrawal_by_status"),
            # a season's requests counted by status (office dashboard's 退档进行中) and listed
            models.Index(fields=["season", "status"], name="withdrawal_by_season"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} · {self.get_status_display()}"

    def save(self, *args, **kwargs) -> None:
        _copy_season(self)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in WithdrawalStatus.open_values()


_STORED_NAME = re.compile(r"^\d{4}/[0-9a-f]{32}\.(jpg|png|pdf)$")


def material_upload_to(instance: WithdrawalMaterial, filename: str) -> str:
    """Never the user's file name: the services pass `<year>/<random hex>.<ext from content>`;
    anything else (e.g. an upload through the admin) gets a random name too."""
    if not _STORED_NAME.match(filename):
        ext = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}.get(
            instance.content_type, ""
        )
        filename = f"{uuid.uuid4().hex}{ext}"
    return f"withdrawals/{filename}"


class WithdrawalMaterial(models.Model):
    """One uploaded file of a withdrawal request: image (JPEG/PNG) or PDF, checked by content."""

    request = models.ForeignKey(
        WithdrawalRequest, on_delete=models.CASCADE, related_name="materials", verbose_name=_("退档申请")
    )
    kind = models.CharField(_("材料"), max_length=16, choices=MaterialKind.choices)
    file = models.FileField(_("文件"), upload_to=material_upload_to, max_length=200)
    content_type = models.CharField(_("类型"), max_length=32)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("退档材料")
        verbose_name_plural = _("退档材料")

    def __str__(self) -> str:
        return f"{self.request_id} · {self.get_kind_display()}"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class StrikeCaseKind(models.TextChoices):
    UNREACHABLE = "unreachable", _("联系不上")
    NO_SHOW = "no_show", _("确认不来（录取期间，不可退档省份）")
    AFTER_REGISTRATION = "after_registration", _("报到后未报到")

    @classmethod
    def needs_verification(cls) -> frozenset[str]:
        """Kinds the supervision group must verify before the strike team may take them."""
        return frozenset({cls.NO_SHOW, cls.AFTER_REGISTRATION})


class StrikeCaseStatus(models.TextChoices):
    PENDING = "pending", _("待组长审批")
    DECLINED = "declined", _("组长未批准")
    APPROVED = "approved", _("待突击组接手")
    TAKEN = "taken", _("突击组跟进中")
    CLOSED = "closed", _("已结案")
    DISMISSED = "dismissed", _("督查核实未通过")

    @classmethod
    def open_values(cls) -> list[str]:
        return [cls.PENDING, cls.APPROVED, cls.TAKEN]


STRIKE_TRANSITIONS: dict[str, frozenset[str]] = {
    StrikeCaseStatus.PENDING: frozenset(
        {StrikeCaseStatus.APPROVED, StrikeCaseStatus.DECLINED, StrikeCaseStatus.DISMISSED}
    ),
    StrikeCaseStatus.APPROVED: frozenset(
        {StrikeCaseStatus.TAKEN, StrikeCaseStatus.DISMISSED, StrikeCaseStatus.CLOSED}
    ),
    StrikeCaseStatus.TAKEN: frozenset({StrikeCaseStatus.CLOSED}),
    StrikeCaseStatus.DECLINED: frozenset(),
    StrikeCaseStatus.CLOSED: frozenset(),
    StrikeCaseStatus.DISMISSED: frozenset(),
}


class StrikeStep(models.TextChoices):
    """What the caller already tried (the manual's 「如何突破联系不上的那些考生」)."""

    EMPTY_NUMBER = "empty_number", _("空号")
    WRONG_NUMBER = "wrong_number", _("错号")
    POWERED_OFF = "powered_off", _("关机/停机")
    LOOKUP_114 = "lookup_114", _("114 查询")
    CLASSMATES = "classmates", _("同校同学查询")
    OFFICE_BACKEND = "office_backend", _("招生处后台查号")
    HEAD_TEACHER = "head_teacher", _("中学班主任")
    VILLAGE = "village", _("村委会/物业/街道")
    SMS = "sms", _("短信")
    WECHAT_QQ = "wechat_qq", _("微信/QQ")
    POLICE = "police", _("户籍派出所")
    PARENTS = "parents", _("家长/亲戚")
    OTHER = "other", _("其他")


class StrikeResult(models.TextChoices):
    REACHED = "reached", _("已联系上，交回回访员")
    PERSUADED = "persuaded", _("劝来成功")
    REFUSED = "refused", _("仍明确不来")
    UNREACHABLE = "unreachable", _("仍联系不上")
    OTHER = "other", _("其他")


class StrikeCase(models.Model):
    """A candidate handed to the strike team (突击组): unreachable, or a confirmed no-show.

    Escalation does not end the caller's assignment: the caller keeps the candidate, the strike
    member (`holder`) works beside them and logs contacts the same way.
    """

    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="strike_cases", verbose_name=_("考生")
    )
    # the candidate's season, copied on create (see `save`), as on WithdrawalRequest
    season = models.ForeignKey(
        "admissions.Season",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name=_("招生年度"),
    )
    kind = models.CharField(_("类型"), max_length=24, choices=StrikeCaseKind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=StrikeCaseStatus.choices, default=StrikeCaseStatus.PENDING
    )
    requested_by = models.ForeignKey(
        "callbacks.Caller",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="strike_requests",
        verbose_name=_("申请人"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("发起人")
    )
    steps_tried = models.JSONField(_("已尝试的办法"), default=list, blank=True)
    note = models.TextField(_("情况说明"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decline_reason = models.TextField(_("未批准原因"), blank=True)
    verified_by = models.ForeignKey(
        "callbacks.Caller",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="strike_verifications",
        verbose_name=_("核实督查"),
    )
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verification_note = models.TextField(_("核实说明"), blank=True)
    holder = models.ForeignKey(
        "callbacks.Caller",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="strike_cases_held",
        verbose_name=_("突击组跟进人"),
    )
    taken_at = models.DateTimeField(_("接手时间"), null=True, blank=True)
    result = models.CharField(_("结果"), max_length=16, choices=StrikeResult.choices, blank=True)
    result_note = models.TextField(_("结案说明"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("结案人"),
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("突击组案件")
        verbose_name_plural = _("突击组案件")
        constraints = [
            models.UniqueConstraint(
                fields=["candidate"],
                condition=Q(status__in=StrikeCaseStatus.open_values()),
                name="one_open_strike_case_per_candidate",
            ),
        ]
        indexes = [
            # the strike team's queue (approved, not taken) and a member's own cases
            models.Index(fields=["status", "created_at"], name="strike_case_by_status"),
            models.Index(
                fields=["holder", "status"], condition=Q(holder__isnull=False), name="strike_case_by_holder"
            ),
            # a season's cases counted by status (office dashboard's strike-team line) and listed
            models.Index(fields=["season", "status"], name="strike_case_by_season"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate_id} · {self.get_kind_display()} · {self.get_status_display()}"

    def save(self, *args, **kwargs) -> None:
        _copy_season(self)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in StrikeCaseStatus.open_values()

    @property
    def needs_verification(self) -> bool:
        return self.kind in StrikeCaseKind.needs_verification()

    @property
    def takeable(self) -> bool:
        """In the strike team's queue: approved, nobody holds it, verified where the kind needs it."""
        return (
            self.status == StrikeCaseStatus.APPROVED
            and self.holder_id is None
            and (not self.needs_verification or self.verified_at is not None)
        )

    def steps_tried_display(self) -> list[str]:
        labels = dict(StrikeStep.choices)
        return [str(labels.get(step, step)) for step in self.steps_tried]
