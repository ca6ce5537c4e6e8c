"""Casework pages: the access matrix (404 outside scope, 403 without the right), uploads through
the form, lists with a constant number of queries, the menu and the candidate panel."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse

from admissions.choices import CallbackStatus
from callbacks.casework_models import MaterialKind, StrikeCaseKind, StrikeCaseStatus, WithdrawalStatus
from callbacks.casework_services import strike_case_escalate, withdrawal_material_add, withdrawal_open
from tests.casework.factories import StrikeCaseFactory, image_bytes
from tests.factories import AssignmentFactory, CandidateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def req(mine, caller):
    return withdrawal_open(candidate=mine, user=caller.user)


@pytest.fixture
def material(req, caller):
    upload = SimpleUploadedFile("a.png", image_bytes("PNG"), content_type="image/png")
    return withdrawal_material_add(request=req, kind=MaterialKind.COMBINED, upload=upload, user=caller.user)


@pytest.fixture
def pending_case(unreachable, caller):
    return strike_case_escalate(
        candidate=unreachable,
        user=caller.user,
        kind=StrikeCaseKind.UNREACHABLE,
        steps_tried=["empty_number"],
        note="空号",
    )


@pytest.fixture
def users(caller, leader, outsider, other_leader, supervisor, striker, office_user):
    return {
        "caller": caller.user,
        "leader": leader.user,
        "outsider": outsider.user,
        "other_leader": other_leader.user,
        "supervisor": supervisor.user,
        "striker": striker.user,
        "office": office_user,
    }


def status_for(client, user, url, method="get"):
    client.force_login(user)
    response = getattr(client, method)(url)
    client.logout()
    return response.status_code


# --- the access matrix -------------------------------------------------------------------------

READ_MATRIX = {
    "caller": 200,
    "leader": 200,
    "office": 200,
    "outsider": 404,
    "other_leader": 404,
    "supervisor": 404,
    "striker": 404,
}


@pytest.mark.parametrize("who", READ_MATRIX)
def test_withdrawal_pages_matrix(client, users, mine, req, material, who):
    expected = READ_MATRIX[who]
    user = users[who]
    detail = reverse("casework:withdrawal_detail", args=[req.pk])
    assert status_for(client, user, detail) == expected
    assert status_for(client, user, reverse("casework:material_file", args=[material.pk])) == expected
    # the candidate page redirects to the open request for those in scope
    page = reverse("casework:candidate_withdrawal", args=[mine.pk])
    assert status_for(client, user, page) == (302 if expected == 200 else 404)


@pytest.mark.parametrize("who", READ_MATRIX)
def test_strike_case_matrix(client, users, pending_case, who):
    assert (
        status_for(client, users[who], reverse("casework:strike_detail", args=[pending_case.pk]))
        == READ_MATRIX[who]
    )


def test_material_file_is_served_with_its_checked_type(client, caller, material):
    client.force_login(caller.user)
    response = client.get(reverse("casework:material_file", args=[material.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == image_bytes("PNG")


@pytest.mark.parametrize(
    "name",
    [
        "withdrawal_check",
        "withdrawal_submit",
        "withdrawal_complete",
        "withdrawal_reject",
        "withdrawal_return",
        "material_upload",
    ],
)
def test_changes_are_post_only(client, leader, req, name):
    client.force_login(leader.user)
    assert client.get(reverse(f"casework:{name}", args=[req.pk])).status_code == 405


@pytest.mark.parametrize(
    ("who", "expected"),
    [("caller", 403), ("striker", 404), ("other_leader", 404), ("outsider", 404), ("supervisor", 404)],
)
def test_who_cannot_approve_an_escalation(client, users, pending_case, who, expected):
    url = reverse("casework:strike_approve", args=[pending_case.pk])
    assert status_for(client, users[who], url, "post") == expected
    pending_case.refresh_from_db()
    assert pending_case.status == StrikeCaseStatus.PENDING


@pytest.mark.parametrize(("who", "expected"), [("caller", 403), ("striker", 404), ("other_leader", 404)])
def test_who_cannot_check_a_withdrawal(client, users, req, material, who, expected):
    url = reverse("casework:withdrawal_check", args=[req.pk])
    assert status_for(client, users[who], url, "post") == expected
    req.refresh_from_db()
    assert req.status == WithdrawalStatus.COLLECTING


def test_leader_approves_escalation_from_the_board(client, leader, pending_case):
    client.force_login(leader.user)
    board = reverse("casework:strike_board")
    response = client.post(reverse("casework:strike_approve", args=[pending_case.pk]), {"next": board})
    assert response.status_code == 302
    assert response["Location"] == board
    pending_case.refresh_from_db()
    assert pending_case.status == StrikeCaseStatus.APPROVED


def test_strike_member_takes_and_sees_full_numbers(client, striker, unreachable):
    from tests.factories import PhoneFactory

    PhoneFactory(candidate=unreachable, number="13800001111")
    case = StrikeCaseFactory(candidate=unreachable)
    client.force_login(striker.user)
    page = client.get(reverse("casework:strike_detail", args=[case.pk]))
    assert "138****1111" in page.content.decode()
    assert client.post(reverse("casework:strike_take", args=[case.pk])).status_code == 302
    page = client.get(reverse("casework:strike_detail", args=[case.pk]))
    html = page.content.decode()
    assert 'href="tel:13800001111"' in html
    assert 'id="strike-log-form"' in html


def test_holder_logs_a_contact_through_the_case_page(client, striker, unreachable):
    case = StrikeCaseFactory(candidate=unreachable, status=StrikeCaseStatus.TAKEN, holder=striker)
    client.force_login(striker.user)
    from django.utils import timezone

    response = client.post(
        reverse("casework:strike_log_contact", args=[case.pk]),
        {
            "contacted_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "channel": "phone",
            "outcome": "connected",
            "intent": "confirmed",
            "duration_minutes": "5",
            "duration_seconds": "0",
            "new_owner_1": "parent",
            "new_owner_2": "other",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    unreachable.refresh_from_db()
    assert unreachable.contact_count == 1
    assert unreachable.status == CallbackStatus.CONFIRMED


def test_non_holder_cannot_log_on_the_case(client, striker2, striker, unreachable):
    case = StrikeCaseFactory(candidate=unreachable, status=StrikeCaseStatus.TAKEN, holder=striker)
    client.force_login(striker2.user)
    assert client.post(reverse("casework:strike_log_contact", args=[case.pk]), {}).status_code == 404


# --- pages and forms ---------------------------------------------------------------------------


def test_candidate_page_shows_the_letter_to_copy(client, caller, mine):
    client.force_login(caller.user)
    html = client.get(reverse("casework:candidate_withdrawal", args=[mine.pk])).content.decode()
    assert "本人是河南省的 2023 年考生，姓名：李明，考生号：23410101000123" in html
    assert 'data-copy-target="letter-text"' in html
    assert "复制申请书" in html


def test_non_withdrawable_candidate_page_explains(client, caller, unreachable):
    client.force_login(caller.user)
    html = client.get(reverse("casework:candidate_withdrawal", args=[unreachable.pk])).content.decode()
    assert "四川录取期间不可退档" in html
    assert "发起退档申请" not in html
    response = client.post(reverse("casework:withdrawal_open", args=[unreachable.pk]), follow=True)
    assert "四川录取期间不可退档，不能发起退档申请" in response.content.decode()


def test_open_then_upload_text_as_jpg_shows_error_next_to_field(client, caller, mine):
    client.force_login(caller.user)
    response = client.post(reverse("casework:withdrawal_open", args=[mine.pk]))
    req = mine.withdrawal_requests.get()
    assert response["Location"] == reverse("casework:withdrawal_detail", args=[req.pk])
    fake = SimpleUploadedFile("id.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(
        reverse("casework:material_upload", args=[req.pk]), {"kind": MaterialKind.COMBINED, "file": fake}
    )
    assert response.status_code == 400
    assert "只能上传 JPEG、PNG 图片或 PDF 文件（按文件内容判断）。" in response.content.decode()
    assert req.materials.count() == 0


def test_upload_too_big_through_the_form(client, caller, req, settings):
    settings.UPLOAD_MAX_BYTES = 2048
    client.force_login(caller.user)
    big = SimpleUploadedFile("big.png", image_bytes("PNG") + b"\0" * 4096, content_type="image/png")
    response = client.post(
        reverse("casework:material_upload", args=[req.pk]), {"kind": MaterialKind.COMBINED, "file": big}
    )
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()


def test_leader_check_with_missing_material_shows_message(client, leader, caller, req):
    upload = SimpleUploadedFile("id.jpg", image_bytes(), content_type="image/jpeg")
    withdrawal_material_add(request=req, kind=MaterialKind.ID_CARD, upload=upload, user=caller.user)
    client.force_login(leader.user)
    response = client.post(reverse("casework:withdrawal_check", args=[req.pk]), follow=True)
    assert "材料不全，缺少：签字退档申请书、准考证" in response.content.decode()
    req.refresh_from_db()
    assert req.status == WithdrawalStatus.COLLECTING


def test_escalate_form_errors_in_chinese(client, caller, unreachable):
    client.force_login(caller.user)
    url = reverse("casework:candidate_escalate", args=[unreachable.pk])
    response = client.post(url, {"kind": "unreachable", "note": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "请勾选已经尝试过的联系办法" in html
    assert "这个字段是必填项" in html
    response = client.post(
        url,
        {
            "kind": "unreachable",
            "steps_tried": ["empty_number", "head_teacher"],
            "note": "班主任电话也打不通",
        },
    )
    case = unreachable.strike_cases.get()
    assert response["Location"] == reverse("casework:strike_detail", args=[case.pk])
    assert case.steps_tried == ["empty_number", "head_teacher"]


# --- lists: scope and constant queries ---------------------------------------------------------


def _requests_for(caller, province, n):
    for _ in range(n):
        candidate = CandidateFactory(season=caller.season, province=province)
        AssignmentFactory(caller=caller, candidate=candidate)
        withdrawal_open(candidate=candidate, user=caller.user)


def test_withdrawal_list_scope_and_queries(
    client, caller, leader, outsider, henan, django_assert_max_num_queries
):
    _requests_for(caller, henan, 3)
    _requests_for(outsider, henan, 2)
    client.force_login(leader.user)
    url = reverse("casework:withdrawal_list")
    client.get(url)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["rows"]) == 3
    _requests_for(caller, henan, 5)
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert len(response.context["rows"]) == 8


def test_withdrawal_list_forbidden_for_callers_and_strike(client, caller, striker):
    for user in (caller.user, striker.user):
        client.force_login(user)
        assert client.get(reverse("casework:withdrawal_list")).status_code == 403


def test_strike_board_sections_and_queries(
    client, caller, leader, striker, sichuan, django_assert_max_num_queries
):
    for _ in range(3):
        candidate = CandidateFactory(
            season=caller.season, province=sichuan, status=CallbackStatus.UNREACHABLE
        )
        AssignmentFactory(caller=caller, candidate=candidate)
        StrikeCaseFactory(candidate=candidate, requested_by=caller)
        candidate = CandidateFactory(
            season=caller.season, province=sichuan, status=CallbackStatus.UNREACHABLE
        )
        AssignmentFactory(caller=caller, candidate=candidate)
        StrikeCaseFactory(candidate=candidate, requested_by=caller, status=StrikeCaseStatus.PENDING)
    url = reverse("casework:strike_board")
    client.force_login(striker.user)
    client.get(url)
    with django_assert_max_num_queries(14):
        response = client.get(url)
    assert len(response.context["queue"]) == 3
    assert response.context["approvals"] == []
    client.force_login(leader.user)
    with django_assert_max_num_queries(16):
        response = client.get(url)
    assert len(response.context["approvals"]) == 3
    assert len(response.context["overview"]) == 6
    client.force_login(caller.user)
    assert client.get(url).status_code == 403


# --- menu and panel ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "labels"),
    [
        ("caller", set()),
        ("leader", {"退档审核", "突击组"}),
        ("striker", {"突击组"}),
        ("office", {"退档审核", "突击组"}),
    ],
)
def test_menu_entries(client, users, who, labels):
    client.force_login(users[who])
    response = client.get(reverse("home"))
    shown = {str(item["label"]) for item in response.context["nav_items"]}
    assert shown & {"退档审核", "突击组"} == labels


def test_candidate_panel(mine, unreachable, caller, pending_case):
    html = render_to_string("callbacks/casework/_candidate_panel.html", {"candidate": mine})
    assert reverse("casework:candidate_withdrawal", args=[mine.pk]) in html
    assert "可退档（劝退为主）" in html
    withdrawal_open(candidate=mine, user=caller.user)
    html = render_to_string("callbacks/casework/_candidate_panel.html", {"candidate": mine})
    assert 'data-withdrawal-status="collecting"' in html
    html = render_to_string("callbacks/casework/_candidate_panel.html", {"candidate": unreachable})
    assert "四川录取期间不可退档。" in html
    assert 'data-strike-status="pending"' in html
    assert reverse("casework:strike_detail", args=[pending_case.pk]) in html
    assert reverse("casework:candidate_escalate", args=[unreachable.pk]) not in html


def test_approve_never_redirects_off_site(client, leader, pending_case):
    client.force_login(leader.user)
    response = client.post(
        reverse("casework:strike_approve", args=[pending_case.pk]), {"next": "https://evil.example/phish"}
    )
    assert response["Location"] == reverse("casework:strike_detail", args=[pending_case.pk])


def test_office_exports_checked_requests(client, caller, leader, office_user, req):
    import io

    from openpyxl import load_workbook

    upload = SimpleUploadedFile("a.jpg", image_bytes(), content_type="image/jpeg")
    withdrawal_material_add(request=req, kind=MaterialKind.COMBINED, upload=upload, user=caller.user)
    from callbacks.casework_services import withdrawal_leader_check

    withdrawal_leader_check(request=req, user=leader.user)
    url = reverse("casework:withdrawal_export")
    client.force_login(leader.user)
    assert client.get(url).status_code == 403
    client.force_login(office_user)
    response = client.get(url)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("考生号", "姓名", "身份证号", "省份")
    assert rows[1][:2] == ("23410101000123", "李明")
    assert rows[1][3] == "河南"
    assert len(rows) == 2


def test_workspace_candidate_page_shows_the_casework_panel(client, caller, mine):
    withdrawal_open(candidate=mine, user=caller.user)
    client.force_login(caller.user)
    html = client.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    assert 'id="casework-panel"' in html
    assert 'data-withdrawal-status="collecting"' in html
