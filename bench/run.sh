#!/usr/bin/env bash
# One command for the benchmark suite: `make bench SCALE=office` (or platform, tiny).
# Generates the bench database if it is missing (or BENCH_REGENERATE=1), then runs every
# benchmark, writes bench/results/<scale>.{json,md} and pastes the section into BENCHMARKS.md.
# Log-a-contact runs add contacts to the bench season; BENCH_REGENERATE=1 starts from a clean one.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
SCALE="${1:-${SCALE:-office}}"
# On a fresh machine: the packages, the virtualenv and the throwaway PostgreSQL of `make test`
# (unless BENCH_PG names another server).
apt_install postgresql wrk
ensure_venv test
if [ -z "${BENCH_PG:-}" ]; then
  PGPORT="${PGPORT:-5439}" start_postgres
fi
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:${PGPORT:-5439}}"
mkdir -p bench/results
loaded=$($PY - "$PG" "$SCALE" <<'PYEOF'
import sys, psycopg
try:
    with psycopg.connect(f"{sys.argv[1]}/bench_{sys.argv[2]}") as c:
        print(c.execute("select count(*) from callbacks_contactlog").fetchone()[0])
except Exception:
    print(0)
PYEOF
)
if [ "${BENCH_REGENERATE:-0}" = 1 ] || [ "$loaded" = 0 ]; then
  $PY -m bench.generate --scale "$SCALE"
fi
# the app's newer migrations (the bench database may predate them)
DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL="$PG/bench_$SCALE" SECRET_KEY="${SECRET_KEY:-bench-only}" \
  $PY manage.py migrate --noinput -v0
$PY -m bench.run --scale "$SCALE" --repeat "${BENCH_REPEAT:-3}"
$PY -m bench.inprocess --scale "$SCALE" --n 20 | grep RESULT > "bench/results/$SCALE-inprocess.json"
$PY -m bench.report "$SCALE" --explain
echo "results: bench/results/$SCALE.md (EXPLAIN plans: bench/results/$SCALE-explain.md)"
$PY -m bench.fill_benchmarks
