"""factory_boy factories for every app's models (one place, so tests read alike)."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from admissions.choices import Level
from admissions.models import Candidate, CandidatePhone, ProvincePolicy, Season
from callback_office.roles import Role
from callbacks.choices import CallerKind, Channel, Outcome, QualificationStatus
from callbacks.models import Assignment, Caller, ContactLog, Team


class SeasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Season
        django_get_or_create = ("year",)

    year = 2023
    admission_start = dt.date(2023, 7, 10)
    admission_end = dt.date(2023, 8, 10)
    payment_close = dt.date(2023, 9, 1)
    registration_date = dt.date(2023, 9, 8)


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProvincePolicy
        django_get_or_create = ("season", "province")

    season = factory.SubFactory(SeasonFactory)
    province = "四川"
    withdrawable = False


class CandidateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Candidate

    season = factory.SubFactory(SeasonFactory)
    exam_number = factory.Sequence(lambda n: f"23510101{n:06d}")
    name = factory.Sequence(lambda n: f"考生{n}")
    id_number = factory.Sequence(lambda n: f"510101200501{n:06d}")
    province = factory.SubFactory(ProvinceFactory, season=factory.SelfAttribute("..season"))
    level = Level.UNDERGRADUATE
    high_school = "成都七中"


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CandidatePhone

    candidate = factory.SubFactory(CandidateFactory)
    number = factory.Sequence(lambda n: f"138{n:08d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"u{n:05d}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("demo-pass-2023")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=Role(role).value)[0])


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    season = factory.SubFactory(SeasonFactory)
    name = factory.Sequence(lambda n: f"第{n + 1}组")


class CallerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Caller

    season = factory.SubFactory(SeasonFactory)
    user = factory.SubFactory(UserFactory, roles=[Role.CALLER])
    staff_no = factory.SelfAttribute("user.username")
    name = factory.SelfAttribute("user.first_name")
    kind = CallerKind.TEACHER
    team = factory.SubFactory(TeamFactory, season=factory.SelfAttribute("..season"))
    qualification_status = QualificationStatus.QUALIFIED


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    candidate = factory.SubFactory(CandidateFactory)
    caller = factory.SubFactory(CallerFactory, season=factory.SelfAttribute("..candidate.season"))
    source = "office"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactLog

    candidate = factory.SubFactory(CandidateFactory)
    caller = factory.SubFactory(CallerFactory, season=factory.SelfAttribute("..candidate.season"))
    contacted_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    channel = Channel.PHONE
    duration_seconds = 300
    outcome = Outcome.CONNECTED
