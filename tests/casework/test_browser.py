"""Casework in a real browser (Debian's chromium through Playwright): a caller copies the letter
and uploads withdrawal materials; a caller escalates an unreachable candidate and the leader
approves it from the strike-team page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from admissions.choices import CallbackStatus
from callback_office.roles import Role
from callbacks.casework_models import StrikeCase, StrikeCaseStatus, WithdrawalRequest, WithdrawalStatus
from tests.casework.factories import image_bytes
from tests.factories import AssignmentFactory, CallerFactory, CandidateFactory, ProvinceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo-pass-2023")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def logout(page):
    page.click(".who button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def test_caller_uploads_materials_and_leader_approves_an_escalation(page, live_server, team, tmp_path):
    season = team.season
    caller = CallerFactory(season=season, team=team, user__username="c4001", user__first_name="张老师")
    leader = CallerFactory(
        season=season, team=team, user__username="l4001", user__roles=[Role.CALLER, Role.LEADER]
    )
    team.leader = leader
    team.save(update_fields=["leader"])
    henan = ProvinceFactory(season=season, province="河南", withdrawable=True)
    sichuan = ProvinceFactory(season=season, province="四川", withdrawable=False)
    leaving = CandidateFactory(
        season=season,
        province=henan,
        name="李明",
        exam_number="23410101000123",
        status=CallbackStatus.HESITANT,
    )
    lost = CandidateFactory(season=season, province=sichuan, name="王芳", status=CallbackStatus.UNREACHABLE)
    for candidate in (leaving, lost):
        AssignmentFactory(caller=caller, candidate=candidate)
    photo = tmp_path / "三合一.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(64, 48)))
    fake = tmp_path / "身份证.jpg"
    fake.write_text("this is not a picture")

    # the caller: letter, open the request, a refused fake photo, then the real one
    login(page, live_server, "c4001")
    page.goto(f"{live_server.url}/callbacks/casework/candidate/{leaving.pk}/withdrawal/")
    expect(page.locator("#letter-text")).to_have_value(
        re.compile("本人是河南省的 2023 年考生，姓名：李明，考生号：23410101000123")
    )
    page.click("text=复制申请书")
    expect(page.get_by_text("已复制，可以粘贴到微信或QQ。")).to_be_visible()
    page.click("text=发起退档申请（开始收集材料）")
    expect(page.locator("#withdrawal-status")).to_have_text("收集材料")
    expect(page.locator("#missing-materials")).to_contain_text("签字退档申请书、身份证、准考证")

    page.select_option("#id_kind", "combined")
    page.set_input_files("#id_file", str(fake))
    page.click("#upload-form button[type=submit]")
    expect(page.get_by_text("只能上传 JPEG、PNG 图片或 PDF 文件（按文件内容判断）。")).to_be_visible()

    page.select_option("#id_kind", "combined")
    page.set_input_files("#id_file", str(photo))
    page.click("#upload-form button[type=submit]")
    expect(page.get_by_text("材料已上传。")).to_be_visible()
    expect(page.locator("#materials-complete")).to_be_visible()
    expect(page.locator("table img")).to_have_count(1)
    # the thumbnail is fetched after the row appears: wait for it to finish loading
    page.wait_for_function("() => { const i = document.querySelector('table img'); return i && i.complete; }")
    assert page.locator("table img").evaluate("img => img.naturalWidth") == 64

    # the caller escalates the unreachable candidate
    page.goto(f"{live_server.url}/callbacks/casework/candidate/{lost.pk}/escalate/")
    page.check("input[name=steps_tried][value=empty_number]")
    page.check("input[name=steps_tried][value=lookup_114]")
    page.check("input[name=steps_tried][value=head_teacher]")
    page.fill("#id_note", "三个号码都是空号，114 查到中学，班主任也联系不上")
    page.click("#escalate-form button[type=submit]")
    expect(page.locator("#strike-status")).to_have_text("待组长审批")
    logout(page)

    # the leader: approves the escalation from the strike-team page, checks the materials
    login(page, live_server, "l4001")
    page.click("nav.menu >> text=突击组")
    row = page.locator("#approvals tr", has_text="王芳")
    expect(row).to_contain_text("联系不上")
    row.locator("button", has_text="批准").click()
    expect(page.get_by_text("已批准转突击组。")).to_be_visible()
    expect(page.locator("#approvals")).not_to_contain_text("王芳")
    case = StrikeCase.objects.get(candidate=lost)
    assert case.status == StrikeCaseStatus.APPROVED
    assert case.approved_by_id == leader.user_id
    assert case.steps_tried == ["empty_number", "lookup_114", "head_teacher"]

    page.click("nav.menu >> text=退档审核")
    page.click("text=23410101000123")
    page.click("#leader-check")
    expect(page.get_by_text("已审核：材料齐全，等待招生办提交。")).to_be_visible()
    assert WithdrawalRequest.objects.get(candidate=leaving).status == WithdrawalStatus.LEADER_CHECKED
