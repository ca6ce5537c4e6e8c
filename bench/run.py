# ruff: noqa: E501  (tables of generated rows and report rows read better on one line)
"""Run the benchmark suite against a generated bench season and write a markdown report.

    make bench SCALE=office            # = bench/run.sh office (generates the data if missing)
    .venv/bin/python -m bench.run --scale office --repeat 3
    .venv/bin/python -m bench.fill_benchmarks   # paste bench/results/*.md into BENCHMARKS.md

Starts gunicorn (deploy/gunicorn.conf.py, 2 workers, DEBUG off, persistent connections) with
bench.settings (the project's URLs plus the floor views), drives it with wrk over loopback, runs
the batch benchmarks (bench/batch.py) in their own processes, EXPLAINs the request paths' queries
and writes bench/results/<scale>.json and bench/results/<scale>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

from bench.common import ROOT, SCALES, SEASON_YEAR, db_url, setup_django

RESULTS = ROOT / "bench" / "results"
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
CSRF = "benchcsrftoken0123456789abcdefgh"  # 32 characters: a valid unmasked CSRF secret
LARGE_TABLE_ROWS = 50_000

LUA = r"""
local items = {ITEMS}
local counter = 0
local i = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  i = (tid or 0) * 7919
end
request = function()
  i = i + 1
  local it = items[(i % #items) + 1]
  local headers = {}
  headers["Cookie"] = "sessionid=" .. it[2] .. "; csrftoken=@CSRF@"
  headers["X-CSRFToken"] = "@CSRF@"
  headers["HX-Request"] = @HTMX@
  if it[3] ~= "" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", it[1], headers, it[3])
  end
  return wrk.format("GET", it[1], headers)
end
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", flush=True)


# --- set-up --------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    log("installing wrk (apt-get install -y wrk)")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    path = shutil.which("wrk")
    if not path:
        subprocess.run(["apt-get", "update"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        path = shutil.which("wrk")
    return path


def server_env(scale: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": db_url(scale),
        "DEBUG": "0",
        "PRODUCTION": "0",
        "CONN_MAX_AGE": "600",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789"),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_PROC_NAME": "callback-office-bench",
    }


def start_server(scale: str) -> subprocess.Popen:
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=server_env(scale),
        stdout=open(RESULTS / f"gunicorn-{scale}.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        time.sleep(0.2)
        try:
            urllib.request.urlopen(f"{BASE}/healthz", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("gunicorn exited; see bench/results/gunicorn-*.log") from None
    raise RuntimeError("gunicorn did not answer /healthz")


def make_sessions(user_ids: list[int]) -> dict[int, str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    keys = {}
    for user in User.objects.filter(pk__in=user_ids):
        s = SessionStore()
        s[SESSION_KEY] = str(user.pk)
        s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        s[HASH_SESSION_KEY] = user.get_session_auth_hash()
        s.save()
        keys[user.pk] = s.session_key
    return keys


def fetch(path: str, session: str, body: str = "") -> tuple[int, str]:
    req = urllib.request.Request(BASE + path, data=body.encode() if body else None)
    req.add_header("Cookie", f"sessionid={session}; csrftoken={CSRF}")
    req.add_header("X-CSRFToken", CSRF)
    req.add_header("HX-Request", "true")
    if body:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


# --- wrk -----------------------------------------------------------------------------------------


def drain() -> None:
    """Wait until the server has worked off the previous run's queued requests (sync workers
    keep answering a closed wrk connection's accepted requests): two /healthz in a row."""
    for _ in range(2):
        try:
            urllib.request.urlopen(f"{BASE}/healthz", timeout=120).read()
        except OSError:
            time.sleep(1)


def wrk(
    name: str, items: list[tuple[str, str, str]], *, connections: int, seconds: int, htmx: bool = False
) -> dict:
    lua_items = "{" + ",".join(f'{{"{p}","{s}","{b}"}}' for p, s, b in items) + "}"
    script = (
        LUA.replace("{ITEMS}", lua_items)
        .replace("@CSRF@", CSRF)
        .replace("@HTMX@", '"true"' if htmx else "nil")
    )
    path = RESULTS / f"wrk-{name}.lua"
    path.write_text(script)
    threads = 1 if connections == 1 else 2
    drain()
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(path),
            BASE,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON ") :])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["bad"] = sum(
        data[k] for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return data


# --- the database side ---------------------------------------------------------------------------


def sql(query: str, params: tuple = ()) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def reset_pool(n_assigned: int) -> None:
    sql("DELETE FROM callbacks_assignment WHERE source = 'pool'")
    sql("UPDATE admissions_candidate SET in_pool = true WHERE id > %s AND NOT in_pool", (n_assigned,))


def claim_stats() -> dict:
    claimed = sql("SELECT count(*) FROM callbacks_assignment WHERE source = 'pool'")[0][0]
    doubles = sql(
        "SELECT count(*) FROM (SELECT candidate_id FROM callbacks_assignment WHERE active"
        " GROUP BY candidate_id HAVING count(*) > 1) d"
    )[0][0]
    doubles_pool = sql(
        "SELECT count(*) FROM (SELECT candidate_id FROM callbacks_assignment WHERE source = 'pool'"
        " GROUP BY candidate_id HAVING count(*) > 1) d"
    )[0][0]
    return {"claimed": claimed, "double_assignments": doubles + doubles_pool}


def capture(path: str, user_id: int, data: dict | None = None) -> tuple[int, list[str]]:
    """Status and SQL of one request made in-process (Django test client, same settings)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(User.objects.get(pk=user_id))
    with CaptureQueriesContext(connection) as ctx:
        resp = client.post(path, data) if data is not None else client.get(path)
    return resp.status_code, [q["sql"] for q in ctx.captured_queries]


def large_tables() -> set[str]:
    rows = sql("SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > %s", (LARGE_TABLE_ROWS,))
    return {r[0] for r in rows}


def explain(queries: list[str], large: set[str]) -> list[dict]:
    plans = []
    for q in queries:
        if not q.lstrip().upper().startswith("SELECT"):
            continue
        lines = [r[0] for r in sql("EXPLAIN (ANALYZE, BUFFERS) " + q)]
        ms = next(
            (float(m.group(1)) for x in lines if (m := re.search(r"Execution Time: ([\d.]+) ms", x))), 0.0
        )
        seq = sorted({m.group(1) for x in lines if (m := re.search(r"Seq Scan on (\w+)", x))})
        plans.append({"sql": q, "ms": ms, "seq_scans": seq, "large_seq_scans": [t for t in seq if t in large],
                      "plan": "\n".join(lines)})  # fmt: skip
    return plans


# --- the run -------------------------------------------------------------------------------------


def cpu_calibration() -> dict:
    """How busy the shared machine is: a pure-Python loop (~0.5 s for 10M on an idle core
    here would be normal) and the load average, recorded next to the numbers."""
    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i
    return {"loop_2m_s": round(time.perf_counter() - started, 3), "loadavg": os.getloadavg()}


def summarize(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def batch(task: str, scale: str, repeat: int, rows: int = 0) -> dict:
    results = []
    for _ in range(repeat):
        cmd = [sys.executable, "-m", "bench.batch", task, "--scale", scale]
        if rows:
            cmd += ["--rows", str(rows)]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=server_env(scale))
        line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
        if line is None:
            raise RuntimeError(f"bench.batch {task} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        results.append(json.loads(line[len("RESULT ") :]))
        log(f"  {task}: {results[-1]}")
    merged = {"runs": results}
    for key in results[0]:
        if isinstance(results[0][key], int | float) and not isinstance(results[0][key], bool):
            merged[key] = summarize([r[key] for r in results])
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(SCALES), default="office")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each 50-client wrk run")
    parser.add_argument(
        "--batch-repeat", type=int, default=0, help="repeats of the batch tasks (default --repeat)"
    )
    parser.add_argument("--only", default="", help="comma list: web,batch,explain (default all)")
    parser.add_argument(
        "--paths", default="", help="web runs to do, e.g. get_floor,my_candidates (default all)"
    )
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or {"web", "batch", "explain"}
    scale = SCALES[args.scale]
    RESULTS.mkdir(exist_ok=True)
    ensure_wrk()
    setup_django(scale.name)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    out: dict = {
        "scale": scale.name,
        "repeat": args.repeat,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out["calibration_before"] = cpu_calibration()
    per_caller = scale.candidates // scale.callers
    n_users = min(scale.callers, 200)
    caller_ids = list(range(1, n_users + 1))
    office_user, leader_user = 1, 2  # caller 1 (user 2) leads team 1
    contact_body = (
        "channel=phone&outcome=no_answer&intent=none&duration_minutes=0&duration_seconds=30"
        "&new_owner_1=parent&new_owner_2=other"
    )
    mine = "/callbacks/mine/"
    team_dash = "/reports/dashboards/team/"
    office_dash = "/reports/dashboards/office/"

    # The nightly job's snapshot, as production has it: the office dashboard reads it (and takes
    # one in the request only when the season has none). Timed: it is the background refresh.
    if "explain" in only or "web" in only:
        from admissions.models import Season
        from reports.services import snapshot_take

        season = Season.objects.get(pk=1)  # the bench season (bench/generate.py)
        t0 = time.perf_counter()
        rows = snapshot_take(season=season)
        out["snapshot"] = {"seconds": time.perf_counter() - t0, "rows": rows}
        log(
            f"snapshot of the season (the nightly / background job): {rows} rows in {out['snapshot']['seconds']:.1f} s"
        )

    # query counts and plans (in-process, before the load so plans see the generated data)
    if "explain" in only:
        log("query counts and EXPLAIN ANALYZE of the request paths")
        large = large_tables()
        paths = {
            "get_floor": ("/bench/floor/get/", office_user, None),
            "my_candidates": (mine, 2 + 4, None),
            "log_contact": (f"/callbacks/candidates/{5 * per_caller + 1}/contacts/", 2 + 5, dict(
                channel="phone", outcome="no_answer", intent="none", duration_minutes=0, duration_seconds=30,
                new_owner_1="parent", new_owner_2="other")),
            "claim": ("/callbacks/pool/claim/", 2 + 6, {"count": 1}),
            "team_dashboard": (team_dash, leader_user, None),
            "office_dashboard": (office_dash, office_user, None),
        }  # fmt: skip
        out["queries"] = {}
        for name, (path, user, data) in paths.items():
            status, queries = capture(path, user, data)
            plans = explain(queries, large)
            out["queries"][name] = {"status": status, "count": len(queries), "plans": plans}
            log(f"  {name}: HTTP {status}, {len(queries)} queries, slowest "
                f"{max((p['ms'] for p in plans), default=0):.2f} ms, large seq scans "
                f"{sorted({t for p in plans for t in p['large_seq_scans']})}")  # fmt: skip
        reset_pool(scale.candidates)

    if "web" in only:
        sessions = make_sessions([office_user, *[k + 1 for k in caller_ids]])
        log(f"starting gunicorn on {BASE} ({len(sessions)} sessions)")
        server = start_server(scale.name)
        try:
            caller_session = {k: sessions[k + 1] for k in caller_ids}
            checks = {
                "my_candidates": fetch(mine, caller_session[3]),
                "team_dashboard": fetch(team_dash, sessions[leader_user]),
                "office_dashboard": fetch(office_dash, sessions[office_user]),
                "get_floor": fetch("/bench/floor/get/", sessions[office_user]),
                "post_floor": fetch("/bench/floor/post/", sessions[office_user], "x=1"),
            }
            out["checks"] = {k: v[0] for k, v in checks.items()}
            log(f"  status checks: {out['checks']}")
            items = {
                "get_floor": [("/bench/floor/get/", caller_session[k], "") for k in caller_ids],
                "post_floor": [("/bench/floor/post/", caller_session[k], "x=1") for k in caller_ids],
                "my_candidates": [(mine, caller_session[k], "") for k in caller_ids],
                "log_contact": [
                    (
                        f"/callbacks/candidates/{(k - 1) * per_caller + j + 1}/contacts/",
                        caller_session[k],
                        contact_body,
                    )
                    for j in range(0, per_caller, max(1, per_caller // 5))
                    for k in caller_ids
                ],
                "claim": [("/callbacks/pool/claim/", caller_session[k], "count=1") for k in caller_ids],
                "team_dashboard": [(team_dash, sessions[leader_user], "")],
                "office_dashboard": [(office_dash, sessions[office_user], "")],
            }
            status, _body = fetch(items["log_contact"][0][0], caller_session[1], contact_body)
            out["checks"]["log_contact"] = status
            log("  warm-up")
            wrk("warmup", items["get_floor"], connections=50, seconds=3)
            wrk("warmup", items["my_candidates"], connections=10, seconds=2)
            runs: dict[str, list[dict]] = {}
            plan = [
                ("get_floor", 50, args.seconds, False),
                ("my_candidates", 50, args.seconds, False),
                ("my_candidates_single", 1, 5, False),
                ("post_floor", 50, args.seconds, False),
                ("log_contact", 50, args.seconds, True),
                ("log_contact_single", 1, 5, True),
                ("claim", 50, args.seconds, False),
                ("team_dashboard_single", 1, 5, False),
                ("office_dashboard_single", 1, 5, False),
            ]
            if args.paths:
                plan = [p for p in plan if p[0] in args.paths.split(",")]
            for r in range(args.repeat):
                log(f"round {r + 1}/{args.repeat}")
                for name, conns, secs, htmx in plan:
                    key = name.removesuffix("_single")
                    if name == "claim":
                        reset_pool(scale.candidates)
                    res = wrk(name, items[key], connections=conns, seconds=secs, htmx=htmx)
                    if name == "claim":
                        res.update(claim_stats())
                        res["claims_per_s"] = res["claimed"] / (res["duration_us"] / 1e6)
                        # the claimed candidates leave again: every round's "my candidates" sees
                        # each caller's own 100 (more would add the pager's count to the page)
                        reset_pool(scale.candidates)
                    runs.setdefault(name, []).append(res)
                    log(f"  {name}: {res['rps']:.0f} req/s p50 {res['p50_ms']:.1f} p95 {res['p95_ms']:.1f} "
                        f"p99 {res['p99_ms']:.1f} ms bad {res['bad']}"
                        + (f" claimed {res['claimed']} doubles {res['double_assignments']}" if name == "claim" else ""))  # fmt: skip
            out["web"] = {
                name: {
                    **{
                        k: summarize([x[k] for x in rs]) for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "bad")
                    },
                    **(
                        {
                            k: summarize([x[k] for x in rs])
                            for k in ("claims_per_s", "claimed", "double_assignments")
                        }
                        if name == "claim"
                        else {}
                    ),
                    "runs": rs,
                }
                for name, rs in runs.items()
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
        reset_pool(scale.candidates)

    if "batch" in only:
        log("batch benchmarks")
        repeat = args.batch_repeat or args.repeat
        out["batch_repeat"] = repeat
        out["batch"] = {
            "payout": batch("payout", scale.name, repeat),
            "workbook": batch("workbook", scale.name, repeat),
            "export_limit": batch("export_limit", scale.name, repeat),
            "import_limit": batch("import_limit", scale.name, repeat),
            "import_full": batch("import_full", scale.name, repeat),
            "import_ie": batch("import_ie", scale.name, repeat),
            "reconcile": batch("reconcile", scale.name, repeat),
        }

    out["calibration_after"] = cpu_calibration()
    out["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out["season_year"] = SEASON_YEAR
    path = RESULTS / f"{scale.name}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.update(out)
    path.write_text(json.dumps(previous, indent=1, default=str))
    from bench.report import write_report

    write_report(previous, RESULTS / f"{scale.name}.md")
    log(f"wrote {path} and {scale.name}.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
