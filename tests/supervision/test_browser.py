"""In a browser: a supervisor draws a sample, scores a record with a finding, the caller
acknowledges the finding on 我的整改 and reports the rectification, the supervisor verifies and
closes it; a supervisor verifies (or dismisses) no-show cases before the strike team may take them."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from supervision.choices import FindingStatus
from supervision.models import AuditSample, Finding
from tests.supervision.conftest import make_contacts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, live_server, client, user) -> None:
    page.context.clear_cookies()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_draw_score_find_and_acknowledge(page, live_server, client, caller, supervisor):
    make_contacts(caller, 3)
    login(page, live_server, client, supervisor.user)

    page.goto(f"{live_server.url}/supervision/")
    page.get_by_role("link", name="新建抽查").click()
    page.locator("#draw-form").get_by_role("button", name="随机抽取").click()
    expect(page.locator("h1")).to_contain_text("抽查 #")
    expect(page.locator("a.item-link")).to_have_count(3)
    assert AuditSample.objects.get().items.count() == 3

    page.locator("a.item-link").first.click()
    score = page.locator("#score-form")
    score.locator("input[type=number]").nth(1).fill("4")
    score.get_by_role("button", name="提交评分").click()
    expect(page.locator(".score")).to_contain_text("4/10")
    form = page.locator("#finding-form")
    form.locator("select[name=category]").select_option("policy")
    form.locator("textarea[name=description]").fill("对本省能否退档讲解错误")
    form.locator("textarea[name=required_rectification]").fill("回电更正并重新学习政策")
    form.get_by_role("button", name="记录问题").click()
    expect(page.locator(".messages")).to_contain_text("问题已记录")

    login(page, live_server, client, caller.user)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="我的整改").first.click()
    card = page.locator("section.finding")
    expect(card).to_contain_text("对本省能否退档讲解错误")
    card.get_by_role("button", name="确认问题").click()
    expect(page.locator(".messages")).to_contain_text("已确认")
    expect(page.locator("section.finding")).to_contain_text("已确认")
    f = Finding.objects.get()
    assert f.status == FindingStatus.OPEN and f.acknowledged_at is not None

    # the caller reports the rectification, the leader adds an opinion
    card = page.locator("section.finding")
    card.locator("textarea[name=text]").fill("已回电考生更正退档政策，并重学本省政策")
    card.get_by_role("button", name="反馈整改").click()
    expect(page.locator(".messages")).to_contain_text("整改情况已反馈")
    expect(page.locator("section.finding")).to_contain_text("已回电考生更正退档政策")
    assert Finding.objects.get().status == FindingStatus.RESPONDED

    # the supervisor verifies it on the finding's page and closes it
    login(page, live_server, client, supervisor.user)
    page.goto(f"{live_server.url}/supervision/findings/{f.pk}/")
    expect(page.locator("h1")).to_contain_text("已反馈整改")
    page.locator("textarea[name=note]").fill("回访录音已核，更正到位")
    page.get_by_role("button", name="整改到位，关闭").click()
    expect(page.locator(".messages")).to_contain_text("已核实")
    expect(page.locator("section.card").first).to_contain_text("回访录音已核，更正到位")
    f.refresh_from_db()
    assert f.status == FindingStatus.CLOSED
    assert f.verified_by == supervisor and f.verified_at is not None
    expect(page.get_by_role("button", name="整改到位，关闭")).to_have_count(0)


def test_noshow_verification_reaches_the_strike_team(page, live_server, client, caller, supervisor, season):
    """A caller's no-show case (不可退档省份 确认不来) is verified by the team's supervisor in the
    browser; only then may the strike team take it. A second case is found untrue and dismissed."""
    from callbacks.casework_models import StrikeCase, StrikeCaseKind, StrikeCaseStatus
    from tests.factories import AssignmentFactory, CandidateFactory

    cases = []
    for name in ("王不来", "李存疑"):
        cand = CandidateFactory(season=season, name=name)
        AssignmentFactory(caller=caller, candidate=cand)
        cases.append(
            StrikeCase.objects.create(
                candidate=cand,
                kind=StrikeCaseKind.NO_SHOW,
                status=StrikeCaseStatus.APPROVED,
                requested_by=caller,
                created_by=caller.user,
                note="家长明确表示不来报到",
            )
        )
    confirmed, dismissed = cases
    assert not confirmed.takeable  # unverified: not in the strike team's queue yet
    make_contacts(caller, 1)
    login(page, live_server, client, supervisor.user)
    page.goto(f"{live_server.url}/supervision/noshow/")
    expect(page.locator("section.noshow-case")).to_have_count(2)

    first = page.locator(f"#case-{confirmed.pk}")
    expect(first).to_contain_text("王不来")
    first.locator("textarea[name=note]").fill("已核回访记录与录音，家长确认不来")
    first.get_by_role("button", name="核实属实，交突击组").click()
    expect(page.locator(".messages")).to_contain_text("核实结果已记录")
    expect(page.locator("section.noshow-case")).to_have_count(1)

    second = page.locator(f"#case-{dismissed.pk}")
    second.locator("textarea[name=note]").fill("录音中考生表示会来报到")
    second.get_by_role("button", name="核实不属实").click()
    expect(page.locator(".messages")).to_contain_text("核实结果已记录")
    expect(page.locator("section.noshow-case")).to_have_count(0)
    expect(page.locator("main, body").first).to_contain_text("没有待核实的案件")

    confirmed.refresh_from_db()
    dismissed.refresh_from_db()
    assert confirmed.verified_by == supervisor and confirmed.verified_at is not None
    assert confirmed.verification_note == "已核回访记录与录音，家长确认不来"
    assert confirmed.takeable
    assert dismissed.status == StrikeCaseStatus.DISMISSED and dismissed.verified_at is None
    assert not dismissed.takeable
