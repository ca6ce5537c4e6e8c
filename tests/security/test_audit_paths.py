"""Audit trail on the paths that bypass model signals (conditional `update()`, `bulk_create`,
`bulk_update`): each writes its entries (who, when, old → new) with `callback_office.audit`
`record_many` — one INSERT for a whole batch. And contact logs: edits recorded, audited ones
neither edited nor deleted."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callback_office import importing
from callbacks.casework_models import MaterialKind, StrikeCase, StrikeCaseStatus
from callbacks.casework_services import (
    strike_case_close,
    strike_case_take,
    withdrawal_complete,
    withdrawal_leader_check,
    withdrawal_material_add,
    withdrawal_open,
    withdrawal_reject,
    withdrawal_submit,
)
from callbacks.models import Assignment, ContactLog
from tests.casework.factories import image_bytes
from tests.factories import AssignmentFactory, CandidateFactory, ContactFactory

pytestmark = pytest.mark.django_db


def changes_of(model, pk, action=LogEntry.Action.UPDATE) -> list[tuple[dict, object]]:
    ct = ContentType.objects.get_for_model(model)
    rows = LogEntry.objects.filter(content_type=ct, object_pk=str(pk), action=action).order_by("pk")
    return [(e.changes_dict, e.actor) for e in rows]


def xlsx(header: list[str], rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def imported(kind: str, header, rows, year: int) -> None:
    result = importing.import_file(kind, xlsx(header, rows), season_year=year, dry_run=False)
    assert result.committed, result.errors


def fresh_candidate(world, **kw) -> Candidate:
    province = world.objects["candidate"].province  # 河南, withdrawable
    cand = CandidateFactory(season=world.season, province=province, status=CallbackStatus.HESITANT, **kw)
    AssignmentFactory(candidate=cand, caller=world.callers["caller"])
    return cand


def test_withdrawal_moves_of_the_candidate_are_recorded(world):
    caller, leader, office = (world.users[r] for r in ("caller", "leader", "office"))
    cand = fresh_candidate(world)
    req = withdrawal_open(candidate=cand, user=caller)
    upload = SimpleUploadedFile("all.jpg", image_bytes(), content_type="image/jpeg")
    withdrawal_material_add(request=req, kind=MaterialKind.COMBINED, upload=upload, user=caller)
    withdrawal_leader_check(request=req, user=leader)
    withdrawal_submit(request=req, user=office)
    withdrawal_complete(request=req, user=office, withdrawn_on=dt.date(2023, 7, 19))
    got = changes_of(Candidate, cand.pk)
    assert got == [
        ({"status": ["hesitant", "withdrawal_requested"]}, caller),
        ({"status": ["withdrawal_requested", "withdrawn"], "withdrawn_on": ["None", "2023-07-19"]}, office),
    ]
    other = fresh_candidate(world)
    req = withdrawal_open(candidate=other, user=caller)
    withdrawal_reject(request=req, user=leader, reason="家长改变主意")
    assert changes_of(Candidate, other.pk)[-1] == ({"status": ["withdrawal_requested", "hesitant"]}, leader)


def test_strike_case_transitions_are_recorded(world):
    case = world.objects["strike_case"]  # approved
    strike = world.users["strike"]
    strike_case_take(case=case, user=strike)
    strike_case_close(
        case=case, user=strike, result=StrikeCase._meta.get_field("result").choices[0][0], note=""
    )
    got = changes_of(StrikeCase, case.pk)
    assert got == [
        ({"status": [StrikeCaseStatus.APPROVED, StrikeCaseStatus.TAKEN]}, strike),
        ({"status": [StrikeCaseStatus.TAKEN, StrikeCaseStatus.CLOSED]}, strike),
    ]


def test_claims_record_every_new_assignment_in_one_insert(world, client):
    caller = world.callers["caller"]
    pool = CandidateFactory.create_batch(6, season=world.season, in_pool=True)
    client.force_login(caller.user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(reverse("callbacks:pool_claim"), {"count": "6"})
    assert response.status_code == 302
    claimed = list(Assignment.objects.filter(candidate__in=pool, caller=caller, active=True))
    assert len(claimed) == 6
    for a in claimed:
        [(changes, actor)] = changes_of(Assignment, a.pk, LogEntry.Action.CREATE)
        assert changes["caller"] == ["None", str(caller.pk)] and changes["source"][0] == "None"
        assert actor == caller.user  # the request's user (auditlog middleware)
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "auditlog_logentry"')]
    assert len(inserts) == 1


def test_payment_registration_and_withdrawal_lists_record_old_and_new(world):
    cand = world.objects["candidate"]
    year = world.season.year
    with set_actor(world.users["office"]):
        imported("payments", ["考生号", "缴费日期", "金额"], [[cand.exam_number, "2023-07-20", "5000"]], year)
        imported("registrations", ["考生号", "报到日期"], [[cand.exam_number, "2023-09-01"]], year)
    other = fresh_candidate(world)
    imported("withdrawals", ["考生号", "退档日期"], [[other.exam_number, "2023-07-25"]], year)
    got = changes_of(Candidate, cand.pk)
    paid, actor = got[0]
    assert paid["paid_on"] == ["None", "2023-07-20"] and actor == world.users["office"]
    assert paid["payment_amount"][0] == "None" and Decimal(paid["payment_amount"][1]) == Decimal("5000")
    assert got[1] == ({"enrolled_on": ["None", "2023-09-01"]}, world.users["office"])
    [(changes, actor)] = changes_of(Candidate, other.pk)
    assert changes == {"withdrawn_on": ["None", "2023-07-25"], "status": ["hesitant", "withdrawn"]}
    assert actor is None  # no request: an import job (its ImportBatch names who started it)
    # a re-import changes nothing and writes nothing
    before = LogEntry.objects.count()
    imported("registrations", ["考生号", "报到日期"], [[cand.exam_number, "2023-09-01"]], year)
    assert LogEntry.objects.count() == before


def test_candidate_list_reimport_records_placement_not_personal_data(world):
    cand = world.objects["candidate"]
    spec = importing.get_kind("candidates")
    header = [c.header for c in spec.all_columns if c.field != "caller_staff_no"]
    row = {
        "考生号": cand.exam_number,
        "姓名": "新名字",
        "身份证号": cand.id_number,
        "省份": cand.province.province,
        "层次": cand.get_level_display(),
        "类型": cand.get_admission_type_display(),
        "批次": "本科二批",
        "预录专业": "新专业",
        "志愿顺序": cand.preference_order or "",
        "中学": cand.high_school,
        "手机": "",
        "家长电话": "",
        "地址": "新地址",
    }
    imported("candidates", header, [[row[h] for h in header]], world.season.year)
    [(changes, _)] = changes_of(Candidate, cand.pk)
    assert changes["batch"][1] == "本科二批" and changes["major"][1] == "新专业"
    assert "name" not in changes and "address" not in changes  # personal fields are not copied


def test_assignment_import_records_ended_and_new_assignments(world):
    cand = CandidateFactory(season=world.season)
    first = world.callers["caller"]
    second = world.callers["leader"]
    spec = importing.get_kind("candidates")
    header = [c.header for c in spec.all_columns]

    def row(staff_no):
        values = {h: "" for h in header}
        values.update(
            {
                "考生号": cand.exam_number,
                "姓名": cand.name,
                "省份": cand.province.province,
                "层次": cand.get_level_display(),
                "回访员工号": staff_no,
            }
        )
        return [values[h] for h in header]

    imported("candidates", header, [row(first.staff_no)], world.season.year)
    old = Assignment.objects.get(candidate=cand, active=True)
    imported("candidates", header, [row(second.staff_no)], world.season.year)
    new = Assignment.objects.get(candidate=cand, active=True)
    assert new.caller == second
    assert changes_of(Assignment, old.pk)[0][0]["active"] == ["True", "False"]
    assert changes_of(Assignment, new.pk, LogEntry.Action.CREATE)[0][0]["caller"] == ["None", str(second.pk)]


def test_a_contact_edit_before_any_audit_is_recorded(world):
    contact = ContactFactory(
        candidate=world.objects["candidate"], caller=world.callers["caller"], notes="原文"
    )
    contact.notes = "改过的备注"
    contact.phone_number = "13900000000"
    with set_actor(world.users["office"]):
        contact.save()
    [(changes, actor)] = changes_of(ContactLog, contact.pk)
    assert changes["notes"] == ["原文", "改过的备注"]
    assert changes["phone_number"] == ["***", "***（已修改）"]  # no phone number in the log
    assert actor == world.users["office"]


def test_an_audited_contact_cannot_be_saved_again(world):
    contact = world.objects["contact"]  # drawn into a supervision sample
    contact.notes = "悄悄改掉"
    with pytest.raises(PermissionDenied):
        contact.save()
    contact.refresh_from_db()
    assert contact.notes != "悄悄改掉"


def test_admin_bulk_delete_and_candidate_delete_spare_audited_contacts(world, client):
    office = world.users["office"]
    office.is_superuser = True
    office.save()
    client.force_login(office)
    contact = world.objects["contact"]
    plain = ContactFactory(candidate=world.objects["candidate"], caller=world.callers["caller"])
    response = client.post(
        reverse("admin:callbacks_contactlog_changelist"),
        {"action": "delete_selected", "_selected_action": [contact.pk, plain.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert ContactLog.objects.filter(pk__in=[contact.pk, plain.pk]).count() == 2
    cand = world.objects["candidate"]
    delete_url = reverse("admin:admissions_candidate_delete", args=[cand.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Candidate.objects.filter(pk=cand.pk).exists()
    html = client.get(delete_url).content.decode()
    assert "无法删除" in html and "回访记录" in html  # the audited contact's admin refuses its delete
    # a contact nobody audited can still be removed by the office
    response = client.post(
        reverse("admin:callbacks_contactlog_changelist"),
        {"action": "delete_selected", "_selected_action": [plain.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not ContactLog.objects.filter(pk=plain.pk).exists()
