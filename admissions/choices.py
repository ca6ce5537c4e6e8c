from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    UNDERGRADUATE = "undergraduate", _("本科")
    JUNIOR = "junior", _("专科")


class AdmissionType(models.TextChoices):
    GENERAL = "general", _("普通类")
    SINGLE_RECRUITMENT = "single_recruitment", _("单招")
    SCHOOL_EXAM = "school_exam", _("校考")
    VOCATIONAL = "vocational", _("对口")
    OTHER = "other", _("其他")


class CallbackStatus(models.TextChoices):
    UNCONTACTED = "uncontacted", _("未联系")
    CONFIRMED = "confirmed", _("确认就读")
    HESITANT = "hesitant", _("考虑中·犹豫")
    UNREACHABLE = "unreachable", _("联系不上")
    WITHDRAWAL_REQUESTED = "withdrawal_requested", _("申请退档")
    WITHDRAWN = "withdrawn", _("已退档")
    REFUSED = "refused", _("明确不来")


class PhoneOwner(models.TextChoices):
    SELF = "self", _("本人")
    PARENT = "parent", _("家长")
    OTHER = "other", _("其他")


class Strategy(models.TextChoices):
    PERSUADE_WITHDRAW = "persuade_withdraw", _("劝退")
    PERSUADE_ENROLL = "persuade_enroll", _("劝来")
