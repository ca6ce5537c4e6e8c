"""The demo season: its invariants, its logins, and the seed_demo command."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max, Min, Q, Sum
from django.test import override_settings
from django.utils import timezone

from admissions.choices import AdmissionType, CallbackStatus, Level
from admissions.models import (
    Candidate,
    CandidatePhone,
    PaymentRecord,
    ProvincePolicy,
    RegistrationRecord,
    Season,
    WithdrawalRecord,
)
from callback_office.roles import Role, roles_of
from callbacks.choices import AssignmentSource, Intent, Outcome, QualificationStatus, TeamKind
from callbacks.demo import (
    DEMO_PASSWORD,
    OFFICE_USERNAME,
    DemoOptions,
    demo_logins,
    demo_season_delete,
    demo_season_exists,
    demo_season_generate,
    id_check_digit,
)
from callbacks.models import Assignment, Attendance, Caller, ContactLog, ProspectReport, Team
from supervision.models import Incident
from tests.demo import seeders
from tests.demo.conftest import SMALL

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

STATUS_OF_INTENT = {
    Intent.CONFIRMED: {CallbackStatus.CONFIRMED},
    Intent.HESITANT: {CallbackStatus.HESITANT},
    Intent.REFUSED: {CallbackStatus.REFUSED},
    Intent.WANTS_WITHDRAWAL: {CallbackStatus.WITHDRAWAL_REQUESTED, CallbackStatus.WITHDRAWN},
}


def tiny(year: int, seed: int = 7) -> DemoOptions:
    """A season small enough to generate inside one test."""
    return DemoOptions(candidates=40, callers=6, teams=1, year=year, seed=seed, previous_season=False)


@pytest.fixture
def no_seeders():
    """Only the core demo (the apps' seeders are tested on their own, below)."""
    with override_settings(DEMO_SEEDERS=[]):
        yield


@pytest.fixture
def season(demo):
    return Season.objects.get(year=SMALL.year)


def test_season_dates_and_previous_season(demo, season):
    assert (season.admission_start, season.admission_end) == (dt.date(2023, 7, 10), dt.date(2023, 8, 10))
    assert season.payment_close == dt.date(2023, 9, 1)
    assert season.registration_date == dt.date(2023, 9, 8)
    previous = Season.objects.get(year=2022)
    assert Candidate.objects.filter(season=previous).count() == 270
    assert Candidate.objects.filter(season=previous, enrolled_on__isnull=False).count() > 200
    assert set(Candidate.objects.filter(season=previous).values_list("status", flat=True)) >= {
        CallbackStatus.CONFIRMED,
        CallbackStatus.WITHDRAWN,
    }
    assert demo.counts["candidates"] == 300
    assert demo.counts["previous_candidates"] == 270


def test_provinces_have_both_policies(season):
    policies = ProvincePolicy.objects.filter(season=season)
    assert policies.count() >= 20
    assert policies.filter(withdrawable=True).exists()
    assert policies.filter(withdrawable=False).exists()
    assert policies.filter(phones_shielded=True).exists()
    assert policies.filter(new_gaokao=True).exists()
    sichuan = policies.get(province="四川")
    assert (sichuan.withdrawable, sichuan.phones_shielded, sichuan.new_gaokao) == (False, False, False)


def test_candidates_look_real(season):
    candidates = Candidate.objects.filter(season=season)
    assert candidates.count() == 300
    assert {Level.UNDERGRADUATE, Level.JUNIOR} <= set(candidates.values_list("level", flat=True))
    single = candidates.filter(admission_type=AdmissionType.SINGLE_RECRUITMENT)
    assert single.exists()
    assert set(single.values_list("level", flat=True)) == {Level.JUNIOR}
    assert single.filter(province__province="四川").count() > single.count() / 2
    for c in candidates:
        assert len(c.id_number) == 18
        assert c.id_number[17] == id_check_digit(c.id_number[:17])
        assert len(c.exam_number) == 14 and c.exam_number.startswith("23")
        assert c.name and c.high_school and c.major and c.batch and c.address and c.preference_order
    assert candidates.values("id_number").distinct().count() == 300
    # classmates: some high schools send several candidates
    assert candidates.values("high_school").annotate(n=Count("id")).filter(n__gte=3).exists()
    counts = list(candidates.annotate(n=Count("phones")).values_list("n", flat=True))
    assert min(counts) >= 1 and max(counts) <= 4


def test_every_candidate_has_one_active_assignment_unless_in_the_pool(season):
    candidates = Candidate.objects.filter(season=season).annotate(
        active=Count("assignments", filter=Q(assignments__active=True))
    )
    assert max(c.active for c in candidates) == 1
    assert all(c.active == 1 for c in candidates if not c.in_pool)
    assert all(c.active == 0 for c in candidates if c.in_pool)
    assert candidates.filter(in_pool=True).exists()
    # assignments go to qualified callers of this season, within the admission period
    assignments = Assignment.objects.filter(candidate__season=season)
    assert not assignments.exclude(caller__qualification_status=QualificationStatus.QUALIFIED).exists()
    assert not assignments.exclude(caller__season=season).exists()
    first, last = assignments.aggregate(a=Min("assigned_at"), b=Max("assigned_at")).values()
    assert first.date() >= season.admission_start and last.date() <= season.admission_end


def test_reported_candidates_have_the_reporting_callers_report(season):
    reported = Assignment.objects.filter(candidate__season=season, source=AssignmentSource.REPORT)
    assert reported.exists()
    reports = {r.exam_number: r for r in ProspectReport.objects.filter(season=season)}
    assert len(reports) == reported.count()
    for assignment in reported.select_related("candidate"):
        report = reports[assignment.candidate.exam_number]
        assert (report.caller_id, report.id_number) == (assignment.caller_id, assignment.candidate.id_number)
        assert report.created_at < assignment.assigned_at


def test_contact_summaries_equal_the_log(season):
    candidates = Candidate.objects.filter(season=season).annotate(
        n=Count("contacts"), seconds=Sum("contacts__duration_seconds"), last=Max("contacts__contacted_at")
    )
    for c in candidates:
        assert (c.contact_count, c.contact_seconds, c.last_contact_at) == (c.n, c.seconds or 0, c.last)
    contacts = ContactLog.objects.filter(candidate__season=season)
    assert 4 <= contacts.count() / candidates.count() <= 8
    first, last = contacts.aggregate(a=Min("contacted_at"), b=Max("contacted_at")).values()
    assert first.date() >= season.admission_start and last.date() <= season.admission_end
    # every contact is made by the caller the candidate was assigned to, after the assignment
    assigned_at = {
        (a.candidate_id, a.caller_id): a.assigned_at
        for a in Assignment.objects.filter(candidate__season=season)
    }
    for contact in contacts:
        assert assigned_at[contact.candidate_id, contact.caller_id] <= contact.contacted_at


def test_status_follows_the_last_stated_intent(season):
    contacts = ContactLog.objects.filter(candidate__season=season).order_by("contacted_at", "id")
    by_candidate: dict[int, list[ContactLog]] = {}
    for contact in contacts:
        by_candidate.setdefault(contact.candidate_id, []).append(contact)
    for c in Candidate.objects.filter(season=season):
        history = by_candidate.get(c.id, [])
        stated = [x.intent for x in history if x.intent != Intent.NONE]
        if c.status == CallbackStatus.UNCONTACTED:
            assert history == []
        elif c.status == CallbackStatus.UNREACHABLE:
            assert history and not [x for x in history if x.outcome in Outcome.reached()]
        else:
            assert stated and c.status in STATUS_OF_INTENT[stated[-1]]
        # an intent is only ever heard when someone answered
        assert all(x.outcome in Outcome.reached() for x in history if x.intent != Intent.NONE)
        # a number found empty, wrong or suspended is not dialled again
        dead = {Outcome.EMPTY_NUMBER, Outcome.WRONG_NUMBER, Outcome.SUSPENDED}
        for k, contact in enumerate(history):
            if contact.outcome in dead:
                assert contact.phone_number not in {x.phone_number for x in history[k + 1 :]}


def test_payments_registrations_and_withdrawals_are_consistent(season):
    candidates = Candidate.objects.filter(season=season)
    assert not candidates.filter(enrolled_on__isnull=False, withdrawn_on__isnull=False).exists()
    withdrawn = candidates.filter(status=CallbackStatus.WITHDRAWN)
    assert withdrawn.count() == candidates.filter(withdrawn_on__isnull=False).count()
    assert not withdrawn.filter(province__withdrawable=False).exists()
    assert not withdrawn.filter(withdrawn_on__gt=season.admission_end).exists()
    assert WithdrawalRecord.objects.filter(season=season).count() == withdrawn.count()
    assert (
        RegistrationRecord.objects.filter(season=season).count()
        == candidates.filter(enrolled_on__isnull=False).count()
    )
    for c in candidates.annotate(total=Sum("payment_records__amount"), first=Min("payment_records__paid_on")):
        assert (c.payment_amount, c.paid_on) == (c.total, c.first)
    assert PaymentRecord.objects.filter(season=season).exists()
    for level, low in ((Level.UNDERGRADUATE, Decimal("0.90")), (Level.JUNIOR, Decimal("0.85"))):
        cohort = candidates.filter(level=level).exclude(status=CallbackStatus.WITHDRAWN)
        rate = Decimal(cohort.filter(enrolled_on__isnull=False).count()) / cohort.count()
        assert low < rate < 1


def test_teams_leaders_supervisors_and_strike_team(season):
    regular = Team.objects.filter(season=season, kind=TeamKind.REGULAR)
    assert regular.count() == 2
    for team in regular:
        assert team.members.count() == 10
        assert team.leader.team_id == team.id
        assert team.supervisors.count() == 1
        assert team.supervisors.get().is_supervisor
    supervision = Team.objects.get(season=season, kind=TeamKind.SUPERVISION, name="督查组")
    assert supervision.members.filter(is_supervisor=True).count() == 2
    strike = Team.objects.get(season=season, kind=TeamKind.STRIKE, name="突击组")
    assert strike.members.filter(is_strike=True).count() == 1
    pending = Caller.objects.filter(season=season, qualification_status=QualificationStatus.PENDING)
    assert pending.count() == 1
    assert not Assignment.objects.filter(caller__in=pending).exists()
    assert not Attendance.objects.filter(caller__in=pending).exists()
    assert Attendance.objects.filter(caller__season=season).exists()
    assert Caller.objects.filter(season=season, prev_undergrad_rate__isnull=False).exists()
    assert {"teacher", "student", "staff"} >= set(Caller.objects.values_list("kind", flat=True))
    assert not Caller.objects.filter(season=season, department="").exists()


def test_groups_and_a_login_for_every_role(season, client):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    logins = demo_logins(year=season.year)
    assert [login.role for login in logins] == [
        Role.OFFICE,
        Role.LEADER,
        Role.CALLER,
        Role.SUPERVISOR,
        Role.STRIKE,
    ]
    leader, caller, supervisor = logins[1], logins[2], logins[3]
    assert caller.team == leader.team == supervisor.team
    for login in logins:
        user = User.objects.get(username=login.username)
        assert login.role in roles_of(user)
        assert client.login(username=login.username, password=DEMO_PASSWORD)
        assert client.get("/").status_code == 200
        client.logout()
    office = User.objects.get(username=OFFICE_USERNAME)
    assert office.is_staff and office.is_superuser
    client.force_login(office)
    assert client.get("/admin/").status_code == 200


def test_demo_password_passes_the_validators():
    validate_password(DEMO_PASSWORD)


def test_same_seed_same_season_other_seed_other_season(demo, no_seeders):
    demo_season_generate(options=tiny(2031, seed=7))
    first = list(Candidate.objects.filter(season__year=2031).values_list("exam_number", "name", "id_number"))
    callers = list(Caller.objects.filter(season__year=2031).values_list("staff_no", "name"))
    contacts = list(
        ContactLog.objects.filter(candidate__season__year=2031)
        .order_by("candidate__exam_number", "contacted_at")
        .values_list("contacted_at", "outcome", "intent")
    )
    demo_season_delete(year=2031)
    assert not Season.objects.filter(year=2031).exists()
    demo_season_generate(options=tiny(2031, seed=7))
    assert (
        list(Candidate.objects.filter(season__year=2031).values_list("exam_number", "name", "id_number"))
        == first
    )
    assert list(Caller.objects.filter(season__year=2031).values_list("staff_no", "name")) == callers
    assert (
        list(
            ContactLog.objects.filter(candidate__season__year=2031)
            .order_by("candidate__exam_number", "contacted_at")
            .values_list("contacted_at", "outcome", "intent")
        )
        == contacts
    )
    demo_season_generate(options=tiny(2033, seed=8))
    other = list(Candidate.objects.filter(season__year=2033).values_list("name", flat=True))
    assert other != [name for _, name, _ in first]


def test_check_exit_codes(demo):
    with pytest.raises(SystemExit) as exists:
        call_command("seed_demo", "--check", stdout=StringIO())
    assert exists.value.code == 0
    with pytest.raises(SystemExit) as missing:
        call_command("seed_demo", "--check", "--year", "2040", stdout=StringIO())
    assert missing.value.code == 1
    assert demo_season_exists(year=2023) and not demo_season_exists(year=2040)


def test_seeding_twice_refuses_and_reset_replaces(demo, no_seeders):
    call_command(
        "seed_demo",
        "--candidates",
        "30",
        "--callers",
        "4",
        "--teams",
        "1",
        "--year",
        "2036",
        "--no-previous",
        verbosity=0,
    )
    assert Candidate.objects.filter(season__year=2036).count() == 30
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_demo", "--candidates", "30", "--callers", "4", "--year", "2036", verbosity=0)
    call_command(
        "seed_demo",
        "--candidates",
        "25",
        "--callers",
        "4",
        "--teams",
        "1",
        "--year",
        "2036",
        "--no-previous",
        "--reset",
        verbosity=0,
    )
    assert Season.objects.filter(year=2036).count() == 1
    assert Candidate.objects.filter(season__year=2036).count() == 25
    assert Caller.objects.filter(season__year=2036).count() == 4 + 1 + 1  # callers, a supervisor, a striker
    assert CandidatePhone.objects.filter(candidate__season__year=2036).count() >= 25


def test_logins_command_prints_every_role(demo):
    out = StringIO()
    call_command("seed_demo", "--logins", stdout=out)
    text = out.getvalue()
    assert DEMO_PASSWORD in text
    for login in demo_logins(year=2023):
        assert login.username in text
    assert "office" in text and "组长" in text and "督查" in text and "突击组" in text


def test_demo_seeders_are_called_with_the_season_and_their_own_rng(demo):
    seeders.CALLS.clear()
    with override_settings(DEMO_SEEDERS=["tests.demo.seeders.record", "tests.demo.seeders"]):
        demo_season_generate(options=tiny(2037))
    assert [(c["how"], c["year"]) for c in seeders.CALLS] == [("function", 2037), ("module", 2037)]
    # each seeder has its own stream, derived from the seed and its path
    assert seeders.CALLS[0]["draw"] == random.Random("7:tests.demo.seeders.record").random()
    assert seeders.CALLS[0]["draw"] != seeders.CALLS[1]["draw"]


def test_the_configured_seeders_run_on_a_small_season(demo):
    """The apps' own demo data (settings.DEMO_SEEDERS) builds on the core demo without errors."""
    call_command(
        "seed_demo",
        "--candidates",
        "60",
        "--callers",
        "10",
        "--teams",
        "1",
        "--year",
        "2019",
        "--no-previous",
        verbosity=0,
    )
    assert demo_season_exists(year=2019)


def test_the_configured_seeders_run_on_a_future_season(demo):
    """A season after the current year (contacts dated ahead of today) seeds with every app's
    seeder: the supervision demo's incident is dated today at the latest, never in the future."""
    today = timezone.localdate()
    year = today.year + 2
    call_command(
        "seed_demo",
        "--candidates",
        "60",
        "--callers",
        "10",
        "--teams",
        "1",
        "--year",
        str(year),
        "--no-previous",
        verbosity=0,
    )
    assert demo_season_exists(year=year)
    season = Season.objects.get(year=year)
    assert ContactLog.objects.filter(candidate__season=season, contacted_at__date__gt=today).exists()
    incidents = list(Incident.objects.filter(season=season))
    assert len(incidents) == 1
    assert incidents[0].occurred_on <= today
