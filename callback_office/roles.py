"""Roles and what each may do.

A role is a Django group (kept in sync by the roster import and the demo); what a role may do is
one table below. Row-level scoping (which candidates, which teams) lives in the apps' selectors.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from callback_office.prepared import PreparedValues


class Role(models.TextChoices):
    CALLER = "caller", _("回访员")
    LEADER = "leader", _("组长")
    SUPERVISOR = "supervisor", _("督查")
    STRIKE = "strike", _("突击组")
    OFFICE = "office", _("招生办")


class Capability(models.TextChoices):
    CALL = "call", _("回访考生")
    REVIEW_TEAM = "review_team", _("查看本组")
    APPROVE_TEAM = "approve_team", _("审核本组退档与转突击")
    AUDIT = "audit", _("督查抽查")
    STRIKE_WORK = "strike_work", _("突击组回访")
    MANAGE = "manage", _("招生办管理")
    SEE_FULL_PII = "see_full_pii", _("查看完整身份证号与电话")


CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CALLER: frozenset({Capability.CALL}),
    Role.LEADER: frozenset({Capability.CALL, Capability.REVIEW_TEAM, Capability.APPROVE_TEAM}),
    Role.SUPERVISOR: frozenset({Capability.AUDIT}),
    Role.STRIKE: frozenset({Capability.CALL, Capability.STRIKE_WORK}),
    Role.OFFICE: frozenset(set(Capability)),
}


def roles_of(user: Any) -> frozenset[Role]:
    """The user's roles, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_callback_roles", None)
    if cached is None:
        names = {row["name"] for row in _group_names(user_id=user.pk)}
        cached = frozenset(Role(n) for n in names if n in Role.values)
        if user.is_superuser:
            cached = cached | {Role.OFFICE}
        user._callback_roles = cached
    return cached


# Asked on every request (the permission check, the menu): compiled once.
_group_names = PreparedValues(
    lambda user_id: Group.objects.filter(user__id=user_id).values("name"),
    sample_a={"user_id": -2_000_000_001},
    sample_b={"user_id": -2_000_000_002},
)


def has_role(user: Any, *roles: Role) -> bool:
    return bool(roles_of(user) & set(roles))


def can(user: Any, capability: Capability) -> bool:
    return any(capability in CAPABILITIES[r] for r in roles_of(user))


def is_office(user: Any) -> bool:
    return Role.OFFICE in roles_of(user)


def require_capability(capability: Capability) -> Callable:
    """View decorator: login required, then 403 unless a role of the user grants `capability`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not can(request.user, capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_role(*roles: Role) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
