"""Concurrent decisions apply once (PostgreSQL, real transactions, two threads at a barrier)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from callbacks.casework_models import (
    MaterialKind,
    StrikeCase,
    StrikeCaseStatus,
    WithdrawalRequest,
    WithdrawalStatus,
)
from callbacks.casework_services import (
    strike_case_approve,
    strike_case_take,
    withdrawal_leader_check,
    withdrawal_material_add,
    withdrawal_open,
)
from tests.casework.factories import StrikeCaseFactory, image_bytes

# PostgreSQL only (make test runs just the `sqlite`-marked tests on SQLite): row locks and
# READ COMMITTED re-checks are what these tests prove.
pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls at the same moment in threads; return (successes, ValidationErrors)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", call())
        except ValidationError as exc:
            results[i] = ("refused", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    ok = [r for kind, r in results if kind == "ok"]
    refused = [r for kind, r in results if kind == "refused"]
    return ok, refused


def test_two_leaders_checking_at_once_apply_once(mine, caller, leader, office_user):
    req = withdrawal_open(candidate=mine, user=caller.user)
    upload = SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")
    withdrawal_material_add(request=req, kind=MaterialKind.COMBINED, upload=upload, user=caller.user)
    ok, refused = race(
        lambda: withdrawal_leader_check(request=req, user=leader.user),
        lambda: withdrawal_leader_check(request=req, user=office_user),
    )
    assert len(ok) == 1
    assert len(refused) == 1
    assert "不能改为" in refused[0].messages[0]
    req = WithdrawalRequest.objects.get(pk=req.pk)
    assert req.status == WithdrawalStatus.LEADER_CHECKED
    assert req.checked_by_id == ok[0].checked_by_id


def test_two_approvals_of_an_escalation_apply_once(unreachable, caller, leader, office_user):
    case = StrikeCaseFactory(candidate=unreachable, requested_by=caller, status=StrikeCaseStatus.PENDING)
    ok, refused = race(
        lambda: strike_case_approve(case=case, user=leader.user),
        lambda: strike_case_approve(case=case, user=office_user),
    )
    assert (len(ok), len(refused)) == (1, 1)
    case = StrikeCase.objects.get(pk=case.pk)
    assert case.status == StrikeCaseStatus.APPROVED
    assert case.approved_by_id == ok[0].approved_by_id


def test_two_strike_members_taking_one_case_only_one_wins(unreachable, striker, striker2):
    case = StrikeCaseFactory(candidate=unreachable)
    ok, refused = race(
        lambda: strike_case_take(case=StrikeCase.objects.get(pk=case.pk), user=striker.user),
        lambda: strike_case_take(case=StrikeCase.objects.get(pk=case.pk), user=striker2.user),
    )
    assert (len(ok), len(refused)) == (1, 1)
    case = StrikeCase.objects.get(pk=case.pk)
    assert case.status == StrikeCaseStatus.TAKEN
    assert case.holder_id == ok[0].holder_id
    assert case.holder_id in {striker.pk, striker2.pk}
