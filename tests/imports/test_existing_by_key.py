"""`existing_by_key`: the rows named in a file, in one query, whatever their number — never the
whole season (1,000,000 candidates at platform scale)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from admissions.models import Candidate, CandidatePhone
from callback_office.importing import IN_LIST_MAX, existing_by_key
from tests.factories import CandidateFactory, ProvinceFactory, SeasonFactory

pytestmark = pytest.mark.sqlite  # the array (PostgreSQL) and json_each (SQLite) paths


@pytest.fixture
def many(db):
    """2,500 candidates in the season (more than IN_LIST_MAX), 100 in another season."""
    season = SeasonFactory()
    province = ProvinceFactory(season=season)
    rows = [
        Candidate(
            season=season, province=province, exam_number=f"E{i:06d}", name=f"考生{i}", level="undergraduate"
        )
        for i in range(2500)
    ]
    Candidate.objects.bulk_create(rows, batch_size=500)
    other = CandidateFactory(exam_number="E000001", season=SeasonFactory(year=2024))  # another season
    return season, other


@pytest.mark.parametrize("wanted", [10, IN_LIST_MAX + 1, 2000])
def test_only_the_named_rows_in_one_query(many, wanted):
    season, other = many
    keys = [f"E{i:06d}" for i in range(0, 2 * wanted, 2)]  # every other one, some beyond 2,500
    keys += ["NOPE", "E000002'); DROP TABLE admissions_candidate; --"]
    with CaptureQueriesContext(connection) as ctx:
        found = dict(
            existing_by_key(Candidate.objects.filter(season=season), "exam_number", keys).values_list(
                "exam_number", "id"
            )
        )
    assert len(ctx.captured_queries) == 1
    expected = {k for k in keys if k.startswith("E0") and len(k) == 7 and int(k[1:]) < 2500}
    assert set(found) == expected
    assert other.pk not in found.values()
    assert Candidate.objects.count() == 2501


def test_integer_keys_and_joined_querysets(many):
    season, _other = many
    ids = list(Candidate.objects.filter(season=season).order_by("id").values_list("id", flat=True))
    CandidatePhone.objects.bulk_create(
        [CandidatePhone(candidate_id=pk, number=f"138{pk:08d}") for pk in ids[:1500]]
    )
    wanted = ids[500:2500]  # 1,000 with a phone, 1,000 without
    phones = existing_by_key(
        CandidatePhone.objects.filter(candidate__season=season), "candidate_id", wanted
    ).values_list("candidate_id", flat=True)
    assert sorted(phones) == ids[500:1500]


def test_no_keys_no_rows(many):
    season, _other = many
    assert list(existing_by_key(Candidate.objects.filter(season=season), "exam_number", [])) == []
