"""The security tests' world (one season seen by eight roles), temporary media and Redis."""

from tests.security.conftest import _media, redis_db, world  # noqa: F401
