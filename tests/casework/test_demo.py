"""The casework demo seeder reaches the states the app can reach, through the services."""

from __future__ import annotations

import random

import pytest

from admissions.choices import CallbackStatus
from callbacks.casework_demo import seed
from callbacks.casework_models import StrikeCase, StrikeCaseStatus, WithdrawalRequest, WithdrawalStatus
from tests.factories import AssignmentFactory, CandidateFactory

pytestmark = pytest.mark.django_db


def test_seed(caller, leader, striker, office_user, henan, sichuan):
    season = caller.season
    for status, province, n in (
        (CallbackStatus.HESITANT, henan, 8),
        (CallbackStatus.UNREACHABLE, sichuan, 6),
        (CallbackStatus.REFUSED, sichuan, 2),
    ):
        for _ in range(n):
            AssignmentFactory(
                caller=caller, candidate=CandidateFactory(season=season, province=province, status=status)
            )

    seed(season, random.Random(1))

    withdrawals = dict.fromkeys(WithdrawalStatus.values, 0)
    for status in WithdrawalRequest.objects.values_list("status", flat=True):
        withdrawals[status] += 1
    assert withdrawals == {
        "collecting": 4,
        "leader_checked": 2,
        "submitted": 2,
        "completed": 0,
        "rejected": 0,
    }
    assert WithdrawalRequest.objects.filter(materials__isnull=False).count() == 6
    cases = dict.fromkeys(StrikeCaseStatus.values, 0)
    for status in StrikeCase.objects.values_list("status", flat=True):
        cases[status] += 1
    # 6 unreachable: 2 pending, 2 approved, 2 taken; 2 no-shows: 1 pending, 1 approved
    assert cases == {"pending": 3, "approved": 3, "taken": 2, "declined": 0, "closed": 0, "dismissed": 0}
