"""The database goes away while the site runs: a real gunicorn process on a throwaway database.

1. Mid-request: a caller logs a contact with a new phone number; another session holds an
   uncommitted insert of the same number, so the request stops *after* it inserted the contact
   and updated the candidate, inside its transaction. Its backend is then terminated
   (`pg_terminate_backend`, what a crash or a restart does to it). The caller gets the Chinese 500
   page — no traceback, no SQL — and nothing of the half-done request is in the database.
2. Restart: every backend of the database is terminated between two requests (the gunicorn
   worker keeps a persistent connection, CONN_MAX_AGE). The next request still works: Django's
   CONN_HEALTH_CHECKS notices the dead connection and opens a new one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import requests
from django.utils import timezone

from callbacks.demo import DEMO_PASSWORD
from tests.deploy.test_multiprocess import ROOT, free_port, fresh_database, one, wait_for

NEW_NUMBER = "13900000077"


def contact_form(csrf: str, **extra) -> dict:
    return {
        "csrfmiddlewaretoken": csrf,
        "contacted_at": timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone",
        "phone_number": "",
        "outcome": "connected",
        "intent": "confirmed",
        "duration_minutes": "2",
        "duration_seconds": "0",
        "notes": "数据库重启测试",
        "new_phone_1": "",
        "new_owner_1": "parent",
        "new_phone_2": "",
        "new_owner_2": "other",
        "next_call_at": "",
        **extra,
    }


def counts(db: dict, candidate_id: int) -> tuple:
    return one(
        db,
        """SELECT c.contact_count, c.contact_seconds, c.status,
                  (SELECT count(*) FROM callbacks_contactlog l WHERE l.candidate_id = c.id),
                  (SELECT count(*) FROM admissions_candidatephone p WHERE p.candidate_id = c.id)
           FROM admissions_candidate c WHERE c.id = %s""",
        (candidate_id,),
    )


def terminate(db: dict, where: str) -> int:
    with psycopg.connect(**db) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND {where}"
        ).fetchall()
    return len(rows)


def test_database_killed_mid_request_and_restarted(tmp_path):
    with fresh_database() as (database_url, db):
        env = {
            "DJANGO_SETTINGS_MODULE": "callback_office.settings",
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # no Redis: not needed here
            "CALLBACK_VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
        }
        setup = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.core.management import call_command as c; c('migrate', verbosity=0);"
                "c('seed_demo', candidates=40, callers=4, teams=1, no_previous=True, verbosity=0)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert setup.returncode == 0, setup.stderr[-3000:]
        (candidate_id, username) = one(
            db,
            """SELECT a.candidate_id, u.username FROM callbacks_assignment a
               JOIN callbacks_caller k ON k.id = a.caller_id JOIN auth_user u ON u.id = k.user_id
               JOIN admissions_candidate c ON c.id = a.candidate_id
               WHERE a.active AND k.qualification_status = 'qualified' AND NOT k.is_strike
                 AND c.status NOT IN ('withdrawn', 'withdrawal_requested')
               ORDER BY a.id LIMIT 1""",
        )
        port = free_port()
        logs = tmp_path / "logs"
        logs.mkdir()
        log = (logs / "web.log").open("w")
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(
                lambda: requests.get(base + "/accounts/login/", timeout=2).status_code == 200,
                timeout=30,
                what="gunicorn",
                logs=logs,
            )
            _scenario(base, db, username, candidate_id, logs)
        finally:
            web.terminate()
            web.wait(timeout=10)


def _scenario(base: str, db: dict, username: str, candidate_id: int, logs) -> None:
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    page_url = f"{base}/callbacks/candidates/{candidate_id}/"
    contact_url = page_url + "contacts/"
    assert session.get(page_url, timeout=10).status_code == 200
    csrf = session.cookies["csrftoken"]
    before = counts(db, candidate_id)

    # --- 1. killed mid-request, after its INSERT and UPDATE, before COMMIT -----------------------
    blocker = psycopg.connect(**{**db, "autocommit": False})  # an uncommitted insert of the same number
    blocker.execute(
        "INSERT INTO admissions_candidatephone (candidate_id, number, owner, note, added_at) "
        "VALUES (%s, %s, 'other', '', now())",
        (candidate_id, NEW_NUMBER),
    )
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(
            session.post, contact_url, data=contact_form(csrf, new_phone_1=NEW_NUMBER), timeout=30
        )
        waiting = []

        def request_is_waiting() -> bool:
            waiting[:] = [
                row[0]
                for row in psycopg.connect(**db)
                .execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%%candidatephone%%'"
                )
                .fetchall()
            ]
            return len(waiting) == 1

        wait_for(request_is_waiting, timeout=20, what="the request to wait on the phone row", logs=logs)
        # inside the request's transaction: contact inserted, candidate updated (not visible here)
        assert terminate(db, f"pid = {waiting[0]}") == 1
        killed = future.result(timeout=30)
    blocker.rollback()
    blocker.close()

    assert killed.status_code == 500
    body = killed.text
    assert "服务器暂时无法完成这次操作，刚才的操作没有保存" in body
    for leak in ("Traceback", "psycopg", "OperationalError", "SELECT", "INSERT", "admissions_"):
        assert leak not in body, leak
    assert counts(db, candidate_id) == before  # nothing half-written: no log, no counter, no phone

    # --- the next request on the same worker works ---------------------------------------------
    t0 = time.monotonic()
    assert session.get(page_url, timeout=10).status_code == 200
    first_after_kill = time.monotonic() - t0

    # --- 2. "restart": every backend of the database terminated between two requests -------------
    terminated = terminate(db, "backend_type = 'client backend'")
    assert terminated >= 1  # at least the gunicorn worker's persistent connection
    t0 = time.monotonic()
    ok = session.post(
        contact_url, data=contact_form(csrf, new_phone_1=NEW_NUMBER), timeout=30, allow_redirects=False
    )
    first_after_restart = time.monotonic() - t0
    assert ok.status_code == 302, ok.text[:300]
    after = counts(db, candidate_id)
    assert after[0] == before[0] + 1 and after[3] == before[3] + 1 and after[4] == before[4] + 1
    assert after[1] == before[1] + 120
    print(
        f"\nkilled request: 500 in {killed.elapsed.total_seconds():.2f}s; next request "
        f"{first_after_kill * 1000:.0f} ms; {terminated} backends terminated, next request "
        f"{first_after_restart * 1000:.0f} ms"
    )
