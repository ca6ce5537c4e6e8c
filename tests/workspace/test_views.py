"""Views of the caller workspace: access (404 for other callers' candidates), fragments, query
counts, filters and exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callback_office.privacy import mask_id_number
from callbacks.choices import Intent, Outcome, QualificationStatus
from callbacks.models import Assignment, ContactLog
from tests.factories import AssignmentFactory, CandidateFactory, ContactFactory, PhoneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_caller(client, caller):
    client.force_login(caller.user)
    return client


def contact_post(**overrides):
    data = {
        "contacted_at": timezone.localtime(timezone.now() - dt.timedelta(minutes=3)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "channel": "phone",
        "phone_number": "",
        "outcome": Outcome.CONNECTED,
        "intent": Intent.CONFIRMED,
        "duration_minutes": "4",
        "duration_seconds": "30",
        "risk_signals": ["tuition"],
        "notes": "家长同意就读",
        "new_phone_1": "13900000009",
        "new_owner_1": "parent",
        "new_phone_2": "",
        "new_owner_2": "other",
        "next_call_at": "",
    }
    data.update(overrides)
    return data


# --- access: every candidate view answers 404 for another caller's candidate ------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [("candidate_detail", "get"), ("contact_create", "post"), ("followup_set", "post")],
)
def test_other_callers_candidate_is_404(as_caller, theirs, name, method):
    url = reverse(f"callbacks:{name}", args=[theirs.pk])
    response = getattr(as_caller, method)(url, contact_post() if method == "post" else None)
    assert response.status_code == 404
    assert ContactLog.objects.count() == 0


def test_ledger_of_another_caller_is_404(as_caller, outsider, leader):
    assert as_caller.get(reverse("callbacks:ledger_caller", args=[outsider.pk])).status_code == 404
    assert as_caller.get(reverse("callbacks:ledger_caller", args=[leader.pk])).status_code == 404


@pytest.mark.parametrize("name", ["team", "distribute"])
def test_caller_cannot_open_leader_and_office_pages(as_caller, name):
    assert as_caller.get(reverse(f"callbacks:{name}")).status_code == 403


def test_anonymous_is_sent_to_login(client, mine):
    for url in (reverse("callbacks:my_candidates"), reverse("callbacks:candidate_detail", args=[mine.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_leader_reads_team_candidate_masked_but_cannot_log(client, leader, mine):
    PhoneFactory(candidate=mine, number="13812345678")
    client.force_login(leader.user)
    page = client.get(reverse("callbacks:candidate_detail", args=[mine.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "138****5678" in html
    assert "13812345678" not in html
    assert 'id="contact-form"' not in html
    response = client.post(reverse("callbacks:contact_create", args=[mine.pk]), contact_post())
    assert response.status_code == 403
    assert ContactLog.objects.count() == 0


def test_leader_cannot_see_other_teams_candidate(client, leader, theirs):
    client.force_login(leader.user)
    assert client.get(reverse("callbacks:candidate_detail", args=[theirs.pk])).status_code == 404


# --- my candidates ------------------------------------------------------------------------------


def make_mine(caller, n, **kw):
    return [
        AssignmentFactory(caller=caller, candidate=CandidateFactory(season=caller.season, **kw)).candidate
        for _ in range(n)
    ]


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_my_candidates_query_count_is_constant(as_caller, caller, outsider, django_assert_max_num_queries):
    url = reverse("callbacks:my_candidates")
    make_mine(caller, 10)
    make_mine(outsider, 3)
    with django_assert_max_num_queries(8):  # 7 once the filter fields' HTML is cached
        response = as_caller.get(url)
    assert len(response.context["page"].object_list) == 10
    ten = count_queries(as_caller, url)
    make_mine(caller, 40)
    fifty = count_queries(as_caller, url)
    assert ten == fifty
    with django_assert_max_num_queries(7):
        response = as_caller.get(url)
    assert len(response.context["page"].object_list) == 50


def test_my_candidates_paginates_by_100(as_caller, caller):
    url = reverse("callbacks:my_candidates")
    make_mine(caller, 100)
    as_caller.get(url)  # the filter fields' HTML cached
    one_page = count_queries(as_caller, url)
    make_mine(caller, 1)
    AssignmentFactory(caller=caller, candidate=CandidateFactory(season=caller.season), active=False)
    first = as_caller.get(url)
    assert len(first.context["page"].object_list) == 100
    assert (first.context["page"].paginator.count, first.context["page"].paginator.num_pages) == (101, 2)
    assert 'href="?page=2"' in first.content.decode()
    assert count_queries(as_caller, url) == one_page + 1  # the count, only when there is a second page
    second = as_caller.get(url + "?page=2")
    assert len(second.context["page"].object_list) == 1
    assert 'href="?page=1"' in second.content.decode()


def test_next_to_call_order(as_caller, caller):
    now = timezone.now()
    confirmed = make_mine(
        caller,
        1,
        status=CallbackStatus.CONFIRMED,
        contact_count=2,
        last_contact_at=now - dt.timedelta(days=3),
    )[0]
    unreachable = make_mine(
        caller,
        1,
        status=CallbackStatus.UNREACHABLE,
        contact_count=1,
        last_contact_at=now - dt.timedelta(days=1),
    )[0]
    hesitant = make_mine(caller, 1, status=CallbackStatus.HESITANT, contact_count=1, last_contact_at=now)[0]
    never = make_mine(caller, 1)[0]
    due = make_mine(caller, 1, status=CallbackStatus.CONFIRMED, contact_count=3, last_contact_at=now)[0]
    Assignment.objects.filter(candidate=due).update(next_call_at=now - dt.timedelta(hours=1))
    response = as_caller.get(reverse("callbacks:my_candidates"))
    assert [c["id"] for c in response.context["page"]] == [
        due.pk,
        never.pk,
        hesitant.pk,
        unreachable.pk,
        confirmed.pk,
    ]
    html = response.content.decode()
    assert "到期待回访" in html
    assert "第一阶段 通打一遍" in html and "第二阶段 集中突破" in html and "第三阶段 最终确认" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=hesitant", {"hesitant"}),
        ("phase=1", {"never"}),
        ("phase=2", {"hesitant"}),
        ("phase=3", {"paid"}),
        ("paid=yes", {"paid"}),
        ("paid=no", {"never", "hesitant"}),
        ("q=李", {"hesitant"}),
        ("q=石室", {"never"}),
        ("q=2351019", {"paid"}),
        ("level=junior", {"never"}),
    ],
)
def test_my_candidates_filters(as_caller, caller, query, expected):
    made = {
        "never": make_mine(caller, 1, name="王一", high_school="石室中学", level="junior")[0],
        "hesitant": make_mine(caller, 1, name="李二", status=CallbackStatus.HESITANT, contact_count=1)[0],
        "paid": make_mine(
            caller,
            1,
            name="赵三",
            exam_number="23510199000001",
            status=CallbackStatus.CONFIRMED,
            contact_count=2,
            paid_on=dt.date(2023, 8, 1),
        )[0],
    }
    response = as_caller.get(reverse("callbacks:my_candidates") + "?" + query)
    names = {k for k, c in made.items() if c.pk in {x["id"] for x in response.context["page"]}}
    assert names == expected


# --- candidate page -----------------------------------------------------------------------------


def test_candidate_page_for_the_assigned_caller(as_caller, caller, mine):
    mine.status = CallbackStatus.CONFIRMED
    mine.save()
    PhoneFactory(candidate=mine, number="13812345678")
    ContactFactory(candidate=mine, caller=caller, notes="第一次接通")
    classmate = make_mine(caller, 1, high_school=mine.high_school)[0]
    html = as_caller.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    assert 'href="tel:13812345678"' in html
    assert "电话少于 2 个" in html
    assert "第一次接通" in html
    assert classmate.name in html
    assert "不可退档" in html and "不屏蔽电话" in html and "劝来" in html
    assert "嫌学费贵" in html and "在外打工" in html  # the 13-item checklist
    assert mine.id_number not in html and mask_id_number(mine.id_number) in html  # reveal: logged POST
    assert "显示完整身份证号" in html
    assert 'id="contact-form"' in html and 'id="followup-form"' in html


def test_log_contact_with_htmx_returns_the_panel(as_caller, caller, mine, django_assert_max_num_queries):
    url = reverse("callbacks:contact_create", args=[mine.pk])
    with django_assert_max_num_queries(14):  # 12 without a new number (test_request_paths)
        response = as_caller.post(url, contact_post(), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-panel">')
    assert "家长同意就读" in html and "4分30秒" in html and "回访记录已保存" in html
    assert 'href="tel:13900000009"' in html
    mine.refresh_from_db()
    assert (mine.status, mine.contact_count, mine.contact_seconds) == (CallbackStatus.CONFIRMED, 1, 270)
    log = ContactLog.objects.get()
    assert (log.caller_id, log.risk_signals, log.duration_seconds) == (caller.pk, ["tuition"], 270)


def test_log_contact_query_count_does_not_grow_with_history(as_caller, caller, mine):
    url = reverse("callbacks:contact_create", args=[mine.pk])
    as_caller.post(url, contact_post(new_phone_1=""), HTTP_HX_REQUEST="true")  # moves the status once
    with CaptureQueriesContext(connection) as first:
        as_caller.post(url, contact_post(new_phone_1=""), HTTP_HX_REQUEST="true")
    for _ in range(10):
        ContactFactory(candidate=mine, caller=caller)
    with CaptureQueriesContext(connection) as later:
        as_caller.post(url, contact_post(new_phone_1=""), HTTP_HX_REQUEST="true")
    assert len(first.captured_queries) == len(later.captured_queries)


def test_log_contact_without_js_redirects(as_caller, mine):
    response = as_caller.post(reverse("callbacks:contact_create", args=[mine.pk]), contact_post())
    assert response.status_code == 302
    assert response.url == reverse("callbacks:candidate_detail", args=[mine.pk])
    assert ContactLog.objects.count() == 1


def test_log_contact_errors_are_chinese_and_next_to_their_fields(as_caller, mine):
    future = timezone.localtime(timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = as_caller.post(
        reverse("callbacks:contact_create", args=[mine.pk]),
        contact_post(contacted_at=future, intent=Intent.WANTS_WITHDRAWAL, duration_minutes="-1"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["contacted_at"] == ["回访时间不能晚于现在。"]
    assert form.errors["duration_minutes"] == ["确保该值大于或等于0。"]
    html = response.content.decode()
    assert 'id="contacted_at-errors"' in html
    assert ContactLog.objects.count() == 0


def test_withdrawal_intent_error_in_unwithdrawable_province(as_caller, mine):
    response = as_caller.post(
        reverse("callbacks:contact_create", args=[mine.pk]),
        contact_post(intent=Intent.WANTS_WITHDRAWAL),
        HTTP_HX_REQUEST="true",
    )
    assert response.context["form"].errors["intent"] == [
        "四川不可退档：请按劝来策略沟通，不能记录为要求退档。"
    ]


def test_long_duration_error_without_js_renders_the_page(as_caller, mine):
    response = as_caller.post(
        reverse("callbacks:contact_create", args=[mine.pk]),
        contact_post(duration_minutes="241", duration_seconds="0"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["duration_minutes"] == ["通话时长不能超过 4 小时，请检查。"]
    assert "通话时长不能超过 4 小时" in response.content.decode()


def test_followup_set_shows_on_list(as_caller, mine):
    when = timezone.localtime(timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    response = as_caller.post(
        reverse("callbacks:followup_set", args=[mine.pk]), {"next_call_at": when.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    assert Assignment.objects.get(candidate=mine).next_call_at == when


# --- pool ---------------------------------------------------------------------------------------


def test_pool_claim(as_caller, caller, season):
    pool = [CandidateFactory(season=season, in_pool=True) for _ in range(3)]
    assert "池中还有 3 名考生待领取" in as_caller.get(reverse("callbacks:pool")).content.decode()
    response = as_caller.post(reverse("callbacks:pool_claim"), {"count": "2"})
    assert response.status_code == 302
    assert response.url == reverse("callbacks:my_candidates")
    assert set(Assignment.objects.values_list("candidate_id", flat=True)) == {pool[0].pk, pool[1].pk}


def test_pool_claim_refuses_unqualified(as_caller, caller, season):
    CandidateFactory(season=season, in_pool=True)
    caller.qualification_status = QualificationStatus.PENDING
    caller.save()
    response = as_caller.post(reverse("callbacks:pool_claim"), {"count": "2"}, follow=True)
    assert "你的回访资格审查尚未通过" in response.content.decode()
    assert Assignment.objects.count() == 0


def test_report_create(as_caller, caller):
    response = as_caller.post(
        reverse("callbacks:report_create"), {"exam_number": "23510101999999", "name": "钱五"}, follow=True
    )
    assert "报备成功" in response.content.decode()
    assert caller.prospect_reports.get().exam_number == "23510101999999"


# --- team, ledger, distribute -------------------------------------------------------------------


def test_team_page_shows_overdue_followups(
    client, leader, caller, mine, settings, django_assert_max_num_queries
):
    settings.FOLLOWUP_OVERDUE_HOURS = 24
    recent = make_mine(caller, 1)[0]
    Assignment.objects.filter(candidate=mine).update(next_call_at=timezone.now() - dt.timedelta(hours=25))
    Assignment.objects.filter(candidate=recent).update(next_call_at=timezone.now() - dt.timedelta(hours=2))
    client.force_login(leader.user)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("callbacks:team"))
    assert [a.candidate_id for a in response.context["overdue"]] == [mine.pk]
    assert response.context["page"].paginator.count == 2


def test_ledger_page_and_export(as_caller, caller, mine, client, leader):
    ContactFactory(candidate=mine, caller=caller, duration_seconds=600)
    Candidate.objects.filter(pk=mine.pk).update(contact_count=1, contact_seconds=600)
    html = as_caller.get(reverse("callbacks:ledger")).content.decode()
    assert 'id="ledger-minutes">10.0<' in html
    assert "电话 1" in html
    response = as_caller.get(reverse("callbacks:ledger") + "?format=xlsx")
    wb = load_workbook(io.BytesIO(response.content))
    rows = list(wb["台账"].iter_rows(values_only=True))
    assert rows[0][:2] == ("考生号", "姓名")
    assert rows[1][0] == mine.exam_number
    assert rows[1][5:7] == (1, 10)
    client.force_login(leader.user)
    assert client.get(reverse("callbacks:ledger_caller", args=[caller.pk])).status_code == 200


def test_office_releases_and_distributes(client, office_user, caller, season):
    candidates = [CandidateFactory(season=season) for _ in range(4)]
    client.force_login(office_user)
    client.post(
        reverse("callbacks:distribute"), {"action": "release", "batch": "", "province": "", "level": ""}
    )
    assert Candidate.objects.filter(in_pool=True).count() == 4
    response = client.post(reverse("callbacks:distribute"), {"action": "distribute"}, follow=True)
    assert "已分配 4 名考生给 1 名回访员" in response.content.decode()
    assert set(Assignment.objects.filter(caller=caller).values_list("candidate_id", flat=True)) == {
        c.pk for c in candidates
    }


def test_ledger_overview_for_leader_and_office(
    client, leader, caller, outsider, office_user, season, django_assert_max_num_queries
):
    for c, count, seconds in ((caller, 5, 1500), (caller, 3, 900), (outsider, 1, 60)):
        AssignmentFactory(
            caller=c, candidate=CandidateFactory(season=season, contact_count=count, contact_seconds=seconds)
        )
    client.force_login(leader.user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("callbacks:ledger"))
    lines = {line.caller.pk: line.totals for line in response.context["overview"]}
    assert set(lines) == {caller.pk, leader.pk}
    assert (lines[caller.pk].candidates, lines[caller.pk].contacts, lines[caller.pk].minutes) == (2, 8, 40)
    assert (lines[caller.pk].avg_contacts, lines[caller.pk].meets_contacts) == (4, True)
    assert lines[leader.pk].candidates == 0
    client.force_login(office_user)
    response = client.get(reverse("callbacks:ledger"))
    assert response.context["caller"] is None
    assert {line.caller.pk for line in response.context["overview"]} == {caller.pk, leader.pk, outsider.pk}


def test_office_releases_one_batch(client, office_user, season):
    first = CandidateFactory(season=season, batch="本科一批")
    CandidateFactory(season=season, batch="专科批")
    client.force_login(office_user)
    page = client.get(reverse("callbacks:distribute")).content.decode()
    assert '<option value="本科一批">' in page and '<option value="专科批">' in page
    response = client.post(
        reverse("callbacks:distribute"),
        {"action": "release", "batch": "本科一批", "province": "", "level": ""},
        follow=True,
    )
    assert "已放入录检池 1 名" in response.content.decode()
    assert list(Candidate.objects.filter(in_pool=True).values_list("id", flat=True)) == [first.pk]


def test_log_contact_can_book_the_next_call_and_the_panel_shows_it(as_caller, mine):
    later = timezone.localtime(timezone.now() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    response = as_caller.post(
        reverse("callbacks:contact_create", args=[mine.pk]),
        contact_post(intent=Intent.HESITANT, next_call_at=later.strftime("%Y-%m-%dT%H:%M")),
        HTTP_HX_REQUEST="true",
    )
    assert f'id="next-call">{later:%Y-%m-%d %H:%M}<' in response.content.decode()
    assert Assignment.objects.get(candidate=mine).next_call_at == later


def test_blank_contact_time_means_now(as_caller, mine):
    before = timezone.now()
    as_caller.post(reverse("callbacks:contact_create", args=[mine.pk]), contact_post(contacted_at=""))
    log = ContactLog.objects.get()
    assert before <= log.contacted_at <= timezone.now()
