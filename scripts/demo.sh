#!/usr/bin/env bash
# The README's demo command: environment, packages, SQLite, demo season, embedded Redis, an RQ
# worker with its scheduler, the single rq cron process, and the web server. Ctrl-C stops the
# worker, cron and web server (Redis keeps running in the background; it holds nothing durable).
#
# Environment: PORT (8000), HOST (127.0.0.1), REDIS_PORT (6390), CALLBACK_VAR_DIR (var/), DEMO_CANDIDATES (10000).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv ""
export CALLBACK_VAR_DIR="${CALLBACK_VAR_DIR:-$ROOT/var}"
export DEBUG="${DEBUG:-1}"
REDIS_PORT="${REDIS_PORT:-6390}"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
mkdir -p "$CALLBACK_VAR_DIR"

start_redis "$REDIS_PORT" "$CALLBACK_VAR_DIR/redis"
log "migrating the SQLite database in $CALLBACK_VAR_DIR"
"$PY" manage.py migrate -v0
"$PY" manage.py collectstatic --noinput -v0
if ! "$PY" manage.py seed_demo --check >/dev/null 2>&1; then
  log "generating the demo season (${DEMO_CANDIDATES:-10000} candidates; under a minute)"
  "$PY" manage.py seed_demo --candidates "${DEMO_CANDIDATES:-10000}"
fi

pids=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping the web server, worker and cron"
    kill "${pids[@]}" 2>/dev/null || true
    # rq's cron process notices a stop only after its sleep (up to 60 s); it holds nothing
    # worth waiting for, so whoever is still up after 10 s is killed.
    for _ in $(seq 100); do
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

"$PY" manage.py rqworker default imports nightly --with-scheduler >"$CALLBACK_VAR_DIR/worker.log" 2>&1 &
pids+=($!)
"$PY" manage.py rqcron callback_office.cron >"$CALLBACK_VAR_DIR/cron.log" 2>&1 &
pids+=($!)
"$PY" manage.py runserver "$HOST:$PORT" --noreload >"$CALLBACK_VAR_DIR/web.log" 2>&1 &
pids+=($!)

# The web server answers once it is up; a worker or cron that died at start is reported now.
for _ in $(seq 100); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" 2>/dev/null && break
  sleep 0.3
done
names=(worker cron web)
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    log "the ${names[$i]} process stopped; its log ($CALLBACK_VAR_DIR/${names[$i]}.log) ends with:"
    tail -20 "$CALLBACK_VAR_DIR/${names[$i]}.log" >&2
    exit 1
  fi
done

echo
"$PY" manage.py seed_demo --logins
echo
log "Callback Office: http://127.0.0.1:$PORT/   (admin: http://127.0.0.1:$PORT/admin/)"
log "logs: $CALLBACK_VAR_DIR/{web,worker,cron}.log — Ctrl-C stops"
# Wait for any of them to stop (or Ctrl-C), then stop the others.
wait -n "${pids[@]}" || true
