"""Audit trail (django-auditlog, registered in callback_office/audit.py): the service paths write
who / when / old → new; audited contact logs cannot be edited."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callbacks.casework_models import WithdrawalRequest, WithdrawalStatus
from callbacks.casework_services import withdrawal_open, withdrawal_reject
from callbacks.choices import Intent, Outcome
from callbacks.models import ContactLog
from callbacks.services import contact_log
from subsidies.models import PayoutRun, SubsidyScheme
from subsidies.services import payout_run_approve, scheme_for, scheme_update
from tests.factories import AssignmentFactory, CandidateFactory
from tests.security.urlmap import all_routes

pytestmark = pytest.mark.django_db


def entries(obj) -> list[LogEntry]:
    ct = ContentType.objects.get_for_model(type(obj))
    return list(LogEntry.objects.filter(content_type=ct, object_pk=str(obj.pk)).order_by("timestamp", "pk"))


def test_status_change_by_contact_logging_is_recorded(world, django_capture_on_commit_callbacks):
    cand = world.objects["candidate"]
    caller = world.callers["caller"]
    with django_capture_on_commit_callbacks(execute=True):
        contact_log(
            caller=caller,
            candidate=cand,
            contacted_at=timezone.now(),
            outcome=Outcome.CONNECTED,
            intent=Intent.CONFIRMED,
            duration_seconds=60,
        )
    status_entries = [e for e in entries(cand) if e.action == LogEntry.Action.UPDATE]
    assert len(status_entries) == 1
    entry = status_entries[0]
    assert entry.changes_dict["status"] == [CallbackStatus.HESITANT.value, CallbackStatus.CONFIRMED.value]
    assert entry.actor == caller.user
    assert entry.action == LogEntry.Action.UPDATE


def test_a_contact_that_moves_nothing_writes_no_status_entry(world, django_capture_on_commit_callbacks):
    cand = world.objects["candidate"]
    with django_capture_on_commit_callbacks(execute=True):
        contact_log(
            caller=world.callers["caller"],
            candidate=cand,
            contacted_at=timezone.now(),
            outcome=Outcome.CONNECTED,
            intent=Intent.HESITANT,
        )
    assert [e for e in entries(cand) if e.action == LogEntry.Action.UPDATE] == []


def test_withdrawal_transitions_are_recorded(world):
    outsider = world.callers["outsider"]
    cand = CandidateFactory(season=world.season, province=world.objects["candidate"].province)
    AssignmentFactory(candidate=cand, caller=outsider)
    request = withdrawal_open(candidate=cand, user=outsider.user, note="家长要求")
    other_leader = world.callers["other_leader"]
    withdrawal_reject(request=request, user=other_leader.user, reason="材料不全")
    log = entries(WithdrawalRequest.objects.get(pk=request.pk))
    assert [e.action for e in log] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert log[1].changes_dict["status"] == [
        WithdrawalStatus.COLLECTING.value,
        WithdrawalStatus.REJECTED.value,
    ]


def test_payout_approval_and_scheme_versions_are_recorded(world, client):
    office = world.users["office"]
    run = world.objects["run"]
    client.force_login(office)
    response = client.post(reverse("subsidies:run_approve", args=[run.pk]))
    assert response.status_code == 302
    run.refresh_from_db()
    approval = entries(run)[-1]
    assert approval.changes_dict["status"] == ["draft", "approved"]
    assert approval.actor == office  # set by the auditlog middleware from the request

    params = scheme_for(world.season).params
    version = scheme_update(season=world.season, params=params, note="复核", user=office)
    created = entries(SubsidyScheme.objects.get(pk=version.pk))
    assert [e.action for e in created] == [LogEntry.Action.CREATE]


def test_approving_directly_in_the_service_is_recorded_too(world):
    run = world.objects["run"]
    payout_run_approve(run=run, user=world.users["office"])
    assert entries(PayoutRun.objects.get(pk=run.pk))[-1].changes_dict["status"] == ["draft", "approved"]


def test_no_personal_data_in_the_candidate_history(world):
    cand = world.objects["candidate"]
    Candidate.objects.get(pk=cand.pk).save()
    cand.status = CallbackStatus.REFUSED
    cand.save()
    for entry in entries(cand):
        assert set(entry.changes_dict) <= {
            "status",
            "in_pool",
            "masters_track_interest",
            "paid_on",
            "payment_amount",
            "enrolled_on",
            "withdrawn_on",
            "province",
            "level",
            "batch",
            "major",
        }


def test_there_is_no_view_to_edit_a_contact_log():
    contact_routes = sorted(
        r.name for r in all_routes() if "contact" in r.name and not r.pattern.startswith("admin/")
    )
    # create-only endpoints (new logs) and the attachments page; none edits or deletes a log
    assert contact_routes == [
        "callbacks:contact_create",
        "casework:strike_log_contact",
        "supervision:contact_attachments",
    ]


def test_an_audited_contact_log_is_read_only_in_the_admin(world, client):
    contact = world.objects["contact"]  # drawn into a supervision sample in the world
    admin_user = world.users["office"]
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    url = reverse("admin:callbacks_contactlog_change", args=[contact.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a view-only page
    notes_before = contact.notes
    response = client.post(url, {"notes": "改过了", "outcome": "connected"})
    assert response.status_code == 403
    delete = client.post(reverse("admin:callbacks_contactlog_delete", args=[contact.pk]), {"post": "yes"})
    assert delete.status_code == 403
    contact.refresh_from_db()
    assert contact.notes == notes_before
    assert ContactLog.objects.filter(pk=contact.pk).exists()


def test_the_office_reads_the_audit_log(world, client):
    run = world.objects["run"]
    payout_run_approve(run=run, user=world.users["office"])
    client.force_login(world.users["office"])
    page = client.get(reverse("audit_log") + f"?model=payoutrun&object={run.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "status：draft → approved" in html
    client.force_login(world.users["leader"])
    assert client.get(reverse("audit_log")).status_code == 403
