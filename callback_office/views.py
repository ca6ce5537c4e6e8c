import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from callback_office.roles import roles_of

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Landing page: the user's roles and the menu (each app's start page is in the menu)."""
    return render(request, "home.html", {"roles": sorted(roles_of(request.user))})


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """For a load balancer: 200 when the database answers, 503 when it does not. Redis is
    reported but does not fail the check (the web still serves pages when the queues are
    down; jobs wait). Short Redis timeouts so a dead Redis never hangs the probe."""
    import redis

    status = {"status": "ok", "database": "ok", "redis": "ok"}
    code = 200
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:
        logger.exception("health: database down")
        status["database"] = "down"
        status["status"] = "down"
        code = 503
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except Exception:
        logger.warning("health: redis down", exc_info=True)
        status["redis"] = "down"
        if code == 200:
            status["status"] = "degraded"
    finally:
        client.close()
    return JsonResponse(status, status=code)
