#!/usr/bin/env bash
# Set-up and entry points for a fresh clone: `bash scripts/dev.sh serve` or `bash scripts/dev.sh test`.
# Creates .venv (Python >= 3.11), installs the package with its dev extras, installs the Node side from
# package-lock.json, then runs the command. Re-running skips what is already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      python=$candidate
      break
    fi
  done
fi
[ -n "$python" ] || { echo "error: Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "error: npm (Node 20) is required" >&2; exit 2; }

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
py_stamp=$(stamp pyproject.toml)
if [ "$(cat .venv/.defiscope-installed 2>/dev/null)" != "$py_stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$py_stamp" > .venv/.defiscope-installed
fi
node_stamp=$(stamp package.json package-lock.json)
if [ "$(cat node_modules/.defiscope-installed 2>/dev/null)" != "$node_stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$node_stamp" > node_modules/.defiscope-installed
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The services the tests talk to (PostgreSQL, Redis, RabbitMQ) run on this machine kind; one that has stopped (the
# disk filled up, a restart) is started again with the machine's own command. Nothing to do when they are up.
start_services() {
  if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
  if command -v rabbitmq-server >/dev/null 2>&1 && ! listening 5672; then
    rabbitmq-server -detached || true
    for _ in $(seq 60); do listening 5672 && break; sleep 0.5; done  # the broker boots in a few seconds
  fi
}

command=${1:-}
shift || true
case "$command" in
  serve)
    exec .venv/bin/defiscope serve "$@"
    ;;
  test)
    start_services
    # The dashboard's browser test drives Debian's chromium (Playwright never downloads a browser here).
    if ! command -v chromium >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
      else
        echo "note: chromium is missing (apt-get install chromium); the browser test will skip outside CI" >&2
      fi
    fi
    .venv/bin/ruff check src tests benchmarks contracts
    .venv/bin/ruff format --check src tests benchmarks contracts
    .venv/bin/mypy src
    # Two workers (pytest-xdist), a test file each at a time: the suite waits on anvil and subprocesses as much
    # as it computes. DEFISCOPE_TEST_WORKERS=0 runs it in this process.
    # --durations: the slowest tests in every CI log, to keep the suite inside its budget.
    .venv/bin/pytest -n "${DEFISCOPE_TEST_WORKERS:-2}" --dist loadfile --durations=25 -m "not restarts_services" "$@"
    # Then, alone, the tests that restart the shared RabbitMQ or PostgreSQL (a restart would fail a test running
    # beside it). Exit 5 is "none selected" (a run narrowed by arguments to other tests).
    status=0
    .venv/bin/pytest -p no:randomly -m restarts_services "$@" || status=$?
    [ "$status" = 0 ] || [ "$status" = 5 ]
    ;;
  setup)
    echo "set up: .venv and node_modules are ready"
    ;;
  *)
    echo "usage: bash scripts/dev.sh {serve|test|setup} [args...]" >&2
    exit 2
    ;;
esac
