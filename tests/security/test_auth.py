"""Authentication: lockout after repeated failures (django-axes), CSRF on changes, password
strength, session expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "demo-pass-2023"


def login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failures_lock_out_the_sixth_good_login():
    UserFactory(username="c1001")
    client = Client()
    for _ in range(4):
        response = login(client, "c1001", "wrong-password")
        assert response.status_code == 200  # the form again, with its error
        assert "工号或密码不正确" in response.content.decode()
    assert login(client, "c1001", "wrong-password").status_code == 429  # the fifth locks
    response = login(client, "c1001", PASSWORD)
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="c1001").failures_since_start == 6  # the refused one too


def test_lockout_is_per_username_and_address_and_ends_30_minutes_after_the_last_try():
    UserFactory(username="c1001")
    UserFactory(username="c1002")
    with freeze_time("2023-07-20 10:00:00"):
        for _ in range(5):
            login(Client(), "c1001", "wrong-password")
        assert login(Client(), "c1001", PASSWORD).status_code == 429
        # the same account from another address, another account from the same address: fine
        assert login(Client(), "c1001", PASSWORD, ip="10.0.0.2").status_code == 302
        assert login(Client(), "c1002", PASSWORD).status_code == 302
    with freeze_time("2023-07-20 10:29:00"):
        assert login(Client(), "c1001", PASSWORD).status_code == 429
    # an attempt while locked starts the 30 minutes again
    with freeze_time("2023-07-20 10:58:00"):
        assert login(Client(), "c1001", PASSWORD).status_code == 429
    with freeze_time("2023-07-20 11:29:00"):
        assert login(Client(), "c1001", PASSWORD).status_code == 302


def test_four_failures_then_success_resets_the_count():
    UserFactory(username="c1001")
    for _ in range(4):
        login(Client(), "c1001", "wrong-password")
    assert login(Client(), "c1001", PASSWORD).status_code == 302
    for _ in range(4):
        login(Client(), "c1001", "wrong-password")
    assert login(Client(), "c1001", PASSWORD).status_code == 302


def test_settings_lock_five_failures_for_thirty_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(hours=settings.AXES_COOLOFF_TIME) == dt.timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "callback_office.auth_backends.AxesBackend"


@pytest.mark.parametrize("password", ["12345678901", "password123", "c1001c1001", "short"])
def test_weak_passwords_are_refused(password):
    user = UserFactory.build(username="c1001c1001")
    with pytest.raises(ValidationError):
        validate_password(password, user=user)


def test_a_strong_password_passes():
    validate_password("回访-Office-2023-ok", user=UserFactory.build(username="c1001"))


def test_sessions_expire_within_a_working_day():
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_COOKIE_HTTPONLY is True


# --- CSRF -----------------------------------------------------------------------------------------


def change_endpoints(world) -> list[tuple[str, str]]:
    o = world.objects
    return [
        ("caller", reverse("callbacks:contact_create", args=[o["candidate"].pk])),
        ("caller", reverse("callbacks:pool_claim")),
        ("caller", reverse("casework:withdrawal_submit", args=[o["withdrawal"].pk])),
        ("leader", reverse("casework:withdrawal_check", args=[o["withdrawal"].pk])),
        ("office", reverse("subsidies:run_approve", args=[o["run"].pk])),
        ("office", reverse("subsidies:scheme_edit")),
        ("office", reverse("reports:discrepancy_resolve", args=[o["discrepancy"].pk])),
        ("supervisor", reverse("supervision:item_score", args=[o["item"].pk])),
    ]


def test_every_change_needs_the_csrf_token(world):
    from tests.security.test_role_matrix import fingerprint

    before = fingerprint()
    for role, url in change_endpoints(world):
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.users[role])
        response = client.post(url, {"outcome": "connected", "count": "1"})
        assert response.status_code == 403, url
        assert b"CSRF" in response.content
    assert fingerprint() == before


def test_with_the_token_the_change_goes_through(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["office"])
    client.get(reverse("reports:discrepancies"))
    token = client.cookies["csrftoken"].value
    url = reverse("reports:discrepancy_resolve", args=[world.objects["discrepancy"].pk])
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    world.objects["discrepancy"].refresh_from_db()
    assert world.objects["discrepancy"].resolved is True
