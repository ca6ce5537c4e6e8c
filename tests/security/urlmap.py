"""Every URL pattern of the site, and the arguments that point it at team 1's caller's objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# Patterns the matrix does not visit, and why.
SKIPPED_PREFIXES = {
    "admin/": "Django admin: staff only, guarded by its own login (test_admin_is_staff_only)",
    "admin/rq/": "the RQ dashboard lives under admin/ (staff only)",
    "i18n/": "set_language: no data, only switches the interface language",
    "static/": "static files (whitenoise), public by design",
}
SKIPPED_NAMES = {
    "login": "the login page itself (tested in test_auth.py)",
    "logout": "logging out (POST only, no data)",
    "health": "the load balancer's health check, public by design (no data)",
}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced: "callbacks:candidate_detail"
    pattern: str  # "callbacks/candidates/<int:pk>/"
    kwargs: tuple[str, ...]


def all_routes() -> Iterator[Route]:
    def walk(patterns, prefix: str, namespace: str) -> Iterator[Route]:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}{p.namespace}:"
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                yield Route(
                    name=f"{namespace}{p.name}" if p.name else "",
                    pattern=prefix + str(p.pattern),
                    kwargs=tuple(p.pattern.converters),
                )

    yield from walk(get_resolver().url_patterns, "", "")


def skip_reason(route: Route) -> str | None:
    for prefix, reason in SKIPPED_PREFIXES.items():
        if route.pattern.startswith(prefix):
            return reason
    name = route.name.split(":")[-1] if ":" not in route.name else route.name
    return SKIPPED_NAMES.get(name)


Objects = dict[str, Any]

# URL name → its kwargs, built from the world's objects (all of them team 1's caller's).
ARGS: dict[str, Callable[[Objects], dict[str, Any]]] = {
    "callbacks:candidate_detail": lambda o: {"pk": o["candidate"].pk},
    "callbacks:contact_create": lambda o: {"pk": o["candidate"].pk},
    "callbacks:followup_set": lambda o: {"pk": o["candidate"].pk},
    "callbacks:reveal_id_number": lambda o: {"pk": o["candidate"].pk},
    "callbacks:ledger_caller": lambda o: {"caller_id": o["caller"].pk},
    "casework:candidate_withdrawal": lambda o: {"candidate_id": o["candidate"].pk},
    "casework:withdrawal_open": lambda o: {"candidate_id": o["candidate"].pk},
    "casework:withdrawal_detail": lambda o: {"pk": o["withdrawal"].pk},
    "casework:material_upload": lambda o: {"pk": o["withdrawal"].pk},
    "casework:withdrawal_check": lambda o: {"pk": o["withdrawal"].pk},
    "casework:withdrawal_submit": lambda o: {"pk": o["withdrawal"].pk},
    "casework:withdrawal_complete": lambda o: {"pk": o["withdrawal"].pk},
    "casework:withdrawal_reject": lambda o: {"pk": o["withdrawal"].pk},
    "casework:withdrawal_return": lambda o: {"pk": o["withdrawal"].pk},
    "casework:material_file": lambda o: {"pk": o["material"].pk},
    "casework:material_remove": lambda o: {"pk": o["material"].pk},
    "casework:candidate_escalate": lambda o: {"candidate_id": o["candidate"].pk},
    "casework:candidate_after_registration": lambda o: {"candidate_id": o["candidate"].pk},
    "casework:strike_detail": lambda o: {"pk": o["strike_case"].pk},
    "casework:strike_approve": lambda o: {"pk": o["strike_case"].pk},
    "casework:strike_decline": lambda o: {"pk": o["strike_case"].pk},
    "casework:strike_take": lambda o: {"pk": o["strike_case"].pk},
    "casework:strike_close": lambda o: {"pk": o["strike_case"].pk},
    "casework:strike_log_contact": lambda o: {"pk": o["strike_case"].pk},
    "supervision:qualification_review": lambda o: {"caller_id": o["caller"].pk},
    "supervision:sample": lambda o: {"sample_id": o["sample"].pk},
    "supervision:item": lambda o: {"item_id": o["item"].pk},
    "supervision:item_score": lambda o: {"item_id": o["item"].pk},
    "supervision:item_finding": lambda o: {"item_id": o["item"].pk},
    "supervision:item_calibration": lambda o: {"item_id": o["item"].pk},
    "supervision:contact_attachments": lambda o: {"contact_id": o["contact"].pk},
    "supervision:attachment": lambda o: {"attachment_id": o["attachment"].pk},
    "supervision:finding": lambda o: {"finding_id": o["finding"].pk},
    "supervision:finding_verify": lambda o: {"finding_id": o["finding"].pk},
    "supervision:finding_arbitrate": lambda o: {"finding_id": o["finding"].pk},
    "supervision:my_finding_action": lambda o: {"finding_id": o["finding"].pk, "action": "acknowledge"},
    "supervision:noshow_decide": lambda o: {"case_id": o["strike_case"].pk},
    "subsidies:run_detail": lambda o: {"pk": o["run"].pk},
    "subsidies:run_approve": lambda o: {"pk": o["run"].pk},
    "subsidies:run_diff": lambda o: {"pk": o["run"].pk},
    "subsidies:run_download": lambda o: {"pk": o["run"].pk},
    "subsidies:statement": lambda o: {"run_pk": o["run"].pk, "caller_pk": o["caller"].pk},
    "subsidies:inquiry_answer": lambda o: {"pk": o["inquiry"].pk},
    "subsidies:inquiry_create": lambda o: {"line_pk": o["line"].pk},
    "reports:reconciliation_run": lambda o: {"pk": o["recon"].pk},
    "reports:discrepancy_resolve": lambda o: {"pk": o["discrepancy"].pk},
    "reports:weekly_detail": lambda o: {"pk": o["weekly"].pk},
    "reports:weekly_download": lambda o: {"pk": o["weekly"].pk},
    "job_page": lambda o: {"job_id": o["job_id"]},
    "job_download": lambda o: {"job_id": o["job_id"]},
    "imports:template": lambda o: {"kind": "candidates"},
    "imports:export": lambda o: {"kind": "candidates"},
    "imports:job_result": lambda o: {"job_id": o["job_id"]},
    "accounts:password_link": lambda o: {"user_id": o["caller"].user_id},
    "accounts:password_links_team": lambda o: {"team_id": o["caller"].team_id},
    # a set-password link with a wrong token: the "link invalid" page for everyone
    "accounts:password_set": lambda o: {"uidb64": "MQ", "token": "0-bad"},
    "help:page": lambda o: {"page": "caller"},
    "help:image": lambda o: {"name": "caller-pool.png"},
}

# Query strings some pages need to show anything.
QUERY: dict[str, str] = {
    "imports:export": "?season=2023",
}
