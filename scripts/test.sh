#!/usr/bin/env bash
# Runs every test of orderflow on a fresh machine: installs moto (and the infra checkers) into a
# virtualenv, starts moto_server on a free loopback port, runs fmt, clippy and cargo test (unit,
# handler, fault, CLI and moto tests), 30 s of each fuzz target, the infra checks and the
# packaging check, then stops moto.
#
#   bash scripts/test.sh
#
# ORDERFLOW_VENV (default .venv), ORDERFLOW_TOOLS (cargo-fuzz, default .tools),
# ORDERFLOW_FUZZ_TARGET_DIR (default fuzz/target) and CARGO_TARGET_DIR may point outside the
# checkout to reuse installs and builds between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${ORDERFLOW_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check "moto[server]==5.2.5"
"$PY" -m pip install --quiet --disable-pip-version-check "cargo-lambda==1.9.2"
export CARGO_LAMBDA="$(cd "$VENV/bin" && pwd)/cargo-lambda"

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LOG=$(mktemp -t moto.XXXXXX.log)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
stop_moto() { kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; }
trap stop_moto EXIT
for _ in $(seq 1 60); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/')" 2>/dev/null; then break; fi
  if ! kill -0 "$MOTO_PID" 2>/dev/null; then echo "moto_server exited:"; cat "$LOG"; exit 1; fi
  sleep 0.5
done
export ORDERFLOW_TEST_MOTO_ENDPOINT="http://127.0.0.1:$PORT"
echo "moto_server on $ORDERFLOW_TEST_MOTO_ENDPOINT"

# The HTML report's browser test (tests/it/report/html.rs, scripts/browser_check.py) needs Debian's
# Chromium and its chromedriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# The library's unit tests and the integration tests (tests/it). Examples and benches are compiled
# (checked) by clippy above; there are no doc tests. The integration tests mostly wait — on moto,
# on child processes, on the Lambda emulator — so they run eight at a time: 45 s -> 24 s on this
# 2-core machine, at the same CPU time.
RUST_TEST_THREADS=${RUST_TEST_THREADS:-8} cargo test --locked --lib --tests
# Every untrusted reader under libFuzzer for 30 s each (scripts/fuzz.sh says how to run longer).
bash scripts/fuzz.sh 30

if [ -f scripts/check-infra.sh ]; then
  PYTHON="$PY" bash scripts/check-infra.sh
fi
if [ -f scripts/check-package.sh ]; then
  PYTHON="$PY" bash scripts/check-package.sh
fi
echo "all tests passed"
