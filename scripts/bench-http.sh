#!/usr/bin/env bash
# The HTTP front door's whole-process figure: `orderflow serve` on the embedded default (a fresh
# data dir), `examples/http_load.rs` posting distinct orders over 64 keep-alive connections on
# loopback for 10 s, then the stored count checked. Prints the load average beside the result.
#
#   bash scripts/bench-http.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-64}
SECONDS_=${2:-10}
cargo build --release --quiet --bin orderflow --example http_load
TARGET=${CARGO_TARGET_DIR:-target}
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$TARGET/release/orderflow" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >/dev/null 2>"$DATA/access.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  sleep 0.1
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/examples/http_load" "http://127.0.0.1:$PORT/orders" "$CONNECTIONS" "$SECONDS_"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM $SERVER; wait $SERVER || true
echo "stored: $("$TARGET/release/orderflow" orders --data-dir "$DATA" --format json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), "records,", sum(1 for x in r if x["status"]=="ACCEPTED"), "accepted")')"
