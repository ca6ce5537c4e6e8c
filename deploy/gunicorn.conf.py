"""gunicorn settings for Callback Office: `gunicorn -c deploy/gunicorn.conf.py`.

Every value can be overridden from the environment (GUNICORN_*), so one file serves a school's
single server and each web host of a larger set-up. See docs/deployment.md for the numbers.
"""

import gc
import json
import multiprocessing
import os

wsgi_app = "callback_office.wsgi:application"

# Listen on loopback behind nginx by default; a web host behind a load balancer binds 0.0.0.0.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: the app is database-bound with short requests (p99 ~65 ms GET, ~125 ms POST in
# the benchmarks). 2 × cores + 1 is the usual starting point; each worker holds one persistent
# PostgreSQL connection (CONN_MAX_AGE), so workers × web hosts must stay below max_connections.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

# Load the app once in the master, then fork: faster start, shared memory. Database
# connections are opened lazily per request, so nothing is shared across the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"


def when_ready(server):
    """The app is loaded (preload): freeze what it allocated, so that the workers' full garbage
    collections walk only what requests allocate, not Django's whole import-time heap (and the
    forked pages stay shared instead of being touched by the collector)."""
    if preload_app and os.environ.get("GUNICORN_GC_FREEZE", "1") == "1":
        gc.freeze()


# Imports and exports run in RQ workers, never in a request: 30 s is plenty for a page and
# kills a stuck worker instead of queueing users behind it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Recycle workers now and then (jittered so they do not all restart at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))

# Uploads (Excel lists up to IMPORT_MAX_BYTES, recordings) come through nginx, which buffers
# them; the limits on headers stay at gunicorn's safe defaults.
limit_request_line = 8190

# Trust X-Forwarded-* only from the proxy in front (comma separated addresses).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs to stdout/stderr (journald or the container runtime collects them). With LOG_FORMAT=json
# the access log is one JSON object per line, like the application's logs.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
if os.environ.get("LOG_FORMAT", "plain").lower() == "json":
    access_log_format = json.dumps(
        {
            "time": "%(t)s",
            "remote": "%({x-forwarded-for}i)s",
            "method": "%(m)s",
            "path": "%(U)s",
            "query": "%(q)s",
            "status": "%(s)s",
            "bytes": "%(B)s",
            "duration_us": "%(D)s",
            "user_agent": "%(a)s",
            "request_id": "%({x-request-id}i)s",
            "worker": "%(p)s",
        }
    )
else:
    access_log_format = '%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s" %(p)s'

proc_name = os.environ.get("GUNICORN_PROC_NAME", "callback-office")
