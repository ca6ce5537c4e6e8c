from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from callback_office.roles import roles_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Landing page: the user's roles and the menu (each app's start page is in the menu)."""
    return render(request, "home.html", {"roles": sorted(roles_of(request.user))})


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """For a load balancer: 200 when the database answers; Redis state is reported."""
    import django_rq

    status = {"database": "ok", "redis": "ok"}
    code = 200
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:
        status["database"] = "down"
        code = 503
    try:
        django_rq.get_connection("default").ping()
    except Exception:
        status["redis"] = "down"
    return JsonResponse(status, status=code)
