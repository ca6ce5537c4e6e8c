"""Factories and file builders for casework tests."""

from __future__ import annotations

import io

import factory
from PIL import Image

from callbacks.casework_models import StrikeCase, StrikeCaseKind, StrikeCaseStatus, WithdrawalRequest
from tests.factories import CandidateFactory, UserFactory


class WithdrawalRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WithdrawalRequest

    candidate = factory.SubFactory(CandidateFactory)
    opened_by = factory.SubFactory(UserFactory)


class StrikeCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StrikeCase

    candidate = factory.SubFactory(CandidateFactory)
    kind = StrikeCaseKind.UNREACHABLE
    status = StrikeCaseStatus.APPROVED
    created_by = factory.SubFactory(UserFactory)
    steps_tried = factory.LazyFunction(lambda: ["empty_number", "lookup_114"])
    note = "打了三天都是空号"


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (16, 12)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, fmt)
    return buf.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
