"""Role matrix: every workspace page for every role (200 works, 403 not for this role, 404 out
of scope)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

# (url name, needs the candidate id) -> expected status for caller, leader, supervisor, outsider, office
MATRIX = {
    ("my_candidates", False): (200, 200, 403, 200, 200),
    ("pool", False): (200, 200, 403, 200, 200),
    ("team", False): (403, 200, 403, 403, 200),
    ("ledger", False): (200, 200, 200, 200, 200),
    ("distribute", False): (403, 403, 403, 403, 200),
    ("candidate_detail", True): (200, 200, 200, 404, 200),
}


@pytest.mark.parametrize(("key", "expected"), list(MATRIX.items()), ids=[k[0] for k in MATRIX])
def test_role_matrix(client, caller, leader, supervisor, outsider, office_user, mine, key, expected):
    name, with_candidate = key
    url = reverse(f"callbacks:{name}", args=[mine.pk] if with_candidate else [])
    users = [caller.user, leader.user, supervisor.user, outsider.user, office_user]
    got = []
    for user in users:
        client.force_login(user)
        got.append(client.get(url).status_code)
    assert tuple(got) == expected


@pytest.mark.parametrize("name", ["contact_create", "followup_set"])
def test_post_matrix(client, caller, leader, supervisor, outsider, office_user, mine, name):
    """Only the assigned caller may change the candidate: the team's leader and supervisor read
    it (403), another team's caller does not even see it (404), the office does not call (403)."""
    url = reverse(f"callbacks:{name}", args=[mine.pk])
    got = []
    for user in (leader.user, supervisor.user, outsider.user, office_user):
        client.force_login(user)
        got.append(client.post(url, {}).status_code)
    assert got == [403, 403, 404, 403]


@pytest.mark.parametrize("name", ["contact_create", "followup_set", "pool_claim", "report_create"])
def test_changes_need_post(client, caller, mine, name):
    client.force_login(caller.user)
    args = [mine.pk] if name in ("contact_create", "followup_set") else []
    assert client.get(reverse(f"callbacks:{name}", args=args)).status_code == 405
