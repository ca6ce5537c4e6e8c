#!/usr/bin/env bash
# The README's test command: sets up everything and runs the whole suite against real
# PostgreSQL and Redis, plus the static checks. `.ci/run` calls exactly this (make test).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
apt_install postgresql redis-server chromium fonts-wqy-microhei gettext
ensure_venv test
export PGPORT="${PGPORT:-5439}" REDIS_PORT="${REDIS_PORT:-6389}"
start_postgres
start_redis "$REDIS_PORT" /tmp/callback-office-redis-test
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$PGPORT/callback_office}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
export CALLBACK_VAR_DIR="${CALLBACK_VAR_DIR:-/tmp/callback-office-test-var}"
# makemigrations --check looks at the migration history, so the database must exist.
"$PY" - <<'PYEOF'
import os, dj_database_url, psycopg
cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
if cfg["ENGINE"].endswith("postgresql"):
    with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"], user=cfg["USER"], dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            c.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
PYEOF

log "static checks"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" manage.py check
"$PY" manage.py makemigrations --check --dry-run >/dev/null

log "tests (PostgreSQL + Redis + chromium)"
"$PY" -m pytest -q "$@"
if [ -z "${SKIP_SQLITE:-}" ]; then
  log "tests that must also hold on the embedded default (SQLite)"
  DATABASE_URL="sqlite:///$CALLBACK_VAR_DIR/test.sqlite3" "$PY" -m pytest -q -m "sqlite" "$@"
fi
