from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewOutcome(models.TextChoices):
    QUALIFIED = "qualified", _("通过")
    REJECTED = "rejected", _("不通过")


class Severity(models.TextChoices):
    MINOR = "minor", _("轻微")
    MAJOR = "major", _("一般")
    SERIOUS = "serious", _("严重")


class FindingCategory(models.TextChoices):
    OPENING = "opening", _("开场与身份")
    POLICY = "policy", _("政策讲解")
    FALSE_PROMISE = "false_promise", _("虚假宣传或违规承诺")
    FORBIDDEN_PHRASE = "forbidden_phrase", _("禁用语")
    FALSE_RECORD = "false_record", _("记录与通话不符（虚假回访）")
    NEXT_STEP = "next_step", _("下一步安排")
    LEDGER = "ledger", _("台账不全")
    OTHER = "other", _("其他")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    DISPUTED = "disputed", _("申诉中")
    RESPONDED = "responded", _("已反馈整改")
    CLOSED = "closed", _("已核实关闭")
    DISMISSED = "dismissed", _("申诉成立·撤销")

    @classmethod
    def unresolved(cls) -> tuple[str, ...]:
        """Statuses that still need work (the 'open findings' of the dashboards)."""
        return (cls.OPEN, cls.DISPUTED, cls.RESPONDED)


class AttachmentKind(models.TextChoices):
    AUDIO = "audio", _("录音")
    IMAGE = "image", _("截图")
    PDF = "pdf", _("PDF")


class IncidentKind(models.TextChoices):
    PUBLIC_OPINION = "public_opinion", _("舆情")
    COMPLAINT = "complaint", _("投诉")
    WRONG_WITHDRAWAL = "wrong_withdrawal", _("误退")
    MISCONDUCT = "misconduct", _("违纪")


class Stratum(models.TextChoices):
    CALLER = "caller", _("按回访员")
    OUTCOME = "outcome", _("按回访结果")
