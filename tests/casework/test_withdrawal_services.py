"""Withdrawal requests: the province rule, the letter, material checks, the transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from admissions.choices import CallbackStatus
from callbacks.casework_models import MaterialKind, WithdrawalRequest, WithdrawalStatus
from callbacks.casework_services import (
    material_inspect,
    province_full_name,
    withdrawal_complete,
    withdrawal_leader_check,
    withdrawal_letter_text,
    withdrawal_material_add,
    withdrawal_material_remove,
    withdrawal_open,
    withdrawal_reject,
    withdrawal_return,
    withdrawal_submit,
)
from tests.casework.factories import PDF_BYTES, image_bytes
from tests.factories import AssignmentFactory, CandidateFactory

pytestmark = pytest.mark.django_db


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def add(req, kind, user, data=None, name="photo.jpg"):
    return withdrawal_material_add(
        request=req, kind=kind, upload=upload(data or image_bytes(), name), user=user
    )


@pytest.fixture
def req(mine, caller):
    return withdrawal_open(candidate=mine, user=caller.user)


# --- the province rule and opening ---------------------------------------------------------------


def test_open_refused_where_province_is_not_withdrawable(caller, sichuan):
    candidate = CandidateFactory(season=caller.season, province=sichuan, status=CallbackStatus.REFUSED)
    AssignmentFactory(caller=caller, candidate=candidate)
    with pytest.raises(ValidationError) as exc:
        withdrawal_open(candidate=candidate, user=caller.user)
    assert exc.value.messages == ["四川录取期间不可退档，不能发起退档申请（该省以劝来为主）。"]
    assert not WithdrawalRequest.objects.exists()
    candidate.refresh_from_db()
    assert candidate.status == CallbackStatus.REFUSED


def test_open_sets_candidate_status_and_remembers_previous(req, mine, caller):
    mine.refresh_from_db()
    assert mine.status == CallbackStatus.WITHDRAWAL_REQUESTED
    assert req.status == WithdrawalStatus.COLLECTING
    assert req.previous_candidate_status == CallbackStatus.HESITANT
    assert req.caller == caller


def test_only_one_open_request_per_candidate(req, mine, caller):
    with pytest.raises(ValidationError, match="已有进行中的退档申请"):
        withdrawal_open(candidate=mine, user=caller.user)


def test_outsider_cannot_open(mine, outsider):
    with pytest.raises(PermissionDenied):
        withdrawal_open(candidate=mine, user=outsider.user)


# --- the letter --------------------------------------------------------------------------------


def test_letter_is_the_manuals_text_filled_in(mine):
    text = withdrawal_letter_text(candidate=mine)
    assert text.splitlines()[:3] == [
        "退档申请书",
        "成都文理学院：",
        "　　本人是河南省的 2023 年考生，姓名：李明，考生号：23410101000123，"
        "由于个人原因自愿放弃贵校录取，特此申请退档，退档后一切责任由考生本人自己承担。",
    ]
    assert "考生签名：　　　　　　（摁手印）" in text
    assert "家长签名：　　　　　　（摁手印）" in text
    assert "“退档申请+身份证+准考证”放在同一张照片内" in text


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("河南", "河南省"),
        ("重庆", "重庆市"),
        ("广西", "广西壮族自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("四川省", "四川省"),
    ],
)
def test_province_names_in_the_letter(short, full):
    assert province_full_name(short) == full


def test_letter_uses_configured_school_name(mine, settings):
    settings.SCHOOL_NAME = "某某学院"
    assert withdrawal_letter_text(candidate=mine).splitlines()[1] == "某某学院："


# --- material checks ---------------------------------------------------------------------------


@pytest.mark.sqlite
def test_inspect_accepts_jpeg_png_pdf():
    assert material_inspect(image_bytes("JPEG")) == "image/jpeg"
    assert material_inspect(image_bytes("PNG")) == "image/png"
    assert material_inspect(PDF_BYTES) == "application/pdf"


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is a text file, renamed to .jpg", "type"),
        (b"GIF89a" + b"\0" * 40, "type"),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, "corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "corrupt"),
        (b"%PDF-1.4 no end marker", "corrupt"),
        (b"", "empty"),
    ],
)
def test_inspect_refuses_by_content(data, code):
    with pytest.raises(ValidationError) as exc:
        material_inspect(data)
    assert exc.value.code == code


def test_text_file_named_jpg_is_refused_and_nothing_stored(req, caller, media_root):
    with pytest.raises(ValidationError) as exc:
        add(req, MaterialKind.COMBINED, caller.user, data=b"hello, I am text", name="id.jpg")
    assert exc.value.messages == ["只能上传 JPEG、PNG 图片或 PDF 文件（按文件内容判断）。"]
    assert req.materials.count() == 0
    assert not (media_root / "withdrawals").exists()


def test_too_big_is_refused(req, caller, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    data = image_bytes("PNG", size=(400, 400)) + b"\0" * 2048
    with pytest.raises(ValidationError) as exc:
        add(req, MaterialKind.COMBINED, caller.user, data=data, name="big.png")
    assert exc.value.code == "too_big"
    assert req.materials.count() == 0


def test_stored_with_random_name_under_withdrawals(req, caller, media_root):
    m = add(req, MaterialKind.COMBINED, caller.user, name="../../etc/李明 身份证.jpg")
    assert m.file.name.startswith("withdrawals/2023/")
    assert m.file.name.endswith(".jpg")
    assert "李明" not in m.file.name and ".." not in m.file.name
    assert len(m.file.name.rsplit("/", 1)[1]) == 32 + 4
    assert (media_root / m.file.name).read_bytes() == image_bytes()
    assert m.content_type == "image/jpeg"
    assert m.original_name == "李明 身份证.jpg"


def test_pdf_named_png_is_stored_as_pdf(req, caller):
    m = add(req, MaterialKind.REQUEST_LETTER, caller.user, data=PDF_BYTES, name="letter.png")
    assert m.content_type == "application/pdf"
    assert m.file.name.endswith(".pdf")


def test_remove_material_deletes_the_file(req, caller, media_root, django_capture_on_commit_callbacks):
    m = add(req, MaterialKind.COMBINED, caller.user)
    path = media_root / m.file.name
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal_material_remove(material=m, user=caller.user)
    assert not path.exists()
    assert req.materials.count() == 0


# --- completeness and transitions --------------------------------------------------------------


def test_missing_material_blocks_leader_check(req, caller, leader):
    add(req, MaterialKind.ID_CARD, caller.user)
    with pytest.raises(ValidationError) as exc:
        withdrawal_leader_check(request=req, user=leader.user)
    assert exc.value.messages == [
        "材料不全，缺少：签字退档申请书、准考证。请上传三合一照片，或分别上传签字申请书、身份证和准考证。"
    ]
    req.refresh_from_db()
    assert req.status == WithdrawalStatus.COLLECTING


def test_nothing_uploaded_blocks_leader_check(req, leader):
    with pytest.raises(ValidationError, match="缺少：签字退档申请书、身份证、准考证"):
        withdrawal_leader_check(request=req, user=leader.user)


def test_three_separate_materials_are_complete(req, caller, leader):
    for kind in (MaterialKind.REQUEST_LETTER, MaterialKind.ID_CARD, MaterialKind.EXAM_TICKET):
        add(req, kind, caller.user)
    checked = withdrawal_leader_check(request=req, user=leader.user)
    assert checked.status == WithdrawalStatus.LEADER_CHECKED
    assert checked.checked_by == leader.user


@freeze_time("2023-07-20 10:00:00+08:00")
def test_full_flow_completes_and_marks_candidate_withdrawn(req, mine, caller, leader, office_user):
    add(req, MaterialKind.COMBINED, caller.user)
    withdrawal_leader_check(request=req, user=leader.user)
    withdrawal_submit(request=req, user=office_user)
    done = withdrawal_complete(request=req, user=office_user, withdrawn_on=dt.date(2023, 7, 19))
    assert done.status == WithdrawalStatus.COMPLETED
    assert done.decided_by == office_user
    mine.refresh_from_db()
    assert mine.status == CallbackStatus.WITHDRAWN
    assert mine.withdrawn_on == dt.date(2023, 7, 19)


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ([], "submit"),
        ([], "complete"),
        (["check"], "complete"),
        (["check"], "check"),
        (["check", "submit"], "submit"),
        (["check", "submit"], "return"),
        (["check", "submit", "complete"], "reject"),
        (["check", "submit", "complete"], "check"),
        (["reject"], "check"),
        ([], "return"),
    ],
)
def test_refused_transitions(req, caller, leader, office_user, setup, action):
    add(req, MaterialKind.COMBINED, caller.user)
    steps = {
        "check": lambda: withdrawal_leader_check(request=req, user=office_user),
        "submit": lambda: withdrawal_submit(request=req, user=office_user),
        "complete": lambda: withdrawal_complete(request=req, user=office_user),
        "reject": lambda: withdrawal_reject(request=req, user=office_user, reason="考生改变主意"),
        "return": lambda: withdrawal_return(request=req, user=office_user, reason="照片看不清"),
    }
    for step in setup:
        steps[step]()
    before = WithdrawalRequest.objects.get(pk=req.pk).status
    with pytest.raises(ValidationError, match="不能改为"):
        steps[action]()
    assert WithdrawalRequest.objects.get(pk=req.pk).status == before


def test_return_sends_back_to_collecting(req, caller, leader, office_user):
    add(req, MaterialKind.COMBINED, caller.user)
    withdrawal_leader_check(request=req, user=leader.user)
    back = withdrawal_return(request=req, user=office_user, reason="照片看不清")
    assert back.status == WithdrawalStatus.COLLECTING
    assert back.checked_by is None
    assert "照片看不清" in back.note


def test_reject_restores_candidate_status_and_records_reason(req, mine, leader):
    rejected = withdrawal_reject(request=req, user=leader.user, reason="考生改变主意，决定就读")
    assert rejected.status == WithdrawalStatus.REJECTED
    assert rejected.reject_reason == "考生改变主意，决定就读"
    mine.refresh_from_db()
    assert mine.status == CallbackStatus.HESITANT


def test_reject_needs_a_reason(req, leader):
    with pytest.raises(ValidationError, match="请写明驳回原因"):
        withdrawal_reject(request=req, user=leader.user, reason="  ")


def test_upload_only_while_collecting(req, caller, leader):
    add(req, MaterialKind.COMBINED, caller.user)
    withdrawal_leader_check(request=req, user=leader.user)
    with pytest.raises(ValidationError, match="只有「收集材料」状态"):
        add(req, MaterialKind.ID_CARD, caller.user)


def test_who_may_decide(req, caller, leader, other_leader, striker, office_user):
    add(req, MaterialKind.COMBINED, caller.user)
    for user in (caller.user, other_leader.user, striker.user):
        with pytest.raises(PermissionDenied):
            withdrawal_leader_check(request=req, user=user)
    withdrawal_leader_check(request=req, user=leader.user)
    for user in (caller.user, leader.user):
        with pytest.raises(PermissionDenied):
            withdrawal_submit(request=req, user=user)
    withdrawal_submit(request=req, user=office_user)
    with pytest.raises(PermissionDenied):
        withdrawal_reject(request=req, user=leader.user, reason="太晚了")


@freeze_time("2023-07-20 10:00:00+08:00")
def test_withdrawn_on_cannot_be_in_the_future(req, caller, leader, office_user):
    add(req, MaterialKind.COMBINED, caller.user)
    withdrawal_leader_check(request=req, user=leader.user)
    withdrawal_submit(request=req, user=office_user)
    with pytest.raises(ValidationError, match="不能晚于今天"):
        withdrawal_complete(request=req, user=office_user, withdrawn_on=dt.date(2023, 7, 21))


@pytest.mark.sqlite
def test_upload_to_never_keeps_a_foreign_name():
    from callbacks.casework_models import WithdrawalMaterial, material_upload_to

    kept = material_upload_to(WithdrawalMaterial(content_type="image/png"), "2023/" + "a" * 32 + ".png")
    assert kept == "withdrawals/2023/" + "a" * 32 + ".png"
    renamed = material_upload_to(WithdrawalMaterial(content_type="application/pdf"), "../李明 身份证.jpg")
    assert renamed.startswith("withdrawals/")
    assert renamed.endswith(".pdf")
    assert "李明" not in renamed and ".." not in renamed
