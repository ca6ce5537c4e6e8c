"""Office views and personal statements: works for the office, own-only for everyone else."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from subsidies.models import Deduction, Inquiry, PayoutLine, PayoutRun, RunStatus, SubsidyScheme
from subsidies.services import payout_run_create


@pytest.fixture
def run(small_season, office_user):
    return payout_run_create(season=small_season, user=office_user)


@pytest.mark.django_db
def test_office_creates_approves_diffs_and_downloads(
    client, small_season, office_user, django_assert_max_num_queries
):
    client.force_login(office_user)
    assert client.get(reverse("subsidies:runs")).status_code == 200
    response = client.post(reverse("subsidies:run_create"), {"season": 2023})
    first = PayoutRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "subsidies:run_detail", args=[first.pk]
    )
    with django_assert_max_num_queries(12):
        detail = client.get(reverse("subsidies:run_detail", args=[first.pk]))
    assert detail.status_code == 200 and "12" in detail.content.decode()
    assert client.post(reverse("subsidies:run_approve", args=[first.pk])).status_code == 302
    first.refresh_from_db()
    assert first.status == RunStatus.APPROVED
    client.post(reverse("subsidies:run_create"), {"season": 2023})
    second = PayoutRun.objects.exclude(pk=first.pk).get()
    diff = client.get(reverse("subsidies:run_diff", args=[second.pk]))
    assert diff.status_code == 200 and "两次核算的金额完全相同" in diff.content.decode()
    xlsx = client.get(reverse("subsidies:run_download", args=[second.pk]))
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"


@pytest.mark.django_db
def test_approving_twice_shows_the_lock_message(client, run, office_user):
    client.force_login(office_user)
    client.post(reverse("subsidies:run_approve", args=[run.pk]))
    response = client.post(reverse("subsidies:run_approve", args=[run.pk]), follow=True)
    assert "已审批并锁定" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["runs", "scheme_edit", "deductions", "inquiries"])
def test_office_pages_are_forbidden_to_callers(client, small_season, caller, name):
    client.force_login(caller.user)
    assert client.get(reverse(f"subsidies:{name}")).status_code == 403


@pytest.mark.django_db
def test_scheme_edit_validates_in_chinese_and_saves_a_version(client, small_season, office_user):
    client.force_login(office_user)
    page = client.get(reverse("subsidies:scheme_edit"))
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else "" if v is None or v is False else v) for k, v in data.items()}
    data["note"] = "组长补贴调整"
    data["leader_bonus_basic"] = "2000"
    bad = client.post(reverse("subsidies:scheme_edit") + "?season=2023", data)
    assert bad.status_code == 200
    assert "达基本任务的组长补贴不能高于达目标任务的补贴" in bad.content.decode()
    data["tiers__undergraduate"] = "0.99 55\n0.995 60"
    bad = client.post(reverse("subsidies:scheme_edit") + "?season=2023", data)
    assert "档位阈值必须从高到低严格递减" in bad.content.decode()
    data["tiers__undergraduate"] = "0.99 60\n0.96 25"
    data["leader_bonus_basic"] = "800"
    ok = client.post(reverse("subsidies:scheme_edit") + "?season=2023", data)
    assert ok.status_code == 302
    latest = SubsidyScheme.objects.order_by("-version").first()
    assert latest.version == 2
    assert latest.params["leader_bonus_basic"] == "800"
    assert latest.params["tiers"]["undergraduate"] == [["0.99", "60"], ["0.96", "25"]]


@pytest.mark.django_db
def test_deduction_form(client, small_season, office_user, caller):
    client.force_login(office_user)
    bad = client.post(
        reverse("subsidies:deductions"), {"person": caller.pk, "percent": "10", "reason": "迟到"}
    )
    assert bad.status_code == 200 and not Deduction.objects.exists()
    ok = client.post(
        reverse("subsidies:deductions"), {"person": caller.pk, "percent": "25", "reason": "迟到"}
    )
    assert ok.status_code == 302
    assert Deduction.objects.get().percent == Decimal("0.25")


@pytest.mark.django_db
def test_my_statement_shows_own_lines_and_what_if(client, run, caller):
    client.force_login(caller.user)
    response = client.get(reverse("subsidies:my_statement"))
    assert response.status_code == 200
    lines = response.context["lines"]
    assert {x.person_id for x in lines} == {caller.pk}
    body = response.content.decode()
    assert "本科：报到 98 / 录取 100 = 98.00%" in body
    # 98/100: one more enrollment → 99% is still ">98.5%"? no: 99/100 = 99% → >98.5% tier
    tip = response.context["whatif"][0]["tip"]
    assert (tip.more, tip.tier, tip.amount_now, tip.amount_then) == (
        1,
        ">98.50%",
        Decimal("4410.00"),
        Decimal("5197.50"),
    )


@pytest.mark.django_db
def test_leader_sees_team_goals(client, run, leader):
    client.force_login(leader.user)
    response = client.get(reverse("subsidies:my_statement"))
    goals = {g["label"]: g["goal"] for g in response.context["team_goals"]}
    # team 本科 198/200 = 99% = target; 专科 10/10
    assert (goals["本科"].to_basic, goals["本科"].to_target) == (0, 0)


@pytest.mark.django_db
def test_statement_of_someone_else_is_404_but_office_sees_it(client, run, caller, outsider, office_user):
    url = reverse("subsidies:statement", args=[run.pk, caller.pk])
    client.force_login(outsider.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("subsidies:statement", args=[run.pk, outsider.pk])).status_code == 200
    client.force_login(caller.user)
    assert client.get(url).status_code == 200
    client.force_login(office_user)
    page = client.get(url)
    assert page.status_code == 200 and page.context["person"] == caller and not page.context["own"]


@pytest.mark.django_db
def test_inquiry_on_own_line_only_then_office_answers_with_adjustment(
    client, run, caller, outsider, office_user
):
    line = PayoutLine.objects.filter(run=run, person=caller).first()
    url = reverse("subsidies:inquiry_create", args=[line.pk])
    client.force_login(outsider.user)
    assert client.post(url, {"question": "这是谁的？"}).status_code == 404
    client.force_login(caller.user)
    assert client.post(url, {"question": "报到人数不对"}).status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.person == caller
    client.force_login(office_user)
    page = client.get(reverse("subsidies:inquiries"))
    assert "报到人数不对" in page.content.decode()
    client.post(
        reverse("subsidies:inquiry_answer", args=[inquiry.pk]),
        {"answer": "补录一名报到", "adjustment_amount": "52.50", "reason_code": "late_registration"},
    )
    inquiry.refresh_from_db()
    assert inquiry.status == "answered"
    assert inquiry.adjustments.get().amount == Decimal("52.50")


@pytest.mark.django_db
def test_statement_without_caller_profile_is_404(client, small_season, office_user):
    client.force_login(office_user)
    assert client.get(reverse("subsidies:my_statement")).status_code == 404


@pytest.mark.django_db
def test_menu_entries(client, small_season, caller, office_user):
    client.force_login(caller.user)
    body = client.get(reverse("home")).content.decode()
    assert "我的补贴" in body and "补贴核算" not in body
    client.force_login(office_user)
    assert "补贴核算" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_diff_view_lists_changed_people_by_rule(client, run, office_user, caller):
    late = caller.assignments.filter(
        candidate__enrolled_on__isnull=True, candidate__status="confirmed"
    ).first()
    late.candidate.enrolled_on = "2023-09-10"
    late.candidate.save()
    second = payout_run_create(season=run.season, user=office_user)
    client.force_login(office_user)
    body = client.get(reverse("subsidies:run_diff", args=[second.pk])).content.decode()
    assert caller.staff_no in body
    assert "电话补贴（本科）：4410.00 → 5197.50" in body
    assert "787.50" in body


@pytest.mark.django_db
def test_lists_and_statements_take_few_queries(
    client, run, office_user, caller, django_assert_max_num_queries
):
    for _ in range(3):
        payout_run_create(season=run.season, user=office_user)
    client.force_login(office_user)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("subsidies:runs")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("subsidies:inquiries")).status_code == 200
    client.force_login(caller.user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("subsidies:my_statement")).status_code == 200


@pytest.mark.django_db
def test_run_detail_search(client, run, office_user, caller, leader):
    client.force_login(office_user)
    page = client.get(reverse("subsidies:run_detail", args=[run.pk]), {"q": caller.staff_no})
    assert [p.person_id for p in page.context["page"].object_list] == [caller.pk]


@pytest.mark.django_db
def test_my_statement_defaults_to_the_latest_season_the_person_worked_in(client, run, caller):
    from tests.factories import SeasonFactory

    SeasonFactory(year=2024)
    client.force_login(caller.user)
    response = client.get(reverse("subsidies:my_statement"))
    assert response.status_code == 200 and response.context["season"].year == 2023
    assert client.get(reverse("subsidies:my_statement"), {"season": 2024}).status_code == 404
