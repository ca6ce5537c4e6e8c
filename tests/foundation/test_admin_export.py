"""The admin's export buttons (django-import-export) on the office's main lists: xlsx in the import
formats plus 年度, ID numbers and phones masked, formulas escaped, office only, no admin import."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from import_export.admin import ImportMixin

from admissions.models import Candidate, PaymentRecord, RegistrationRecord, WithdrawalRecord
from callback_office.roles import Role
from callbacks.models import Caller, Team
from reports.models import ExportLog
from tests.factories import (
    CallerFactory,
    CandidateFactory,
    PhoneFactory,
    SeasonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

EXPORTED = [Candidate, Team, Caller, PaymentRecord, RegistrationRecord, WithdrawalRecord]


def url(model, what: str) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{what}")


def export(client, model, query: str = "") -> list[tuple]:
    """Open the export page, tick every column, post: the xlsx's rows."""
    page = client.get(url(model, "export") + query)
    assert page.status_code == 200
    form = page.context["form"]
    data = {"format": "0", "resource": "0"}
    data.update({name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)})
    response = client.post(url(model, "export") + query, data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def office_admin(client):
    client.force_login(UserFactory(username="office", roles=[Role.OFFICE], is_staff=True, is_superuser=True))
    return client


def test_export_only_never_import():
    for model in EXPORTED:
        model_admin = admin.site._registry[model]
        assert hasattr(model_admin, "export_action"), model
        assert not isinstance(model_admin, ImportMixin), model


def test_candidate_export_masks_personal_data_and_escapes_formulas(
    office_admin, django_assert_max_num_queries
):
    season = SeasonFactory(year=2023)
    cand = CandidateFactory(
        season=season,
        exam_number="23999999999999",
        name='=HYPERLINK("http://x")',
        id_number="510101200501019999",
    )
    PhoneFactory(candidate=cand, number="13812345678")
    for _ in range(5):
        PhoneFactory(candidate=CandidateFactory(season=season))

    html = office_admin.get(url(Candidate, "changelist")).content.decode()
    assert f'href="{url(Candidate, "export")}' in html  # the button

    with django_assert_max_num_queries(15):  # 12 + the export log (season, savepoint, insert)
        rows = export(office_admin, Candidate)
    header, *body = rows
    assert header[:4] == ("年度", "考生号", "姓名", "身份证号")
    assert "回访状态" in header and "手机" in header
    assert len(body) == 6
    row = next(r for r in body if r[1] == "23999999999999")
    assert row[0] == "2023"
    assert row[2] == '\'=HYPERLINK("http://x")'
    assert row[3] == "510101********9999"
    assert row[header.index("手机")] == "138****5678"
    assert row[header.index("回访状态")] == "未联系"
    flat = "".join(str(v) for r in body for v in r)
    assert "510101200501019999" not in flat and "13812345678" not in flat


def test_export_follows_the_changelist_filters_and_is_logged(office_admin):
    CandidateFactory(season=SeasonFactory(year=2022), exam_number="22000000000001")
    season = SeasonFactory(year=2023)
    CandidateFactory(season=season, exam_number="23000000000001")
    rows = export(office_admin, Candidate, f"?season__id__exact={season.pk}")
    assert [r[1] for r in rows[1:]] == ["23000000000001"]

    log = ExportLog.objects.get()
    assert (log.user.username, log.season, log.row_count, log.personal_data) == ("office", season, 1, True)
    assert log.what == f"后台导出：{Candidate._meta.verbose_name_plural}"
    assert log.filters == {"season__id__exact": str(season.pk)}


def test_team_caller_and_record_exports(office_admin):
    season = SeasonFactory(year=2023)
    tenth = TeamFactory(season=season, name="第十组", sort_order=10)
    second = TeamFactory(season=season, name="第二组", sort_order=2)
    leader = CallerFactory(season=season, team=second, staff_no="T002", name="王组长")
    second.leader = leader
    second.save()
    CallerFactory(season=season, team=tenth, staff_no="T010", name="李老师", phone="13900000000")
    PaymentRecord.objects.create(
        season=season, exam_number="23000000000009", paid_on="2023-08-01", amount="5200.00"
    )
    RegistrationRecord.objects.create(season=season, exam_number="23000000000009", registered_on="2023-09-08")

    teams = export(office_admin, Team)
    assert teams[0] == ("年度", "小组", "类型", "排序", "组长", "督查", "人数")
    assert [r[1] for r in teams[1:]] == ["第二组", "第十组"]
    assert teams[1][4] == "T002 王组长" and teams[1][6] == 1

    callers = export(office_admin, Caller)
    assert callers[0][:3] == ("年度", "工号", "姓名")
    t010 = next(r for r in callers[1:] if r[1] == "T010")
    assert t010[callers[0].index("小组")] == "第十组"

    payments = export(office_admin, PaymentRecord)
    assert payments == [
        ("年度", "考生号", "缴费日期", "金额"),
        ("2023", "23000000000009", "2023-08-01", "5200.00"),
    ]
    assert export(office_admin, RegistrationRecord)[0] == ("年度", "考生号", "报到日期")
    assert export(office_admin, WithdrawalRecord) == [("年度", "考生号", "退档日期")]


def test_only_the_office_may_export(client):
    """A staff user without the office role sees the list (admin permission) but no export."""
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_team"))
    client.force_login(clerk)
    response = client.get(url(Team, "changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{url(Team, "export")}' not in html
    assert client.get(url(Team, "export")).status_code == 403
    assert client.post(url(Team, "export"), {"format": "0"}).status_code == 403
