"""Database builders for subsidy tests: callers with candidates in bulk (fast, few queries)."""

from __future__ import annotations

import datetime as dt
import itertools

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate
from callbacks.models import Assignment, Attendance, Caller
from tests.factories import ProvinceFactory

_seq = itertools.count(1)


def give_candidates(
    caller: Caller,
    *,
    admitted: int,
    enrolled: int,
    withdrawn: int = 0,
    level: str = Level.UNDERGRADUATE,
    province: str = "四川",
    withdrawable: bool = False,
) -> list[Candidate]:
    """`admitted` candidates of which `enrolled` registered, plus `withdrawn` completed withdrawals,
    all actively assigned to `caller`."""
    prov = ProvinceFactory(season=caller.season, province=province, withdrawable=withdrawable)
    rows = []
    for i in range(admitted + withdrawn):
        n = next(_seq)
        status = CallbackStatus.WITHDRAWN if i >= admitted else CallbackStatus.CONFIRMED
        rows.append(
            Candidate(
                season=caller.season,
                exam_number=f"S{n:09d}",
                name=f"考生{n}",
                province=prov,
                level=level,
                status=status,
                enrolled_on=dt.date(2023, 9, 8) if i < enrolled else None,
                withdrawn_on=dt.date(2023, 7, 20) if i >= admitted else None,
            )
        )
    candidates = Candidate.objects.bulk_create(rows)
    Assignment.objects.bulk_create(
        [Assignment(candidate=c, caller=caller, source="office") for c in candidates]
    )
    return candidates


def give_attendance(caller: Caller, days: int) -> None:
    Attendance.objects.bulk_create(
        [Attendance(caller=caller, day=dt.date(2023, 7, 10) + dt.timedelta(days=i)) for i in range(days)]
    )
