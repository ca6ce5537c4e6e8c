"""The caller's hot request paths (issue 8): "my candidates", logging a contact, claiming.

They render table rows and form fields without the template engine's per-node cost, cache the
HTML of forms that do not change, and read the holder's candidate in one query. These tests pin
what that must not change: the same cells and escaping, the right phones in the right form, the
same checks, and a query count that does not grow.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callbacks.choices import Intent, Outcome
from callbacks.models import Assignment, ContactLog
from callbacks.selectors import candidate_held_by, pool_size
from callbacks.services import assignment_claim, contact_log
from tests.factories import AssignmentFactory, CandidateFactory, ContactFactory, PhoneFactory, ProvinceFactory
from tests.workspace.test_views import contact_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_caller(client, caller):
    client.force_login(caller.user)
    return client


def held(caller, **kw):
    return AssignmentFactory(caller=caller, candidate=CandidateFactory(season=caller.season, **kw)).candidate


def panel_post(client, candidate, **overrides):
    return client.post(
        reverse("callbacks:contact_create", args=[candidate.pk]),
        contact_post(**overrides),
        HTTP_HX_REQUEST="true",
    )


# --- my candidates ------------------------------------------------------------------------------


def test_my_candidates_rows_escape_and_show_every_cell(as_caller, caller, sichuan):
    now = timezone.now()
    c = held(
        caller,
        province=sichuan,
        name="<b>王</b>&一",
        status=CallbackStatus.HESITANT,
        contact_count=3,
        contact_seconds=150,
        last_contact_at=now - dt.timedelta(hours=2),
        paid_on=dt.date(2026, 8, 1),
        masters_track_interest=True,
    )
    due = now - dt.timedelta(hours=1)
    Assignment.objects.filter(candidate=c).update(next_call_at=due)
    html = as_caller.get(reverse("callbacks:my_candidates")).content.decode()
    row = html[html.index('<tr class="due">') : html.index("</tr>", html.index('<tr class="due">'))]
    assert "&lt;b&gt;王&lt;/b&gt;&amp;一" in row and "<b>王</b>" not in html
    assert f'href="/callbacks/candidates/{c.pk}/"' in row
    assert f"<td>{c.exam_number}</td>" in row and "<td>四川</td>" in row
    assert '<span class="tag">劝来</span>' in row
    assert "<td>第二阶段 集中突破</td>" in row
    assert '<span class="tag status-hesitant">考虑中·犹豫</span>' in row
    assert f"<td>{timezone.localtime(c.last_contact_at):%m-%d %H:%M}</td>" in row
    assert '<td class="num">3</td><td class="num">2.5</td>' in row
    assert '<span class="tag ok">已缴费</span>' in row and "<td>—</td>" in row  # paid, not enrolled
    assert "<td>有</td>" in row
    assert f'<span class="tag warn">{timezone.localtime(due):%m-%d %H:%M}</span>' in row


def test_my_candidates_in_english(client, caller, sichuan):
    held(caller, province=sichuan, status=CallbackStatus.CONFIRMED, contact_count=1)
    client.force_login(caller.user)
    html = client.get(reverse("callbacks:my_candidates"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("callbacks:my_candidates"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "确认就读" in chinese and "第三阶段 最终确认" in chinese
    assert "确认就读" not in html and "第三阶段 最终确认" not in html  # rows and filters both follow


def test_filter_fields_follow_the_provinces_and_the_chosen_values(as_caller, caller, season):
    url = reverse("callbacks:my_candidates")
    assert "新疆" not in as_caller.get(url).content.decode()
    ProvinceFactory(season=season, province="新疆")
    assert "新疆" in as_caller.get(url).content.decode()  # cached per province list: shows at once
    html = as_caller.get(url + "?status=hesitant").content.decode()
    assert '<option value="hesitant" selected>' in html
    assert '<option value="hesitant" selected>' not in as_caller.get(url).content.decode()


def test_my_candidates_counts_only_when_the_first_page_is_full(as_caller, caller, django_assert_num_queries):
    url = reverse("callbacks:my_candidates")
    for _ in range(3):
        held(caller)
    as_caller.get(url)  # warm caches (content types, filter fields)
    with django_assert_num_queries(6):  # session, user, roles, caller+season+team, provinces, rows
        response = as_caller.get(url)
    assert response.context["page"].paginator.count == 3
    assert "共 3 名" in response.content.decode()


def test_my_candidates_first_page_of_a_long_list_still_counts(as_caller, caller):
    for _ in range(101):
        held(caller)
    response = as_caller.get(reverse("callbacks:my_candidates"))
    page = response.context["page"]
    assert (len(page.object_list), page.paginator.count, page.has_next()) == (100, 101, True)
    assert response.content.decode().count("<tr><td><a href=") == 100


# --- logging a contact ----------------------------------------------------------------------------


def test_log_contact_in_eleven_queries(as_caller, caller, mine, django_assert_num_queries):
    panel_post(as_caller, mine, new_phone_1="")  # warm caches (content types, form HTML)
    with django_assert_num_queries(11):
        response = panel_post(as_caller, mine, new_phone_1="")
    assert response.status_code == 200
    assert ContactLog.objects.filter(candidate=mine).count() == 2


def test_a_status_move_costs_one_audit_insert_in_the_same_transaction(
    as_caller, caller, mine, django_assert_num_queries
):
    from auditlog.models import LogEntry

    panel_post(as_caller, mine, new_phone_1="", intent="none", outcome="no_answer")  # warm caches
    Candidate.objects.filter(pk=mine.pk).update(status=CallbackStatus.HESITANT)
    with django_assert_num_queries(12) as captured:
        panel_post(as_caller, mine, new_phone_1="")  # 犹豫 → 确认就读
    statements = [q["sql"] for q in captured.captured_queries]
    insert = next(i for i, sql in enumerate(statements) if 'INSERT INTO "auditlog_logentry"' in sql)
    commit_or_release = [
        i for i, sql in enumerate(statements) if "RELEASE SAVEPOINT" in sql or "COMMIT" in sql
    ]
    assert not commit_or_release or insert < commit_or_release[-1]  # written before the commit
    entry = LogEntry.objects.get_for_object(mine).latest("timestamp")
    assert entry.changes_dict == {"status": [CallbackStatus.HESITANT, CallbackStatus.CONFIRMED]}
    assert entry.actor_id == caller.user_id


def test_log_contact_panel_shows_the_summary_written_under_the_lock(as_caller, caller, mine):
    ContactFactory(candidate=mine, caller=caller)
    Candidate.objects.filter(pk=mine.pk).update(contact_count=5, contact_seconds=600)
    html = panel_post(as_caller, mine, new_phone_1="").content.decode()
    assert "回访 6 次，共 14.5 分钟" in html  # 600 s + 4 min 30 s read under the lock, not re-read
    assert '<span class="tag status-confirmed" id="candidate-status">确认就读</span>' in html
    mine.refresh_from_db()
    assert (mine.contact_count, mine.contact_seconds, mine.status) == (6, 870, CallbackStatus.CONFIRMED)


def test_log_contact_panel_drops_a_due_follow_up(as_caller, caller, mine):
    Assignment.objects.filter(candidate=mine).update(next_call_at=timezone.now() - dt.timedelta(hours=1))
    html = panel_post(as_caller, mine, new_phone_1="").content.decode()
    assert 'id="next-call"' not in html
    assert Assignment.objects.get(candidate=mine).next_call_at is None


def test_log_contact_panel_keeps_a_follow_up_not_yet_due(as_caller, caller, mine):
    later = timezone.localtime(timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    Assignment.objects.filter(candidate=mine).update(next_call_at=later)
    html = panel_post(as_caller, mine, new_phone_1="").content.decode()
    assert f'id="next-call">{later:%Y-%m-%d %H:%M}<' in html
    assert Assignment.objects.get(candidate=mine).next_call_at == later


def test_log_contact_panel_lists_a_number_added_with_the_contact(as_caller, caller, mine):
    PhoneFactory(candidate=mine, number="13800000001")
    html = panel_post(as_caller, mine, new_phone_1="13900000009").content.decode()
    assert 'href="tel:13800000001"' in html and 'href="tel:13900000009"' in html
    assert '<option value="13900000009">' in html  # and in the form's phone select


def test_each_candidate_gets_its_own_phones_in_the_cached_form(as_caller, caller, mine, sichuan):
    other = held(caller, province=sichuan)
    PhoneFactory(candidate=mine, number="13800000001")
    PhoneFactory(candidate=other, number="13800000002")
    first = as_caller.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    second = as_caller.get(reverse("callbacks:candidate_detail", args=[other.pk])).content.decode()
    fragment = panel_post(as_caller, other, new_phone_1="").content.decode()
    assert '<option value="13800000001">' in first and "13800000002" not in first
    assert '<option value="13800000002">' in second and "13800000001" not in second
    assert '<option value="13800000002">' in fragment and "13800000001" not in fragment
    for html in (first, second, fragment):
        assert html.count('name="outcome"') == 1 and html.count('name="new_phone_1"') == 1
    assert fragment.count('name="csrfmiddlewaretoken"') == 1  # rendered without the request context


def test_the_fragments_csrf_token_lets_the_next_contact_through(caller, mine):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caller.user)
    page = client.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    url = reverse("callbacks:contact_create", args=[mine.pk])
    for _ in range(2):
        token = re.search(
            r'id="contact-form".*?name="csrfmiddlewaretoken" value="([^"]+)"', page, re.S
        ).group(1)
        response = client.post(
            url, {**contact_post(new_phone_1=""), "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        page = response.content.decode()
    assert ContactLog.objects.filter(candidate=mine).count() == 2


def test_a_rejected_contact_keeps_what_was_typed(as_caller, caller, mine):
    html = panel_post(as_caller, mine, notes="家长说再考虑", duration_minutes="241").content.decode()
    assert "通话时长不能超过 4 小时，请检查。" in html
    assert "家长说再考虑</textarea>" in html  # the bound form is rendered, not the cached blank one
    assert ContactLog.objects.count() == 0


def test_history_rows_escape_notes_and_hide_new_numbers_from_the_leader(client, caller, leader, mine):
    ContactFactory(
        candidate=mine,
        caller=caller,
        notes="<script>x</script>\n第二行",
        new_numbers="13900000009",
        duration_seconds=185,
        outcome=Outcome.CONNECTED,
        intent=Intent.HESITANT,
        risk_signals=["tuition"],
    )
    client.force_login(caller.user)
    own = client.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;<br>第二行" in own and "<script>x</script>" not in own
    assert "3分05秒" in own and "嫌学费贵" in own and "考虑中·犹豫" in own
    assert "新号码：13900000009" in own
    client.force_login(leader.user)
    team = client.get(reverse("callbacks:candidate_detail", args=[mine.pk])).content.decode()
    assert "新号码：（已隐藏）" in team and "13900000009" not in team


def test_held_candidate_is_only_the_callers_active_one(caller, outsider, mine):
    assert candidate_held_by(caller=caller, pk=mine.pk) == mine
    assert candidate_held_by(caller=outsider, pk=mine.pk) is None
    Assignment.objects.filter(candidate=mine).update(active=False)
    assert candidate_held_by(caller=caller, pk=mine.pk) is None


def test_the_service_refuses_a_non_holder_before_checking_the_fields(outsider, mine):
    with pytest.raises(ValidationError) as exc:
        contact_log(
            caller=outsider,
            candidate=mine,
            contacted_at=timezone.now() + dt.timedelta(days=1),  # invalid too
            outcome=Outcome.CONNECTED,
        )
    assert exc.value.messages == ["只有负责该考生的回访员可以记录回访。"]
    assert ContactLog.objects.count() == 0


def test_the_service_brings_the_candidate_up_to_date_in_place(caller, mine):
    earlier = timezone.now() - dt.timedelta(days=1)
    Candidate.objects.filter(pk=mine.pk).update(contact_count=2, contact_seconds=100, last_contact_at=earlier)
    older = earlier - dt.timedelta(days=1)  # logged late: last_contact_at stays
    contact_log(
        caller=caller,
        candidate=mine,
        contacted_at=older,
        outcome=Outcome.CONNECTED,
        duration_seconds=20,
        masters_track_interest=True,
    )
    fresh = Candidate.objects.get(pk=mine.pk)
    for field in ("status", "contact_count", "contact_seconds", "last_contact_at", "masters_track_interest"):
        assert getattr(mine, field) == getattr(fresh, field), field
    assert (fresh.contact_count, fresh.contact_seconds, fresh.last_contact_at) == (3, 120, earlier)


# --- the pool -------------------------------------------------------------------------------------


def test_pool_size_counts_the_flag_and_claims_keep_it_exact(caller, season):
    for _ in range(4):
        CandidateFactory(season=season, in_pool=True)
    CandidateFactory(season=season)  # not released
    assert pool_size(season=season) == 4
    assignment_claim(caller=caller, count=3)
    assert pool_size(season=season) == 1


def test_claim_over_http_takes_the_same_queries_for_one_and_for_ten(as_caller, caller, season):
    """The claim's statements do not grow with the count: one pool query (FOR UPDATE SKIP LOCKED
    … LIMIT n), one INSERT of the assignments, one UPDATE of the pool flags, one audit INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(12):
        CandidateFactory(season=season, in_pool=True)
    url = reverse("callbacks:pool_claim")
    as_caller.post(url, {"count": 1})  # warm caches (content types, the prepared pool query)
    counts = []
    for n in (1, 10):
        with CaptureQueriesContext(connection) as ctx:
            response = as_caller.post(url, {"count": n})
        assert response.status_code == 302 and response.url == reverse("callbacks:my_candidates")
        counts.append(len(ctx.captured_queries))
    assert Assignment.objects.filter(caller=caller, active=True).count() == 12
    # session, user, roles, caller, the caller's reports (报备), then in the transaction (here
    # savepoints): the pool, the assignments' INSERT (in its own savepoint), the pool flags'
    # UPDATE, the audit entries' INSERT
    assert counts == [13, 13]
