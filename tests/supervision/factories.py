"""Factories for the supervision app."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from callback_office.roles import Role
from supervision.choices import FindingCategory, Severity
from supervision.models import AuditItem, AuditSample, Finding
from tests.factories import CallerFactory, ContactFactory


class SupervisorFactory(CallerFactory):
    team = None
    is_supervisor = True
    user = factory.SubFactory("tests.factories.UserFactory", roles=[Role.SUPERVISOR])


class SampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditSample

    season = factory.SelfAttribute("supervisor.season")
    supervisor = factory.SubFactory(SupervisorFactory)
    period_start = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=7))
    period_end = factory.LazyFunction(timezone.localdate)
    seed = 42
    parameters = factory.LazyFunction(dict)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditItem

    sample = factory.SubFactory(SampleFactory)
    contact_log = factory.SubFactory(ContactFactory)
    team = factory.SelfAttribute("contact_log.caller.team")


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    item = factory.SubFactory(ItemFactory)
    season = factory.SelfAttribute("item.sample.season")
    caller = factory.SelfAttribute("item.contact_log.caller")
    team = factory.SelfAttribute("item.team")
    author = factory.SelfAttribute("item.sample.supervisor")
    severity = Severity.MINOR
    category = FindingCategory.OPENING
    description = "未表明身份"
    required_rectification = "按话术开场"
    dispute_deadline = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))
