"""Policies, candidates, payments, registrations and withdrawals: writes, idempotence, atomicity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from admissions.choices import AdmissionType, CallbackStatus, Level, PhoneOwner
from admissions.models import (
    Candidate,
    CandidatePhone,
    PaymentRecord,
    ProvincePolicy,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from callback_office.importing import import_file
from tests.imports.conftest import POLICY_ROWS, candidate_row, kind_xlsx

pytestmark = pytest.mark.django_db


def run(kind, rows, *, year=2023, dry_run=False, **kwargs):
    return import_file(kind, kind_xlsx(kind, rows, **kwargs), season_year=year, dry_run=dry_run)


def errors(result) -> list[str]:
    return [str(e) for e in result.errors]


# --- policies ---------------------------------------------------------------------------------------


@pytest.mark.sqlite
def test_policies_create_the_season_with_plan_defaults_and_normalise_province_names():
    result = run("policies", POLICY_ROWS)
    assert result.committed
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    season = Season.objects.get(year=2023)
    assert (season.undergrad_basic_target, season.junior_target, season.admission_start) == (
        Decimal("0.98"),
        Decimal("0.95"),
        None,
    )
    got = {p.province: (p.withdrawable, p.phones_shielded, p.new_gaokao) for p in season.provinces.all()}
    assert got == {"四川": (False, False, True), "广西": (True, True, False), "重庆": (False, False, True)}


@pytest.mark.sqlite
def test_policies_reimport_updates_in_place():
    run("policies", POLICY_ROWS)
    again = run("policies", POLICY_ROWS)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = run("policies", [["四川", "是", "否", "是"], ["陕西", "否", "否", "否"]])
    assert (changed.created, changed.updated, changed.unchanged) == (1, 1, 0)
    assert ProvincePolicy.objects.count() == 4
    assert ProvincePolicy.objects.get(province="四川").withdrawable is True


def test_dry_run_changes_nothing_not_even_the_season():
    result = run("policies", POLICY_ROWS, year=2030, dry_run=True)
    assert result.ok and not result.committed
    assert (result.created, result.total_rows) == (3, 3)
    assert result.preview[1] == ["广西", "是", "是", "否"]
    assert not Season.objects.filter(year=2030).exists()


# --- candidates -------------------------------------------------------------------------------------


@pytest.mark.sqlite
def test_candidates_happy_path_with_phones(policies_2023):
    row = candidate_row(2, province="广西", level="专科", kind="对口")
    row[11] = "13900000002、13800000002"  # the parent line repeats the candidate's own number
    result = run("candidates", [candidate_row(1), row])
    assert result.committed, errors(result)
    assert (result.created, result.details["新增电话"]) == (2, 4)  # the repeated number once
    c = Candidate.objects.select_related("province").get(exam_number="23510101000002")
    assert (c.name, c.id_number, c.province.province, c.level, c.admission_type) == (
        "考生2",
        "510101200501010002",
        "广西",
        Level.JUNIOR,
        AdmissionType.VOCATIONAL,
    )
    assert (c.batch, c.major, c.preference_order, c.high_school, c.address, c.status) == (
        "本科一批",
        "计算机科学与技术",
        1,
        "成都七中",
        "成都市青羊区",
        CallbackStatus.UNCONTACTED,
    )
    assert list(c.phones.values_list("number", "owner")) == [
        ("13800000002", PhoneOwner.SELF),
        ("13900000002", PhoneOwner.PARENT),
    ]


@pytest.mark.sqlite
def test_candidates_reimport_creates_no_duplicates_and_updates_in_place(policies_2023):
    rows = [candidate_row(n) for n in range(1, 6)]
    run("candidates", rows)
    again = run("candidates", rows)
    assert (again.created, again.updated, again.unchanged, again.details["新增电话"]) == (0, 0, 5, 0)
    assert Candidate.objects.count() == 5
    assert CandidatePhone.objects.count() == 10
    rows[0][1] = "改名"
    rows[0][10] = "13000000000"
    changed = run("candidates", rows)
    assert (changed.created, changed.updated, changed.unchanged, changed.details["新增电话"]) == (0, 1, 4, 1)
    assert Candidate.objects.get(exam_number=rows[0][0]).name == "改名"
    assert CandidatePhone.objects.count() == 11  # the old number stays on file


def test_unknown_province_is_reported_per_row(policies_2023):
    result = run(
        "candidates", [candidate_row(1), candidate_row(2, province="火星"), candidate_row(3, province="台湾")]
    )
    assert errors(result) == [
        "第3行「省份」：未知省份“火星”：2023年度的省份政策中没有，请先导入省份政策",
        "第4行「省份」：未知省份“台湾”：2023年度的省份政策中没有，请先导入省份政策",
    ]
    assert result.errors[0].message_en.startswith("unknown province '火星'")
    assert not result.committed
    assert Candidate.objects.count() == 0


def test_candidates_into_a_season_without_policies_are_all_rejected(policies_2023):
    result = run("candidates", [candidate_row(1)], year=2024)
    assert [e.row_number for e in result.errors] == [2]
    assert not Season.objects.filter(year=2024).exists()


def test_one_bad_row_changes_nothing(policies_2023):
    run("candidates", [candidate_row(1)])
    rows = [candidate_row(1), candidate_row(2), candidate_row(3)]
    rows[0][1] = "新名字"
    rows[2][8] = "第一"  # 志愿顺序 not a number
    result = run("candidates", rows)
    assert errors(result) == ["第4行「志愿顺序」：应为正整数：“第一”"]
    assert list(Candidate.objects.values_list("exam_number", "name")) == [("23510101000001", "考生1")]
    assert CandidatePhone.objects.count() == 2


def test_importing_200_candidates_uses_a_constant_number_of_queries(
    policies_2023, django_assert_max_num_queries
):
    def count(rows):
        with CaptureQueriesContext(connection) as ctx:
            result = run("candidates", rows)
        assert result.committed, errors(result)
        return len(ctx.captured_queries)

    small = count([candidate_row(n) for n in range(1, 21)])
    large = count([candidate_row(n) for n in range(1001, 1201)])
    assert small == large
    with django_assert_max_num_queries(12):
        assert run("candidates", [candidate_row(n) for n in range(2001, 2201)]).created == 200
    updated = [candidate_row(n) for n in range(1001, 1201)]
    for row in updated:
        row[9] = "树德中学"
    with django_assert_max_num_queries(12):
        assert run("candidates", updated).updated == 200
    assert Candidate.objects.count() == 420
    assert CandidatePhone.objects.count() == 840


# --- payments, registrations, withdrawals -----------------------------------------------------------


@pytest.fixture
def candidates_2023(policies_2023):
    result = run("candidates", [candidate_row(n) for n in range(1, 4)])
    assert result.committed
    return {c.exam_number: c for c in Candidate.objects.all()}


@pytest.mark.sqlite
def test_payments_update_candidates_and_keep_records(candidates_2023):
    rows = [
        ["23510101000001", "2023-08-05", 3000],
        ["23510101000001", dt.date(2023, 8, 1), 2000],
        ["23510101000002", "2023-08-03", "5,000.00"],
        ["99999999999999", "2023-08-03", 100],
    ]
    result = run("payments", rows)
    assert result.committed
    assert (result.created, result.details["考生缴费状态更新"], result.details["考生号不在投档名单中"]) == (
        4,
        2,
        1,
    )
    assert result.warnings == [
        "第5行：考生号“99999999999999”不在本年度投档名单中（缴费记录已保存，留待对账）"
    ]
    first = Candidate.objects.get(exam_number="23510101000001")
    assert (first.paid_on, first.payment_amount) == (dt.date(2023, 8, 1), Decimal("5000.00"))
    assert Candidate.objects.get(exam_number="23510101000003").paid_on is None
    assert PaymentRecord.objects.count() == 4
    assert PaymentRecord.objects.get(exam_number="99999999999999").candidate is None

    again = run("payments", rows)
    assert (again.created, again.updated, again.unchanged, again.details["考生缴费状态更新"]) == (0, 0, 4, 0)
    assert PaymentRecord.objects.count() == 4
    corrected = run("payments", [["23510101000001", "2023-08-05", 3500]])
    assert (corrected.created, corrected.updated) == (0, 1)
    assert Candidate.objects.get(exam_number="23510101000001").payment_amount == Decimal("5500.00")


@pytest.mark.sqlite
def test_registrations_set_enrolled_on_idempotently(candidates_2023):
    rows = [["23510101000001", "2023-09-08"], ["23510101000002", "2023-09-09"]]
    result = run("registrations", rows)
    assert (result.created, result.details["考生状态更新"]) == (2, 2)
    assert Candidate.objects.get(exam_number="23510101000002").enrolled_on == dt.date(2023, 9, 9)
    again = run("registrations", rows)
    assert (again.created, again.updated, again.unchanged, again.details["考生状态更新"]) == (0, 0, 2, 0)
    assert RegistrationRecord.objects.count() == 2
    moved = run("registrations", [["23510101000002", "2023-09-10"]])
    assert (moved.updated, moved.details["考生状态更新"]) == (1, 1)
    assert Candidate.objects.get(exam_number="23510101000002").enrolled_on == dt.date(2023, 9, 10)


@pytest.mark.sqlite
def test_withdrawals_mark_candidates_withdrawn(candidates_2023):
    result = run("withdrawals", [["23510101000003", "2023-07-20"]])
    assert result.committed
    c = Candidate.objects.get(exam_number="23510101000003")
    assert (c.withdrawn_on, c.status) == (dt.date(2023, 7, 20), CallbackStatus.WITHDRAWN)
    assert WithdrawalRecord.objects.get().candidate == c
    again = run("withdrawals", [["23510101000003", "2023-07-20"]])
    assert (again.created, again.unchanged, again.details["考生状态更新"]) == (0, 1, 0)


def test_records_imported_before_their_candidate_are_linked_on_reimport(policies_2023):
    run("registrations", [["23510101000001", "2023-09-08"]])
    assert RegistrationRecord.objects.get().candidate is None
    run("candidates", [candidate_row(1)])
    again = run("registrations", [["23510101000001", "2023-09-08"]])
    assert (again.updated, again.details["考生状态更新"]) == (1, 1)
    assert RegistrationRecord.objects.get().candidate.exam_number == "23510101000001"


def test_bad_payment_rows_change_nothing(candidates_2023):
    rows = [
        ["23510101000001", "2023-08-05", 3000],
        ["23510101000002", "2023-02-30", 100],
        ["23510101000003", "2023-08-05", "abc"],
    ]
    result = run("payments", rows)
    assert errors(result) == [
        "第3行「缴费日期」：日期无法识别：“2023-02-30”（应为 Excel 日期或 YYYY-MM-DD）",
        "第4行「金额」：金额无法识别：“abc”",
    ]
    assert PaymentRecord.objects.count() == 0
    assert Candidate.objects.filter(paid_on__isnull=False).count() == 0
