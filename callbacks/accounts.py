"""Set-password links for the roster's users (回访人员设置密码).

The roster import creates each caller's login (username = 工号) with an unusable password. The
office hands every caller a one-time link to choose their own password, built with Django's own
password-reset machinery:

- the token is `default_token_generator`'s (PasswordResetTokenGenerator): an HMAC of the user's
  id, current password hash and last login, so it stops working as soon as the password is set
  (or the user logs in), and after settings.PASSWORD_RESET_TIMEOUT at the latest;
- the link opens `PasswordResetConfirmView` (callbacks/account_views.py) whose form runs
  AUTH_PASSWORD_VALIDATORS;
- only callers' own accounts get links: never a staff or superuser account, never one with the
  office role (an office user could otherwise take over a colleague's login);
- every issued link is written to the audit log (who issued it for whom; the link itself is not
  stored anywhere).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from admissions.models import Season
from callback_office.audit import record_update
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.roles import Role
from callbacks.models import Caller, Team

# The audit entry of an issued link: field "set_password_link", "" → "issued" (the link itself is
# never stored); a password set through a link: field "password", "" → "set via link".
LINK_FIELD = "set_password_link"
LINK_ISSUED = "issued"
PASSWORD_SET = "set via link"


@dataclass(frozen=True)
class PasswordLink:
    user: User
    url: str
    expires_at: dt.datetime


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def password_set_path(*, user: User) -> str:
    """The set-password page's path for the user, with a fresh token."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("accounts:password_set", kwargs={"uidb64": uidb64, "token": token})


def linkable_users() -> QuerySet[User]:
    """Accounts the office may issue links for: callers' own logins, never staff/office accounts."""
    office = User.objects.filter(groups__name=Role.OFFICE.value).values("id")
    return User.objects.filter(
        is_active=True,
        is_staff=False,
        is_superuser=False,
        id__in=Caller.objects.values("user_id"),
    ).exclude(id__in=office)


def _audit_links_issued(users: list[User], issued_by: User) -> None:
    """One audit entry per user (one INSERT for all): who issued a link for whom, and when."""
    if not users:
        return
    content_type = ContentType.objects.get_for_model(User)
    now = timezone.now()
    LogEntry.objects.bulk_create(
        [
            LogEntry(
                content_type=content_type,
                object_pk=str(user.pk),
                object_id=user.pk,
                object_repr=str(user),
                action=LogEntry.Action.UPDATE,
                changes={LINK_FIELD: ["", LINK_ISSUED]},
                actor=issued_by,
                timestamp=now,
            )
            for user in users
        ]
    )


def password_links_issue(
    *, users: list[User], issued_by: User, absolute: Callable[[str], str]
) -> list[PasswordLink]:
    """Set-password links for `users` (absolute URLs via `absolute`, e.g. the request's
    build_absolute_uri), audited as issued by `issued_by`."""
    expires_at = timezone.now() + link_lifetime()
    links = [
        PasswordLink(user=u, url=absolute(password_set_path(user=u)), expires_at=expires_at) for u in users
    ]
    _audit_links_issued(users, issued_by)
    return links


def password_set_audit(*, user: User) -> None:
    """The user chose a password through a link (the actor is the user)."""
    record_update(user, {"password": ("", PASSWORD_SET)}, actor=user)


def callers_for_links(
    *, season: Season, team: Team | None = None, only_unset: bool = False
) -> QuerySet[Caller]:
    """The season's callers whose logins may get links, in team order (no team last)."""
    callers = (
        Caller.objects.filter(season=season, user__in=linkable_users())
        .select_related("user", "team")
        .order_by(F("team__sort_order").asc(nulls_last=True), "team_id", "staff_no")
    )
    if team is not None:
        callers = callers.filter(team=team)
    if only_unset:
        callers = callers.filter(user__password__startswith=UNUSABLE_PASSWORD_PREFIX)
    return callers


def password_links_workbook(*, callers: list[Caller], links: list[PasswordLink]) -> bytes:
    """An xlsx of set-password links, one row per caller: 工号, 姓名, 小组, 身份, 密码状态,
    设置密码链接, 有效期至."""
    wb = new_workbook()
    sheet = SheetWriter(
        wb,
        _("设置密码链接"),
        [_("工号"), _("姓名"), _("小组"), _("身份"), _("密码状态"), _("设置密码链接"), _("有效期至")],
    )
    for caller, link in zip(callers, links, strict=True):
        sheet.append(
            [
                caller.staff_no,
                caller.name,
                caller.team.name if caller.team else (_("督查") if caller.is_supervisor else ""),
                caller.get_kind_display(),
                _("已设置") if caller.user.has_usable_password() else _("未设置"),
                link.url,
                timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    buffer = io.BytesIO()
    save_workbook(wb, buffer)
    return buffer.getvalue()
