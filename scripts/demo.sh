#!/usr/bin/env bash
# The README's demo command: environment, packages, SQLite, demo season, embedded Redis, an RQ
# worker with its scheduler, the single rq cron process, and the web server. Ctrl-C stops all.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv ""
export CALLBACK_VAR_DIR="${CALLBACK_VAR_DIR:-$ROOT/var}"
export DEBUG="${DEBUG:-1}"
REDIS_PORT="${REDIS_PORT:-6390}"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
PORT="${PORT:-8000}"
mkdir -p "$CALLBACK_VAR_DIR"

start_redis "$REDIS_PORT" "$CALLBACK_VAR_DIR/redis"
"$PY" manage.py migrate -v0
"$PY" manage.py collectstatic --noinput -v0
if ! "$PY" manage.py seed_demo --check >/dev/null 2>&1; then
  log "generating the demo season (10,000 candidates; about a minute)"
  "$PY" manage.py seed_demo --candidates "${DEMO_CANDIDATES:-10000}"
fi

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
"$PY" manage.py rqworker default imports nightly --with-scheduler >"$CALLBACK_VAR_DIR/worker.log" 2>&1 & pids+=($!)
"$PY" manage.py rqcron callback_office.cron >"$CALLBACK_VAR_DIR/cron.log" 2>&1 & pids+=($!)
"$PY" manage.py seed_demo --logins
log "Callback Office: http://127.0.0.1:$PORT/  (worker and cron logs in $CALLBACK_VAR_DIR)"
"$PY" manage.py runserver "0.0.0.0:$PORT" --noreload
