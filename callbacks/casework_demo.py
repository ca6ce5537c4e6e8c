"""Demo data for casework: withdrawal requests at every step and strike-team cases.

Called by the demo generator (settings.DEMO_SEEDERS) after the core season exists. Goes through
the services as the people who would act, so the demo shows only states the app can reach.
"""

from __future__ import annotations

import io
import random

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from admissions.choices import CallbackStatus
from admissions.models import Season
from callback_office.roles import Role
from callbacks import casework_services as svc
from callbacks.casework_models import MaterialKind, StrikeCaseKind
from callbacks.models import Assignment, Caller

WITHDRAWALS = 12
UNREACHABLE = 10
NO_SHOWS = 4


def _photo(rng: random.Random) -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (rng.randrange(200, 256), rng.randrange(200, 256), 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 150, 190), outline=(40, 40, 40), width=3)  # the signed letter
    draw.rectangle((170, 10, 310, 95), outline=(40, 40, 120), width=3)  # ID card
    draw.rectangle((170, 105, 310, 190), outline=(120, 40, 40), width=3)  # exam ticket
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return SimpleUploadedFile("demo.png", buf.getvalue(), content_type="image/png")


def _assignments(season: Season, condition: Q, limit: int) -> list[Assignment]:
    return list(
        Assignment.objects.filter(active=True, candidate__season=season, caller__team__leader__isnull=False)
        .filter(condition)
        .select_related("candidate", "caller__user", "caller__team__leader__user")
        .order_by("candidate_id")[:limit]
    )


def _try(action):
    try:
        return action()
    except (ValidationError, PermissionDenied):
        return None


def seed(season: Season, rng: random.Random) -> None:
    office = User.objects.filter(Q(is_superuser=True) | Q(groups__name=Role.OFFICE)).order_by("id").first()
    strikers = list(
        Caller.objects.filter(season=season, is_strike=True, user__groups__name=Role.STRIKE).select_related(
            "user"
        )[:3]
    )

    # withdrawal requests: hesitant candidates of withdrawable provinces, spread over the steps
    for i, a in enumerate(
        _assignments(
            season,
            Q(
                candidate__province__withdrawable=True,
                candidate__status=CallbackStatus.HESITANT,
                candidate__enrolled_on__isnull=True,
            ),
            WITHDRAWALS,
        )
    ):
        req = _try(
            lambda a=a: svc.withdrawal_open(
                candidate=a.candidate, user=a.caller.user, note="考生想复读，家长同意退档"
            )
        )
        if req is None or i % 4 == 0:
            continue  # still collecting, nothing uploaded yet
        _try(
            lambda a=a, req=req: svc.withdrawal_material_add(
                request=req, kind=MaterialKind.COMBINED, upload=_photo(rng), user=a.caller.user
            )
        )
        if i % 4 == 1:
            continue  # complete, waiting for the leader
        leader = a.caller.team.leader.user
        _try(lambda req=req, leader=leader: svc.withdrawal_leader_check(request=req, user=leader))
        if office is not None and i % 4 == 3:
            _try(lambda req=req: svc.withdrawal_submit(request=req, user=office))

    # strike team: unreachable candidates escalated, some approved, a few taken
    for i, a in enumerate(
        _assignments(
            season,
            Q(candidate__status=CallbackStatus.UNREACHABLE, candidate__enrolled_on__isnull=True),
            UNREACHABLE,
        )
    ):
        steps = rng.sample(
            [
                "empty_number",
                "wrong_number",
                "powered_off",
                "lookup_114",
                "head_teacher",
                "sms",
                "wechat_qq",
                "classmates",
            ],
            k=3,
        )
        case = _try(
            lambda a=a, steps=steps: svc.strike_case_escalate(
                candidate=a.candidate,
                user=a.caller.user,
                kind=StrikeCaseKind.UNREACHABLE,
                steps_tried=steps,
                note="三天内不同时段拨打均未接通",
            )
        )
        if case is None or i % 3 == 0:
            continue
        _try(lambda case=case, a=a: svc.strike_case_approve(case=case, user=a.caller.team.leader.user))
        if strikers and i % 3 == 2:
            member = strikers[i % len(strikers)]
            _try(lambda case=case, member=member: svc.strike_case_take(case=case, user=member.user))

    # no-shows in provinces where files cannot be withdrawn (need supervision's verification)
    for i, a in enumerate(
        _assignments(
            season,
            Q(
                candidate__province__withdrawable=False,
                candidate__status=CallbackStatus.REFUSED,
                candidate__enrolled_on__isnull=True,
            ),
            NO_SHOWS,
        )
    ):
        case = _try(
            lambda a=a: svc.strike_case_escalate(
                candidate=a.candidate,
                user=a.caller.user,
                kind=StrikeCaseKind.NO_SHOW,
                steps_tried=[],
                note="考生明确表示要复读，家长也不同意来",
            )
        )
        if case is not None and i % 2 == 0:
            _try(lambda case=case, a=a: svc.strike_case_approve(case=case, user=a.caller.team.leader.user))
