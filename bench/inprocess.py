"""Service time of each request path in one process (Django test client, bench settings), the
floors interleaved with the paths so that a busy shared machine slows them alike:

    .venv/bin/python -m bench.inprocess --scale office --n 20

Prints `RESULT {json}` with the median and spread of milliseconds per request and the ratio of
each path to its floor (the GET floor for pages, the POST floor for log-a-contact). This is the
CPU cost of one request without the HTTP server, a cross-check of the wrk ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.common import setup_django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="office")
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args(argv)
    setup_django(args.scale)
    from django.contrib.auth.models import User
    from django.test import Client

    from bench.common import SCALES

    scale = SCALES[args.scale]
    per_caller = scale.candidates // scale.callers
    caller_user, office_user, leader_user = 8, 1, 2
    body = {
        "channel": "phone",
        "outcome": "no_answer",
        "intent": "none",
        "duration_minutes": 0,
        "duration_seconds": 30,
        "new_owner_1": "parent",
        "new_owner_2": "other",
    }
    clients = {}
    for uid in (caller_user, office_user, leader_user):
        c = Client(HTTP_HX_REQUEST="true")
        c.force_login(User.objects.get(pk=uid))
        clients[uid] = c
    paths = {
        "get_floor": (office_user, "get", "/bench/floor/get/", None),
        "post_floor": (office_user, "post", "/bench/floor/post/", {"x": 1}),
        "my_candidates": (caller_user, "get", "/callbacks/mine/", None),
        # rotates over the caller's candidates: repeated runs must not pile contacts on one of them
        "log_contact": (
            caller_user,
            "post",
            [f"/callbacks/candidates/{6 * per_caller + j + 1}/contacts/" for j in range(per_caller)],
            body,
        ),
        "team_dashboard": (leader_user, "get", "/reports/dashboards/team/", None),
        "office_dashboard": (office_user, "get", "/reports/dashboards/office/", None),
    }
    times: dict[str, list[float]] = {k: [] for k in paths}

    def pick(path, i: int) -> str:
        return path[i % len(path)] if isinstance(path, list) else path

    for _name, (uid, method, paths_, data) in paths.items():  # warm-up
        path = pick(paths_, 0)
        getattr(clients[uid], method)(path, data) if data else getattr(clients[uid], method)(path)
    for i in range(args.n):
        for name, (uid, method, paths_, data) in paths.items():
            path = pick(paths_, i + 1 + int(time.time()))
            started = time.perf_counter()
            resp = getattr(clients[uid], method)(path, data) if data else getattr(clients[uid], method)(path)
            times[name].append((time.perf_counter() - started) * 1000)
            assert resp.status_code in (200, 302), (name, resp.status_code)
    out = {
        k: {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v)} for k, v in times.items()
    }
    for name, floor in (
        ("my_candidates", "get_floor"),
        ("team_dashboard", "get_floor"),
        ("office_dashboard", "get_floor"),
        ("log_contact", "post_floor"),
    ):
        out[name]["x_floor"] = out[name]["median_ms"] / out[floor]["median_ms"]
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
