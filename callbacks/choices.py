from django.db import models
from django.utils.translation import gettext_lazy as _


class CallerKind(models.TextChoices):
    TEACHER = "teacher", _("教师")
    STUDENT = "student", _("学生")
    STAFF = "staff", _("职工")


class QualificationStatus(models.TextChoices):
    PENDING = "pending", _("待审查")
    QUALIFIED = "qualified", _("已通过")
    REJECTED = "rejected", _("未通过")


class TeamKind(models.TextChoices):
    REGULAR = "regular", _("回访小组")
    SUPERVISION = "supervision", _("督查组")
    STRIKE = "strike", _("突击组")


class AssignmentSource(models.TextChoices):
    OFFICE = "office", _("招生办分配")
    POOL = "pool", _("录检池领取")
    REPORT = "report", _("报备")
    IMPORT = "import", _("名单预分配")


class Channel(models.TextChoices):
    PHONE = "phone", _("电话")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")
    QQ = "qq", _("QQ")
    WEIBO = "weibo", _("微博")
    OTHER = "other", _("其他")


class Outcome(models.TextChoices):
    CONNECTED = "connected", _("接通")
    EMPTY_NUMBER = "empty_number", _("空号")
    WRONG_NUMBER = "wrong_number", _("错号")
    NO_ANSWER = "no_answer", _("无人接听")
    POWERED_OFF = "powered_off", _("关机")
    SUSPENDED = "suspended", _("停机")
    REJECTED = "rejected", _("拒接")
    REPLIED = "replied", _("已回复（消息）")
    NO_REPLY = "no_reply", _("未回复（消息）")
    OTHER = "other", _("其他")

    @classmethod
    def reached(cls) -> frozenset[str]:
        return frozenset({cls.CONNECTED, cls.REPLIED})


class Intent(models.TextChoices):
    """What the candidate (or parent) said in this contact."""

    NONE = "none", _("未表态")
    CONFIRMED = "confirmed", _("确认就读")
    HESITANT = "hesitant", _("考虑中·犹豫")
    REFUSED = "refused", _("明确不来")
    WANTS_WITHDRAWAL = "wants_withdrawal", _("要求退档")


class RiskSignal(models.TextChoices):
    """The manual's sensitive points (2024 培训手册 二.(二).1, items 1–13)."""

    TUITION = "tuition", _("嫌学费贵")
    DISTANCE = "distance", _("嫌距离远、位置偏")
    REPEAT_EXAM = "repeat_exam", _("有复读想法")
    LONG_DECISION = "long_decision", _("需要商量很久")
    LATE_PREFERENCE = "late_preference", _("志愿靠后，没想到被录取")
    HEARSAY = "hearsay", _("听信他人说法")
    ASKS_AID = "asks_aid", _("问助学金和贷款")
    UNFAMILIAR = "unfamiliar", _("不了解学校，问题很多")
    HARD_COMMUNICATION = "hard_communication", _("家庭沟通困难")
    COLD = "cold", _("态度冷淡、不问不答")
    STUDY_ABROAD = "study_abroad", _("想出国但不认可国际项目")
    ARMY = "army", _("想当兵")
    WORKING_AWAY = "working_away", _("在外打工")
