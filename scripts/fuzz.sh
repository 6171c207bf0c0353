#!/usr/bin/env bash
# Fuzzes every untrusted reader with libFuzzer (cargo fuzz), each target for SECONDS (default 30),
# from seeds taken from events/ and fuzz/regressions/. A crash fails the script; its input is
# left in fuzz/artifacts/<target>/ — fix the bug, then save the input under
# fuzz/regressions/<target>/ so the unit tests replay it for good.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#   FUZZ_RUNS=10000000 bash scripts/fuzz.sh 0 order_body   # a number of executions instead of a time
#   FUZZ_MAX_LEN=65536 bash scripts/fuzz.sh 60 import_file   # larger inputs (default 8192 bytes)
#   FUZZ_JOBS=1 bash scripts/fuzz.sh 30                      # one target at a time (default: one per core)
#
# cargo-fuzz is installed into ORDERFLOW_TOOLS (default .tools); the targets build into
# ORDERFLOW_FUZZ_TARGET_DIR (default fuzz/target), instrumented, without a sanitizer (the code is
# safe Rust: coverage guidance and the checks' assertions are what find bugs here).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
shift || true
TOOLS=${ORDERFLOW_TOOLS:-.tools}
TARGET_DIR=${ORDERFLOW_FUZZ_TARGET_DIR:-fuzz/target}
ALL="order_body import_file log_line sqs_event s3_event stream_event http_event object_key object_key_write"
TARGETS=${*:-$ALL}

if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
  cargo install --quiet --locked cargo-fuzz --version 0.13.2 --root "$TOOLS"
fi
FUZZ=("$(cd "$TOOLS/bin" && pwd)/cargo-fuzz")
# libFuzzer's flags need a nightly compiler; the machine's stable one takes them with this.
export RUSTC_BOOTSTRAP=1
TARGET_DIR=$(mkdir -p "$TARGET_DIR" && cd "$TARGET_DIR" && pwd)
(cd fuzz && "${FUZZ[@]}" build -s none --target-dir "$TARGET_DIR")

# ORDERFLOW_FUZZ_CORPUS keeps the corpora between runs (a long run grows them); by default each
# run starts again from the seeds.
CORPUS=${ORDERFLOW_FUZZ_CORPUS:-}
KEEP=${CORPUS:+yes}
CORPUS=${CORPUS:-$(mktemp -d -t orderflow-corpus.XXXXXX)}
mkdir -p "$CORPUS"
cleanup() { if [ -z "$KEEP" ]; then rm -rf "$CORPUS"; fi; }
trap cleanup EXIT
seed() { # seed TARGET FILE... : each file as one input
  local dir="$CORPUS/$1"; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"; done
}
seed_lines() { # seed_lines TARGET FILE... : each line as one input
  local dir="$CORPUS/$1" n=0; shift
  mkdir -p "$dir"
  for f in "$@"; do
    while IFS= read -r line; do n=$((n + 1)); printf '%s' "$line" > "$dir/line-$n"; done < "$f"
  done
}
for t in $ALL; do seed "$t" fuzz/regressions/"$t"/*; done
seed_lines order_body events/orders.jsonl events/pending-orders.jsonl
for f in events/orders.jsonl events/pending-orders.jsonl; do # flags byte: JSON Lines, plain or gzip
  { printf '\x00\x11'; cat "$f"; } > "$CORPUS/import_file/$(basename "$f")"
  { printf '\x02\x05'; cat "$f"; } > "$CORPUS/import_file/$(basename "$f").gz-in-harness"
done
{ printf '\x01\x11'; cat events/orders.csv; } > "$CORPUS/import_file/orders.csv"
{ printf '\x05\x03'; cat events/orders.csv.gz; } > "$CORPUS/import_file/orders.csv.gz"
{ printf '\x09\x0b'; cat events/orders.csv; } > "$CORPUS/import_file/orders.csv.small-limits"
seed sqs_event events/sqs-*.json
seed s3_event events/s3-*.json
seed stream_event events/stream-*.json
seed http_event events/http/*.json

# Targets run side by side, FUZZ_JOBS at a time (default: one per core), each for its own
# SECONDS: the same time per target as one after another, in a fraction of the wall time.
JOBS=${FUZZ_JOBS:-$(nproc)}
fuzz_one() { # fuzz_one TARGET: runs it, prints its stats; non-zero when it found a crash
  local t=$1 log="$CORPUS/$1.log"
  local args=(-max_len="${FUZZ_MAX_LEN:-8192}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  if [ -n "${FUZZ_RUNS:-}" ]; then args+=(-runs="$FUZZ_RUNS"); else args+=(-max_total_time="$SECONDS_EACH"); fi
  local ok=0
  (cd fuzz && "${FUZZ[@]}" run -s none --target-dir "$TARGET_DIR" "$t" "$CORPUS/$t" -- "${args[@]}") >"$log" 2>&1 || ok=1
  # object_key_write's scratch bucket (src/fuzz/object_key.rs), named after the fuzzer's pid.
  if [ "$t" = object_key_write ]; then rm -rf /dev/shm/orderflow-fuzz-* /tmp/orderflow-fuzz-* 2>/dev/null || true; fi
  echo "== fuzz $t (${SECONDS_EACH}s${FUZZ_RUNS:+, $FUZZ_RUNS runs})"
  if [ "$ok" -ne 0 ]; then
    tail -60 "$log"
    echo "fuzz target $t failed: its input is in fuzz/artifacts/$t/"
    return 1
  fi
  grep -E '^#[0-9]+ +DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
}
failed=0
running=0
for t in $TARGETS; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
if [ "$failed" -ne 0 ]; then
  echo "fuzzing failed"
  exit 1
fi
echo "fuzzing passed: $TARGETS"
