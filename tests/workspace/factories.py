"""Factories of the caller workspace (on top of tests/factories.py)."""

from __future__ import annotations

import factory

from callbacks.models import ProspectReport
from tests.factories import CallerFactory, SeasonFactory


class ProspectReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProspectReport

    season = factory.SubFactory(SeasonFactory)
    caller = factory.SubFactory(CallerFactory, season=factory.SelfAttribute("..season"))
    exam_number = factory.Sequence(lambda n: f"R{n:08d}")
