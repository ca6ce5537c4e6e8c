"""One small season with every kind of object, all of it belonging to team 1's caller, and the
cast of roles the security tests look at it with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Discrepancy, DiscrepancyKind, ReconciliationRun, Season
from callback_office.roles import Role
from callbacks.casework_models import (
    MaterialKind,
    StrikeCase,
    StrikeCaseKind,
    StrikeCaseStatus,
    WithdrawalMaterial,
    WithdrawalRequest,
)
from callbacks.models import Caller, Team
from tests.factories import (
    AssignmentFactory,
    CallerFactory,
    CandidateFactory,
    ContactFactory,
    PhoneFactory,
    ProvinceFactory,
    SeasonFactory,
    TeamFactory,
    UserFactory,
)

# A name that an attacker would type to inject a formula into the office's spreadsheets.
EVIL_NAME = '=HYPERLINK("http://x")'
ID_NUMBER = "510101200501019999"
PHONE = "13812345678"

ROLES = ("anonymous", "caller", "leader", "outsider", "supervisor", "other_supervisor", "strike", "office")


@dataclass
class World:
    season: Season
    team: Team
    other_team: Team
    users: dict[str, User | None]
    callers: dict[str, Caller]
    objects: dict[str, Any] = field(default_factory=dict)


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00"
    + bytes(range(64))
    + b"\xff\xd9"
)


def build_world() -> World:
    season = SeasonFactory()
    team = TeamFactory(season=season, name="第一组")
    other_team = TeamFactory(season=season, name="第二组")
    caller = CallerFactory(season=season, team=team, user__username="c1001", user__first_name="张老师")
    leader = CallerFactory(
        season=season, team=team, user__username="l1001", user__roles=[Role.CALLER, Role.LEADER]
    )
    team.leader = leader
    team.save(update_fields=["leader"])
    outsider = CallerFactory(season=season, team=other_team, user__username="c2001")
    other_leader = CallerFactory(
        season=season, team=other_team, user__username="l2001", user__roles=[Role.CALLER, Role.LEADER]
    )
    other_team.leader = other_leader
    other_team.save(update_fields=["leader"])
    supervisor = CallerFactory(
        season=season, team=None, is_supervisor=True, user__username="s1001", user__roles=[Role.SUPERVISOR]
    )
    team.supervisors.add(supervisor)
    other_supervisor = CallerFactory(
        season=season, team=None, is_supervisor=True, user__username="s2001", user__roles=[Role.SUPERVISOR]
    )
    other_team.supervisors.add(other_supervisor)
    strike = CallerFactory(
        season=season, team=None, user__username="t1001", user__roles=[Role.CALLER, Role.STRIKE]
    )
    office = UserFactory(username="office", roles=[Role.OFFICE], is_staff=True)

    withdrawable = ProvinceFactory(season=season, province="河南", withdrawable=True)
    mine = CandidateFactory(
        season=season,
        name=EVIL_NAME,
        id_number=ID_NUMBER,
        province=withdrawable,
        status=CallbackStatus.HESITANT,
        high_school='=cmd|" /C calc"!A0',
    )
    PhoneFactory(candidate=mine, number=PHONE)
    AssignmentFactory(candidate=mine, caller=caller)
    contact = ContactFactory(candidate=mine, caller=caller, notes="@SUM(1+1)")
    other_candidate = CandidateFactory(season=season, name="李四")
    AssignmentFactory(candidate=other_candidate, caller=outsider)

    withdrawal = WithdrawalRequest.objects.create(
        candidate=mine, caller=caller, opened_by=caller.user, note="家长要求退档"
    )
    material = WithdrawalMaterial(
        request=withdrawal,
        kind=MaterialKind.choices[0][0],
        content_type="image/jpeg",
        size=len(JPEG),
        sha256="0" * 64,
        original_name="letter.jpg",
        uploaded_by=caller.user,
    )
    material.file.save("letter.jpg", ContentFile(JPEG), save=False)
    material.save()
    strike_case = StrikeCase.objects.create(
        candidate=mine,
        kind=StrikeCaseKind.UNREACHABLE,
        status=StrikeCaseStatus.APPROVED,
        requested_by=caller,
        created_by=caller.user,
        steps_tried=["empty_number"],
        note="打了三天都是空号",
    )

    from supervision.models import ContactAttachment
    from tests.supervision.factories import FindingFactory, ItemFactory, SampleFactory

    sample = SampleFactory(season=season, supervisor=supervisor)
    item = ItemFactory(sample=sample, contact_log=contact, team=team)
    finding = FindingFactory(item=item)
    attachment = ContactAttachment(
        contact_log=contact, kind="image", content_type="image/jpeg", size=len(JPEG), uploaded_by=caller.user
    )
    attachment.file.save("shot.jpg", ContentFile(JPEG), save=False)
    attachment.save()

    from subsidies.models import Inquiry
    from subsidies.services import payout_run_create

    run = payout_run_create(season=season, user=office)
    line = run.lines.filter(person=caller).first()
    if line is None:
        line = run.lines.create(
            person=caller,
            position=999,
            rule="test",
            category="test",
            subject=EVIL_NAME,
            amount=Decimal("10"),
        )
    inquiry = Inquiry.objects.create(run=run, line=line, person=caller, question="为什么少了？")

    recon = ReconciliationRun.objects.create(season=season, trigger="test")
    discrepancy = Discrepancy.objects.create(
        season=season,
        kind=DiscrepancyKind.UNKNOWN_EXAM_NUMBER,
        exam_number=mine.exam_number,
        candidate=mine,
        details=EVIL_NAME,
        first_run=recon,
        last_run=recon,
    )
    from reports.models import WeeklyReport

    weekly = WeeklyReport.objects.create(
        season=season, team=team, week_start=dt.date(2023, 7, 10), html="<p>第一组周报</p>", data={}
    )
    weekly.xlsx.save("weekly.xlsx", ContentFile(b"PK\x03\x04weekly"), save=True)

    users = {
        "anonymous": None,
        "caller": caller.user,
        "leader": leader.user,
        "outsider": outsider.user,
        "supervisor": supervisor.user,
        "other_supervisor": other_supervisor.user,
        "strike": strike.user,
        "office": office,
    }
    callers = {
        "caller": caller,
        "leader": leader,
        "outsider": outsider,
        "other_leader": other_leader,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "strike": strike,
    }
    objects = {
        "candidate": mine,
        "other_candidate": other_candidate,
        "contact": contact,
        "withdrawal": withdrawal,
        "material": material,
        "strike_case": strike_case,
        "sample": sample,
        "item": item,
        "finding": finding,
        "attachment": attachment,
        "run": run,
        "line": line,
        "inquiry": inquiry,
        "recon": recon,
        "discrepancy": discrepancy,
        "weekly": weekly,
        "now": timezone.now(),
    }
    return World(season, team, other_team, users, callers, objects)
