"""Role matrix: every URL of the site × eight roles.

The world (tests/security/world.py) is one season with two teams; every object in it belongs to
team 1's caller. Each URL is filled with those objects' ids (tests/security/urlmap.py; a URL
whose arguments are not mapped there fails the test, so a new URL must be added to the matrix).

Codes: L = redirect to the login page, R = another redirect, 405 = wrong method (change
endpoints take POST only). Out-of-scope roles (another team's caller, the supervisor of the
other team, the strike team outside its cases) get 403/404, never a 200 with team 1's data.
"""

from __future__ import annotations

import django_rq
import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rq.job import Job

from tests.security.urlmap import ARGS, QUERY, all_routes, skip_reason
from tests.security.world import EVIL_NAME, ID_NUMBER, PHONE, ROLES, World

pytestmark = pytest.mark.django_db

# url name: anonymous caller leader outsider supervisor other_supervisor strike office
GET_TABLE = """
home                                            L 200 200 200 200 200 200 200
casework:candidate_withdrawal                   L   R   R 404 404 404 404   R
casework:withdrawal_open                        L 405 405 405 405 405 405 405
casework:withdrawal_list                        L 403 200 403 403 403 403 200
casework:withdrawal_export                      L 403 403 403 403 403 403 200
casework:withdrawal_detail                      L 200 200 404 404 404 404 200
casework:material_upload                        L 405 405 405 405 405 405 405
casework:withdrawal_check                       L 405 405 405 405 405 405 405
casework:withdrawal_submit                      L 405 405 405 405 405 405 405
casework:withdrawal_complete                    L 405 405 405 405 405 405 405
casework:withdrawal_reject                      L 405 405 405 405 405 405 405
casework:withdrawal_return                      L 405 405 405 405 405 405 405
casework:material_file                          L 200 200 404 404 404 404 200
casework:material_remove                        L 405 405 405 405 405 405 405
casework:candidate_escalate                     L 200 200 404 404 404 404 200
casework:candidate_after_registration           L 405 405 405 405 405 405 405
casework:strike_board                           L 403 200 403 403 403 200 200
casework:strike_detail                          L 200 200 404 404 404 200 200
casework:strike_approve                         L 405 405 405 405 405 405 405
casework:strike_decline                         L 405 405 405 405 405 405 405
casework:strike_take                            L 405 405 405 405 405 405 405
casework:strike_close                           L 405 405 405 405 405 405 405
casework:strike_log_contact                     L 405 405 405 405 405 405 405
callbacks:my_candidates                         L 200 200 200 403 403 200 200
callbacks:pool                                  L 200 200 200 403 403 200 200
callbacks:pool_claim                          405 405 405 405 405 405 405 405
callbacks:report_create                       405 405 405 405 405 405 405 405
callbacks:candidate_detail                      L 200 200 404 200 404 404 200
callbacks:contact_create                      405 405 405 405 405 405 405 405
callbacks:followup_set                        405 405 405 405 405 405 405 405
callbacks:reveal_id_number                    405 405 405 405 405 405 405 405
callbacks:team                                  L 403 200 403 403 403 403 200
callbacks:ledger                                L 200 200 200 200 200 200 200
callbacks:ledger_caller                         L 200 200 404 200 404 404 200
callbacks:distribute                            L 403 403 403 403 403 403 200
supervision:home                                L 403 403 403 200 200 403 200
supervision:qualification                       L 403 403 403 200 200 403 200
supervision:qualification_review                L 403 403 403 405 405 403 405
supervision:coverage                            L 403 403 403 403 403 403 200
supervision:samples                             L 403 403 403 200 200 403 200
supervision:sample_new                          L 403 403 403 405 405 403 405
supervision:sample                              L 403 403 403 200 404 403 200
supervision:item                                L 403 403 403 200 404 403 200
supervision:item_score                          L 403 403 403 405 405 403 405
supervision:item_finding                        L 403 403 403 405 405 403 405
supervision:item_calibration                    L 403 403 403 403 403 403 405
supervision:contact_attachments                 L 200 200 404 200 404 404 200
supervision:attachment                          L 200 200 404 200 404 404 200
supervision:findings                            L 403 403 403 200 200 403 200
supervision:arbitration                         L 403 403 403 200 200 403 200
supervision:finding                             L 403 403 403 200 404 403 200
supervision:finding_verify                      L 403 403 403 405 405 403 405
supervision:finding_arbitrate                   L 403 403 403 405 405 403 405
supervision:my_findings                         L 200 200 200 403 403 200 403
supervision:my_finding_action                   L 405 405 405 403 403 405 403
supervision:scorecard                           L 403 403 403 403 403 403 200
supervision:calibration                         L 403 403 403 403 403 403 200
supervision:incidents                           L 403 403 403 200 200 403 200
supervision:noshow                              L 403 403 403 200 200 403 200
supervision:noshow_decide                       L 403 403 403 405 405 403 405
supervision:ledger_checks                       L 403 403 403 200 200 403 200
supervision:ledger                              L 403 403 403 200 200 403 200
subsidies:runs                                  L 403 403 403 403 403 403 200
subsidies:run_create                            L 403 403 403 403 403 403 405
subsidies:run_detail                            L 403 403 403 403 403 403 200
subsidies:run_approve                           L 403 403 403 403 403 403 405
subsidies:run_diff                              L 403 403 403 403 403 403 200
subsidies:run_download                          L 403 403 403 403 403 403 200
subsidies:statement                             L 200 404 404 404 404 404 200
subsidies:scheme_edit                           L 403 403 403 403 403 403 200
subsidies:deductions                            L 403 403 403 403 403 403 200
subsidies:inquiries                             L 403 403 403 403 403 403 200
subsidies:inquiry_answer                        L 403 403 403 403 403 403 405
subsidies:my_statement                          L 200 200 200 200 200 200 404
subsidies:inquiry_create                        L 405 405 405 405 405 405 405
reports:reconciliation                          L 403 403 403 403 403 403 200
reports:reconciliation_run_now                405 405 405 405 405 405 405 405
reports:reconciliation_upload                 405 405 405 405 405 405 405 405
reports:reconciliation_run                      L 403 403 403 403 403 403 200
reports:discrepancies                           L 200 200 200 200 200 200 200
reports:discrepancy_export                    405 405 405 405 405 405 405 405
reports:discrepancy_resolve                   405 405 405 405 405 405 405 405
reports:weekly_list                             L 403 200 403 403 403 403 200
reports:weekly_generate                       405 405 405 405 405 405 405 405
reports:weekly_detail                           L 403 200 403 403 403 403 200
reports:weekly_download                         L 403 200 403 403 403 403 200
reports:team_dashboard                          L 403 200 403 200 200 403 200
reports:office_dashboard                        L 403 403 403 403 403 403 200
reports:supervisor_dashboard                    L 403 403 403 200 200 403 200
reports:drilldown                               L 403 200 403 200 200 403 200
reports:province_report                         L 403 403 403 403 403 403 200
reports:export_log                              L 403 403 403 403 403 403 200
job_page                                        L 200 404 404 404 404 404 200
job_download                                    L 404 404 404 404 404 404 404
imports:index                                   L 403 403 403 403 403 403 200
imports:preview                                 L 403 403 403 403 403 403 405
imports:confirm                                 L 403 403 403 403 403 403 405
imports:template                                L 403 403 403 403 403 403 200
imports:job_result                              L 403 403 403 403 403 403   R
imports:export                                  L 403 403 403 403 403 403 200
audit_log                                       L 403 403 403 403 403 403 200
help:index                                      L   R   R   R   R   R   R   R
help:page                                       L 200 200 200 200 200 200 200
help:image                                      L 200 200 200 200 200 200 200
pii_log                                         L 403 403 403 403 403 403 200
accounts:password_links                         L 403 403 403 403 403 403 200
accounts:password_link                          L 403 403 403 403 403 403 405
accounts:password_links_all                     L 403 403 403 403 403 403 405
accounts:password_links_team                    L 403 403 403 403 403 403 405
accounts:password_set                         200 200 200 200 200 200 200 200
accounts:password_set_done                    200 200 200 200 200 200 200 200
"""

# Change endpoints: POST by each role that must be refused, with what it gets; nothing may change.
# "-": the role may change the object (covered by the apps' own tests). "R": refused by the service
# with a message (the leader on a finding of a team member), checked to change nothing.
POST_TABLE = """
casework:candidate_withdrawal                   L   -   - 404 404 404 404   -
casework:withdrawal_open                        L   -   - 404 404 404 404   -
casework:material_upload                        L   -   - 404 404 404 404   -
casework:withdrawal_check                       L 403   - 404 404 404 404   -
casework:withdrawal_submit                      L 403 403 404 404 404 404   -
casework:withdrawal_complete                    L   -   - 404 404 404 404   -
casework:withdrawal_reject                      L 403   - 404 404 404 404   -
casework:withdrawal_return                      L 403 403 404 404 404 404   -
casework:material_remove                        L   -   - 404 404 404 404   -
casework:candidate_escalate                     L   -   - 404 404 404 404   -
casework:candidate_after_registration           L 403   - 404 404 404 404   -
casework:strike_approve                         L 403   - 404 404 404 403   -
casework:strike_decline                         L 403   - 404 404 404 403   -
casework:strike_take                            L 403 403 404 404 404   - 403
casework:strike_close                           L   -   - 404 404 404   -   -
casework:strike_log_contact                     L 404 404 404 404 404 404 404
callbacks:pool_claim                            L   -   -   - 403 403   - 403
callbacks:report_create                         L   -   -   - 403 403   - 403
callbacks:contact_create                        L   - 403 404 403 404 404 403
callbacks:followup_set                          L   - 403 404 403 404 404 403
callbacks:reveal_id_number                      L   - 403 404 403 404 404   -
callbacks:distribute                            L 403 403 403 403 403 403   -
supervision:qualification_review                L 403 403 403   - 404 403   -
supervision:sample_new                          L 403 403 403   -   - 403 403
supervision:item                                L 403 403 403   - 404 403   -
supervision:item_score                          L 403 403 403   - 404 403 403
supervision:item_finding                        L 403 403 403   - 404 403 403
supervision:item_calibration                    L 403 403 403 403 403 403   -
supervision:contact_attachments                 L   -   - 404   - 404 404   -
supervision:finding_verify                      L 403 403 403   - 404 403 403
supervision:finding_arbitrate                   L 403 403 403   - 404 403   -
supervision:my_finding_action                   L   -   R 404 403 403 404 403
supervision:scorecard                           L 403 403 403 403 403 403   -
supervision:incidents                           L 403 403 403   -   - 403   -
supervision:noshow_decide                       L 403 403 403   - 404 403   -
supervision:ledger_checks                       L 403 403 403   - 404 403 403
subsidies:run_create                            L 403 403 403 403 403 403   -
subsidies:run_approve                           L 403 403 403 403 403 403   -
subsidies:scheme_edit                           L 403 403 403 403 403 403   -
subsidies:deductions                            L 403 403 403 403 403 403   -
subsidies:inquiry_answer                        L 403 403 403 403 403 403   -
subsidies:inquiry_create                        L   - 404 404 404 404 404 404
reports:reconciliation_run_now                  L 403 403 403 403 403 403   -
reports:reconciliation_upload                   L 403 403 403 403 403 403   -
reports:discrepancy_resolve                     L   -   - 404 403 404 404   -
reports:weekly_generate                         L 403 403 403 403 403 403   -
imports:preview                                 L 403 403 403 403 403 403   -
imports:confirm                                 L 403 403 403 403 403 403   -
accounts:password_link                          L 403 403 403 403 403 403   -
accounts:password_links_all                     L 403 403 403 403 403 403   -
accounts:password_links_team                    L 403 403 403 403 403 403   -
accounts:password_set                         200 200 200 200 200 200 200 200
"""

# Roles that see team 1's candidate by design on these pages (the strike team on its cases).
BY_DESIGN = {
    ("strike", "casework:strike_board"),
    ("strike", "casework:strike_detail"),
}
OUT_OF_SCOPE = ("outsider", "other_supervisor", "strike")
# Who may see the full ID number and phone of team 1's candidate on a screen.
FULL_PII = ("caller", "office")
DATA_APPS = ("admissions", "callbacks", "supervision", "subsidies", "reports")


def parse(table: str) -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in table.strip().splitlines():
        name, *codes = line.split()
        rows[name] = tuple(codes)
    return rows


def code_of(response) -> str:
    if response.status_code == 302:
        return "L" if response["Location"].startswith("/accounts/login/") else "R"
    return str(response.status_code)


def objects_of(world: World) -> dict:
    o = dict(world.objects)
    o["caller"] = world.callers["caller"]
    job = Job.create(
        func=len,
        args=([],),
        connection=django_rq.get_connection("default"),
        meta={"owner_id": world.users["caller"].pk, "label": "测试"},
    )
    job.save()
    o["job_id"] = job.id
    return o


def url_of(route, o) -> str:
    if route.kwargs:
        assert route.name in ARGS, f"{route.pattern} ({route.name}): add its arguments to urlmap.ARGS"
        return reverse(route.name, kwargs=ARGS[route.name](o)) + QUERY.get(route.name, "")
    return reverse(route.name) + QUERY.get(route.name, "")


def routes():
    return [r for r in all_routes() if not skip_reason(r)]


def fingerprint() -> str:
    """One hash over every row of the apps' tables (one query)."""
    tables = [
        model._meta.db_table
        for label in DATA_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    ]
    parts = " || ".join(
        f"(SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM \"{t}\" t)"
        for t in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT md5({parts})")
        return cursor.fetchone()[0]


def body_of(response) -> str:
    if response.get("Content-Type", "").startswith("text/html"):
        return response.content.decode("utf-8", "replace")
    return ""


def test_every_url_is_in_the_matrix():
    named = [r for r in routes()]
    assert all(r.name for r in named), [r.pattern for r in named if not r.name]
    missing = sorted(r.name for r in named if r.name not in parse(GET_TABLE))
    assert missing == [], f"add these URLs to GET_TABLE: {missing}"
    unmapped = sorted(r.name for r in named if r.kwargs and r.name not in ARGS)
    assert unmapped == [], f"add their arguments to urlmap.ARGS: {unmapped}"


def test_get_matrix(world, client, redis_db):
    expected = parse(GET_TABLE)
    o = objects_of(world)
    cand = o["candidate"]
    markers = (cand.exam_number, escape(EVIL_NAME))
    actual: dict[str, tuple[str, ...]] = {}
    leaks, pii = [], []
    for route in routes():
        url = url_of(route, o)
        row = []
        for role in ROLES:
            client.logout()
            if world.users[role] is not None:
                client.force_login(world.users[role])
            response = client.get(url)
            row.append(code_of(response))
            body = body_of(response) if response.status_code == 200 else ""
            if role in OUT_OF_SCOPE and (role, route.name) not in BY_DESIGN:
                leaks += [(route.name, role, m) for m in markers if m in body]
            if role not in FULL_PII:
                pii += [(route.name, role, m) for m in (ID_NUMBER, PHONE) if m in body]
            elif ID_NUMBER in body:  # masked on every screen; revealed only by a logged POST
                pii.append((route.name, role, ID_NUMBER))
        actual[route.name] = tuple(row)
    table = "\n".join(f"{n:45} {' '.join(f'{c:>3}' for c in codes)}" for n, codes in actual.items())
    assert actual == {n: expected.get(n) for n in actual}, "actual matrix:\n" + table
    assert leaks == []
    assert pii == []


def test_post_matrix(world, redis_db):
    o = objects_of(world)
    table = parse(POST_TABLE)
    by_name = {r.name: r for r in routes()}
    client = Client()
    payload = {
        "contacted_at": "2023-07-20T10:00",
        "outcome": "connected",
        "intent": "none",
        "channel": "phone",
        "duration": "5",
        "note": "x",
        "reason": "x",
        "text": "x",
        "answer": "x",
        "question": "x",
        "result": "enrolled",
        "result_note": "x",
        "count": "1",
        "confirmed": "1",
    }
    got = {}
    checks = 0
    before = fingerprint()
    for name, codes in table.items():
        url = url_of(by_name[name], o)
        row = []
        for role, want in zip(ROLES, codes, strict=True):
            if want == "-":
                row.append("-")
                continue
            client.logout()
            if world.users[role] is not None:
                client.force_login(world.users[role])
            response = client.post(url, payload)
            after = fingerprint()
            changed, before = after != before, after
            row.append(code_of(response) + ("*" if changed else ""))
            checks += 1
        got[name] = tuple(row)
    text = "\n".join(f"{n:45} {' '.join(f'{c:>3}' for c in codes)}" for n, codes in got.items())
    assert got == table, "actual:\n" + text
    assert checks > 0
    # the hash does see a change: the office resolving the discrepancy moves it
    client.force_login(world.users["office"])
    client.post(url_of(by_name["reports:discrepancy_resolve"], o))
    assert fingerprint() != before


def test_admin_is_staff_only(world, client):
    """The admin and the RQ dashboard (skipped by the matrix): every role but the office's staff
    users is sent to the admin login; nobody gets a page."""
    urls = [
        reverse("admin:index"),
        reverse("admin:admissions_candidate_changelist"),
        reverse("admin:callbacks_contactlog_changelist"),
        reverse("admin:auditlog_logentry_changelist"),
        "/admin/rq/",
    ]
    for role in ROLES:
        if role == "office":
            continue
        client.logout()
        if world.users[role] is not None:
            client.force_login(world.users[role])
        for url in urls:
            response = client.get(url)
            assert response.status_code in (302, 403, 404), (role, url, response.status_code)
            if response.status_code == 302:
                assert "/login/" in response["Location"], (role, url)
    client.force_login(world.users["office"])
    assert client.get(reverse("admin:index")).status_code == 200
