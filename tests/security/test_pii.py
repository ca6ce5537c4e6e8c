"""Personal data on screens: ID numbers masked for everyone; the office and the assigned caller
reveal the full number with an explicit, logged POST; full phone numbers (tel: links) shown to
them are logged once per page view; the office reads the log."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from admissions.models import PiiAccessLog, PiiField
from callback_office.privacy import mask_id_number
from reports.models import ExportLog
from tests.security.world import ID_NUMBER, PHONE

pytestmark = pytest.mark.django_db

MASKED_ID = mask_id_number(ID_NUMBER)
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, world, role):
    client.force_login(world.users[role])
    return world.users[role]


def page_url(world) -> str:
    return reverse("callbacks:candidate_detail", args=[world.objects["candidate"].pk])


def reveal_url(world) -> str:
    return reverse("callbacks:reveal_id_number", args=[world.objects["candidate"].pk])


@pytest.mark.parametrize("role", ["caller", "office"])
def test_page_masks_the_id_number_and_logs_the_full_phones(
    client, world, role, django_assert_max_num_queries
):
    user = login(client, world, role)
    with django_assert_max_num_queries(30):
        html = client.get(page_url(world)).content.decode()
    assert ID_NUMBER not in html
    assert MASKED_ID in html
    assert "显示完整身份证号" in html and 'id="reveal-id-form"' in html
    assert f'href="tel:{PHONE}"' in html
    log = PiiAccessLog.objects.get()
    assert (log.user, log.candidate, log.field, log.path) == (
        user,
        world.objects["candidate"],
        PiiField.PHONES,
        page_url(world),
    )
    client.get(page_url(world))
    assert PiiAccessLog.objects.filter(field=PiiField.PHONES).count() == 2  # one row per page view


def test_the_page_view_log_is_one_insert(client, world):
    """The log costs exactly one query on the candidate page."""
    login(client, world, "caller")
    client.get(page_url(world))  # warm up (session, caches)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(page_url(world))
    inserts = [q["sql"] for q in ctx.captured_queries if "admissions_piiaccesslog" in q["sql"]]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT")


@pytest.mark.parametrize("role", ["caller", "office"])
def test_reveal_by_htmx_answers_the_full_number_and_logs_it(
    client, world, role, django_assert_max_num_queries
):
    user = login(client, world, role)
    with django_assert_max_num_queries(12):
        response = client.post(reveal_url(world), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert ID_NUMBER in html
    assert html.lstrip().startswith('<div id="id-number">')  # the fragment, not a page
    log = PiiAccessLog.objects.get(field=PiiField.ID_NUMBER)
    assert (log.user, log.candidate_id, log.path) == (user, world.objects["candidate"].pk, reveal_url(world))
    assert log.created_at is not None


def test_reveal_without_javascript_shows_a_page(client, world):
    login(client, world, "caller")
    response = client.post(reveal_url(world))
    html = response.content.decode()
    assert response.status_code == 200 and ID_NUMBER in html and "返回考生页" in html
    assert PiiAccessLog.objects.filter(field=PiiField.ID_NUMBER).count() == 1


def test_reveal_is_a_post(client, world):
    login(client, world, "caller")
    assert client.get(reveal_url(world)).status_code == 405
    assert PiiAccessLog.objects.count() == 0


@pytest.mark.parametrize(
    ("role", "code"),
    [("leader", 403), ("supervisor", 403), ("outsider", 404), ("other_supervisor", 404), ("strike", 404)],
)
def test_others_may_not_reveal_and_their_page_views_log_nothing(client, world, role, code):
    login(client, world, role)
    response = client.post(reveal_url(world), **HTMX)
    assert response.status_code == code
    assert ID_NUMBER not in response.content.decode()
    page = client.get(page_url(world))
    if page.status_code == 200:
        html = page.content.decode()
        assert ID_NUMBER not in html and PHONE not in html
        assert "显示完整身份证号" not in html
    assert PiiAccessLog.objects.count() == 0


def test_anonymous_is_sent_to_login(client, world):
    response = client.post(reveal_url(world))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert PiiAccessLog.objects.count() == 0


def test_strike_detail_with_full_phones_is_logged(client, world):
    """The office on a strike case sees the full phones: logged like the candidate page."""
    user = login(client, world, "office")
    url = reverse("casework:strike_detail", args=[world.objects["strike_case"].pk])
    html = client.get(url).content.decode()
    assert PHONE in html
    assert PiiAccessLog.objects.filter(user=user, field=PiiField.PHONES, path=url).count() == 1
    login(client, world, "strike")  # the strike team before taking the case: masked, nothing logged
    assert PHONE not in client.get(url).content.decode()
    assert PiiAccessLog.objects.count() == 1


def test_the_office_reads_the_log(client, world, django_assert_max_num_queries):
    login(client, world, "caller")
    client.post(reveal_url(world), **HTMX)
    client.get(page_url(world))
    office = login(client, world, "office")
    with django_assert_max_num_queries(8):
        html = client.get(reverse("pii_log")).content.decode()
    exam = world.objects["candidate"].exam_number
    row = f"<td>{exam}</td>"
    assert html.count(row) == 2
    assert "c1001" in html and "身份证号" in html and "电话号码" in html
    assert ID_NUMBER not in html and PHONE not in html  # the log holds no personal data
    html = client.get(reverse("pii_log") + "?user=c1001&exam_number=" + exam).content.decode()
    assert html.count(row) == 2
    assert client.get(reverse("pii_log") + "?user=nobody").content.decode().count(row) == 0
    assert reverse("pii_log") in client.get(reverse("audit_log")).content.decode()
    assert office.is_staff
    assert client.get(reverse("admin:admissions_piiaccesslog_changelist")).status_code == 200
    log = PiiAccessLog.objects.first()
    change = reverse("admin:admissions_piiaccesslog_change", args=[log.pk])
    client.post(change, {"field": "phones", "path": "/forged/"})
    log.refresh_from_db()
    assert log.path != "/forged/"  # read-only in the admin
    login(client, world, "caller")
    assert client.get(reverse("pii_log")).status_code == 403


def test_office_lists_mask_on_screen_but_export_in_full_and_logged(client, world):
    """Drill-down and province lists show masked ID numbers even to the office; the Excel export
    carries the full number and is logged in ExportLog."""
    login(client, world, "office")
    url = reverse("reports:drilldown") + "?status=hesitant"
    html = client.get(url).content.decode()
    assert world.objects["candidate"].exam_number in html
    assert ID_NUMBER not in html and MASKED_ID in html
    province = reverse("reports:province_report") + "?province=河南"
    html = client.get(province).content.decode()
    assert ID_NUMBER not in html
    response = client.get(url + "&format=xlsx")
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    cells = {str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    assert ID_NUMBER in cells
    log = ExportLog.objects.get()
    assert log.personal_data and log.user == world.users["office"]


def test_the_admin_masks_lists_and_logs_change_forms(client, world):
    """The office's admin: phone and prospect-report lists masked; a candidate's (or a phone's)
    change form shows the full values and is logged like a reveal."""
    from callbacks.models import ProspectReport

    office = world.users["office"]
    office.is_superuser = True
    office.save()
    client.force_login(office)
    cand = world.objects["candidate"]
    ProspectReport.objects.create(
        season=world.season, caller=world.callers["caller"], exam_number="", id_number=ID_NUMBER, name="x"
    )
    for url in (
        reverse("admin:admissions_candidatephone_changelist"),
        reverse("admin:callbacks_prospectreport_changelist"),
        reverse("admin:admissions_candidate_changelist"),
    ):
        html = client.get(url).content.decode()
        assert ID_NUMBER not in html and PHONE not in html, url
    assert PiiAccessLog.objects.count() == 0
    page = client.get(reverse("admin:admissions_candidate_change", args=[cand.pk]))
    assert page.status_code == 200 and ID_NUMBER in page.content.decode()
    assert sorted(PiiAccessLog.objects.values_list("field", flat=True)) == ["id_number", "phones"]
    phone = cand.phones.get()
    client.get(reverse("admin:admissions_candidatephone_change", args=[phone.pk]))
    assert PiiAccessLog.objects.filter(field=PiiField.PHONES, candidate=cand).count() == 2
    assert client.get(reverse("admin:admissions_candidate_change", args=[999999])).status_code == 302
    assert PiiAccessLog.objects.count() == 3  # a missing object logs nothing
