#!/usr/bin/env bash
# Whole-process figures through the real embedded store (SQLite + the folder bucket, a fresh
# --data-dir each run), beside the same import on a store double, with the load average:
#   1. orderflow invoke sqs on one 10,000-message SQS event (3 items per order)
#   2. orderflow invoke s3 of a 1,000,000-line JSON Lines file (and examples/import_file, the
#      same import on a store double that keeps nothing, for the real/double ratio)
#   3. orderflow enqueue of 100,000 orders, then orderflow run --drain
#
#   bash scripts/bench-real-store.sh [RUNS]      (RUNS: repetitions of each, default 3)
#
# Not part of the test command: these are benchmarks. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
cargo build --release --quiet --bin orderflow --example generate_orders --example import_file
BIN=${CARGO_TARGET_DIR:-target}/release
OF=$BIN/orderflow
GEN=$BIN/examples/generate_orders
W=$(mktemp -d -t orderflow-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Runs a command under /usr/bin/time; prints wall seconds, then user+sys seconds and peak RSS.
timed() { /usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@"; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# Before each timed run: the previous run's writes (a 1M import leaves ~300 MB dirty) are flushed
# first, or their writeback competes with the run being timed.
settle() { sync; sleep 1; }

echo "== 1. orderflow invoke sqs, 10,000 messages (fresh data dir each run)"
"$GEN" sqs-event 10000 "$W/sqs.json"
for _ in $(seq "$RUNS"); do
  rm -rf "$W/d"
  settle
  before=$(load)
  timed "$OF" invoke sqs "$W/sqs.json" --data-dir "$W/d" >"$W/out" 2>/dev/null
  read -r wall user sys rss <"$W/time"
  grep -q '"batchItemFailures":\[\]' "$W/out" || { echo "failures reported: $(head -c 300 "$W/out")"; exit 1; }
  echo "  ${wall} s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}') s CPU, ${rss} KB peak RSS: $(rate 10000 "$wall") orders/s (load $before)"
done

echo "== 2. orderflow invoke s3, 1,000,000 lines (fresh data dir each run), and the store double"
"$GEN" jsonl 1000000 "$W/orders.jsonl"
"$GEN" s3-event orderflow-uploads incoming/orders.jsonl "$W/s3.json"
size=$(stat -c %s "$W/orders.jsonl")
for _ in $(seq "$RUNS"); do
  rm -rf "$W/d"
  "$OF" upload "$W/orders.jsonl" --key incoming/orders.jsonl --data-dir "$W/d" >/dev/null 2>&1
  settle
  before=$(load)
  timed "$OF" invoke s3 "$W/s3.json" --data-dir "$W/d" --timeout 300 >"$W/out" 2>/dev/null
  read -r wall user sys rss <"$W/time"
  summary=$(grep -o '"accepted":[0-9]*\|"handed_on":[0-9]*' "$W/out" | tr '\n' ' ')
  echo "  real store: ${wall} s wall, ${rss} KB peak RSS: $(rate 1000000 "$wall") orders/s, $(rate "$size" "$wall" | awk '{printf "%.1f", $1/1e6}') MB/s; $summary(load $before)"
  real=$wall
  rm -rf "$W/d"
  settle
  before=$(load)
  timed "$BIN/examples/import_file" "$W/orders.jsonl" >"$W/out"
  read -r wall user sys rss <"$W/time"
  echo "  double:     ${wall} s wall, ${rss} KB peak RSS: $(rate 1000000 "$wall") orders/s (load $before); real/double $(awk -v r="$real" -v d="$wall" 'BEGIN { printf "%.2f", r / d }')x"
done

echo "== 3. orderflow enqueue 100,000 orders, then orderflow run --drain"
"$GEN" jsonl 100000 "$W/100k.jsonl"
for _ in $(seq "$RUNS"); do
  rm -rf "$W/d"
  "$OF" enqueue "$W/100k.jsonl" --data-dir "$W/d" >/dev/null 2>&1
  settle
  before=$(load)
  timed "$OF" run --drain --quiet --data-dir "$W/d" >/dev/null 2>"$W/err"
  read -r wall user sys rss <"$W/time"
  echo "  ${wall} s wall, ${rss} KB peak RSS: $(rate 100000 "$wall") orders/s (load $before); $(grep -o 'stopped after.*orders/s' "$W/err" | sed 's/;.*;/;/')"
done
