"""README command 1 (`make demo` = scripts/demo.sh) really starts the whole app on its embedded
defaults: SQLite, the local Redis, an RQ worker that runs jobs, the single cron process and the
web server with a demo season a user can log in to. Ctrl-C (SIGTERM here) stops them all.

Runs the real script in its own process group on free ports with a small season, so it does not
touch `var/` or a developer's running demo.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests
from rq import Queue, Worker

from callbacks.demo import DEMO_PASSWORD, OFFICE_USERNAME

ROOT = Path(__file__).resolve().parents[2]
READY = "Callback Office: http://"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_commands(pgid: int) -> list[str]:
    """Command lines of the live processes in a process group (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        # fields after ")": state, ppid, pgrp ...; zombies have finished
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(cmdline)
    return found


@pytest.fixture
def demo(tmp_path):
    web_port, redis_port = free_port(), free_port()
    drop = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}  # the embedded defaults, please
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        PORT=str(web_port),
        REDIS_PORT=str(redis_port),
        CALLBACK_VAR_DIR=str(tmp_path / "var"),
        DEMO_CANDIDATES="400",
    )
    proc = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail("demo.sh stopped before the app was up:\n" + "".join(output))
            output.append(line)
            if READY in line:
                break
        else:
            pytest.fail("demo.sh was not up within 300 s:\n" + "".join(output))
        yield proc, web_port, redis_port, "".join(output)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        with contextlib.suppress(redis.RedisError):  # already gone (or never started)
            redis.Redis(port=redis_port).shutdown(nosave=True)


def test_make_demo_starts_web_worker_and_cron_then_stops_cleanly(demo):
    proc, web_port, redis_port, output = demo
    base = f"http://127.0.0.1:{web_port}"

    # every role's demo login is printed with the password
    assert DEMO_PASSWORD in output
    assert OFFICE_USERNAME in output

    # the three processes of the script's group are alive: worker, cron, web
    commands = group_commands(proc.pid)
    assert any("rqworker default imports nightly" in c for c in commands), commands
    assert any("rqcron callback_office.cron" in c for c in commands), commands
    assert any("runserver" in c for c in commands), commands

    # the web server answers, health checks database and Redis, the office logs in to the demo
    health = requests.get(f"{base}/healthz", timeout=10)
    assert health.status_code == 200, health.text
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": OFFICE_USERNAME, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
    )
    assert response.status_code == 200
    assert "/accounts/login/" not in response.url, response.url  # not bounced back to the form
    home = session.get(f"{base}/", timeout=30)
    assert home.status_code == 200
    assert "/accounts/login/" not in home.url

    # the worker on the embedded Redis takes jobs from the app's queues and runs them
    connection = redis.Redis(port=redis_port)
    workers = Worker.all(connection=connection)
    assert len(workers) == 1
    assert set(workers[0].queue_names()) == {"default", "imports", "nightly"}
    job = Queue("default", connection=connection).enqueue("os.getpid")
    deadline = time.monotonic() + 60
    while job.get_status(refresh=True) not in ("finished", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.get_status() == "finished"
    assert isinstance(job.return_value(), int)

    # Ctrl-C: the script stops the worker, cron and web server, and nothing is left behind
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while group_commands(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_commands(proc.pid) == []
