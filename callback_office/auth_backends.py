"""Login throttling (django-axes): 5 failed logins for one username from one address lock that
pair out for 30 minutes (settings AXES_*); the lockout page is registration/lockout.html."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class AxesBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins over HTTP.

    `authenticate()` without a request (the test client's `login()`, management commands) has no
    client address to throttle; it is left to the next backend instead of raising.
    """

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
