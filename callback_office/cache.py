"""The cache is an optimisation, never a dependency: with Redis down a page computes directly.

In production the default cache is Redis (several web processes share it). Its client raises
when Redis cannot be reached; a page that only wanted to save work must not answer 500 for that
(issue 6: no request path depends on Redis). Use these instead of `cache.get` / `cache.set` in
request paths:

    html = cache_get(key)                # None when missing *or* when the cache is down
    if html is None:
        html = render(...)
        cache_set(key, html, seconds)    # silently skipped when the cache is down

Failures are logged (warning, with the traceback) so the office's monitoring sees them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)


def cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        logger.warning("cache unavailable: get %s", key, exc_info=True)
        return None


def cache_set(key: str, value: Any, seconds: int) -> bool:
    try:
        cache.set(key, value, seconds)
    except Exception:
        logger.warning("cache unavailable: set %s", key, exc_info=True)
        return False
    return True
