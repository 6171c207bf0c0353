#!/usr/bin/env bash
# Soak test of `orderflow run` on the embedded default: a steady producer (enqueue + upload +
# insert every 2 s, with duplicates, conflicting resends, malformed and invalid records mixed
# in) against one long-running `orderflow run`. Every 10 s it samples the run's RSS and open
# file descriptors. At the end it stops the run (SIGTERM), drains what is left, and checks:
#   - every valid order stored exactly once and ACCEPTED, every PENDING row completed once;
#   - nothing applied twice (one INSERT change record per key, at most one MODIFY);
#   - nothing left in the queues (none dead-lettered: the bad records are rejections, not retries);
#   - RSS and open fds after warm-up (the first third) never grow more than 10 % above their
#     level just after warm-up (the spread, memory given back included, is printed).
#
#   bash scripts/soak.sh [MINUTES]      (default 10; not part of the test command: a benchmark)
#
# CARGO_TARGET_DIR is honoured. Exits non-zero on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
cargo build --release --quiet --bin orderflow
OF=$(realpath "${CARGO_TARGET_DIR:-target}")/release/orderflow
W=$(mktemp -d -t orderflow-soak.XXXXXX)
RUN_PID=
trap '[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; rm -rf "$W"' EXIT
D="$W/data"

"$OF" run --data-dir "$D" --quiet >"$W/run.out" 2>"$W/run.err" &
RUN_PID=$!
echo "soak: orderflow run (pid $RUN_PID) for $MINUTES min on $D; load $(cut -d' ' -f1-3 /proc/loadavg)"

# One round of input: 50 orders to enqueue (+ 5 exact duplicates of the last round, 1 malformed
# line, 1 invalid order, 1 resend of an old id with other content), a 20-order CSV upload with one
# bad row, and 20 PENDING rows inserted straight into the table.
produce() {
  local r=$1
  python3 - "$W" "$r" <<'PY'
import json, sys
w, r = sys.argv[1], int(sys.argv[2])
def order(oid, qty=2, price="19.99", rnd=r):
    return {"order_id": oid, "customer_id": f"cust-{rnd % 37}", "currency": "USD",
            "items": [{"sku": "SKU-1", "quantity": qty, "unit_price": price},
                      {"sku": "SKU-2", "quantity": 1, "unit_price": "5.25"}], "tax_rate": "0.0825"}
lines = [json.dumps(order(f"q-{r}-{i}")) for i in range(50)]
if r > 0:
    lines += [json.dumps(order(f"q-{r-1}-{i}", rnd=r - 1)) for i in range(5)]   # exact duplicates
    lines.append(json.dumps(order(f"q-{r-1}-7", qty=9, rnd=r - 1)))            # conflicting resend
lines.append('{"order_id": "broken-%d", "items": [' % r)                       # malformed
lines.append(json.dumps(order(f"bad-{r}", qty=-1)))                            # invalid
open(f"{w}/enqueue.jsonl", "w").write("\n".join(lines) + "\n")
rows = ["order_id,customer_id,currency,sku,quantity,unit_price,discount_percent,tax_rate"]
rows += [f"u-{r}-{i},cust-{i % 11},USD,SKU-9,1,3.50,0,0.1" for i in range(20)]
rows.append(f"u-{r}-bad,cust-1,USD,SKU-9,many,3.50,0,0.1")
open(f"{w}/upload.csv", "w").write("\n".join(rows) + "\n")
open(f"{w}/insert.jsonl", "w").write("\n".join(json.dumps(order(f"p-{r}-{i}")) for i in range(20)) + "\n")
PY
  "$OF" enqueue "$W/enqueue.jsonl" --data-dir "$D" >/dev/null 2>&1
  "$OF" upload "$W/upload.csv" --key "incoming/round-$r.csv" --data-dir "$D" >/dev/null 2>&1
  "$OF" insert "$W/insert.jsonl" --data-dir "$D" >/dev/null 2>&1
}

sample() { # seconds-since-start rss_kb fds
  local rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$RUN_PID/status")
  fds=$(ls "/proc/$RUN_PID/fd" | wc -l)
  echo "$1 $rss $fds" >>"$W/samples"
  # RssFile: the database pages the readers' memory maps have touched (it grows with the file).
  echo "  t=${1}s rss=${rss} KB ($(awk '/^RssAnon:|^RssFile:/ {printf "%s %s KB ", $1, $2}' "/proc/$RUN_PID/status")) fds=${fds} load $(cut -d' ' -f1-3 /proc/loadavg)"
}

start=$(date +%s)
end=$((start + MINUTES * 60))
rounds=0
next_sample=$start
while [ "$(date +%s)" -lt "$end" ]; do
  kill -0 "$RUN_PID" 2>/dev/null || { echo "FAIL: orderflow run died"; cat "$W/run.err"; exit 1; }
  produce "$rounds"
  rounds=$((rounds + 1))
  now=$(date +%s)
  if [ "$now" -ge "$next_sample" ]; then
    sample $((now - start))
    next_sample=$((next_sample + 10))
  fi
  sleep 2
done

kill -TERM "$RUN_PID"
wait "$RUN_PID" || { echo "FAIL: orderflow run exited non-zero"; tail -5 "$W/run.err"; exit 1; }
RUN_PID=
"$OF" run --drain --quiet --data-dir "$D" >/dev/null 2>"$W/drain.err"
grep -h 'stopped after' "$W/run.err" "$W/drain.err" | sed 's/^/  /'

q() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$D/orderflow.db" "$1"; }
fail=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then echo "  ok   $1: $3"; else echo "  FAIL $1: expected $2, got $3"; fail=1; fi
}
echo "soak: $rounds rounds produced; checking the store"
check "queued orders accepted" $((rounds * 50)) "$(q "SELECT COUNT(*) FROM orders WHERE order_id LIKE 'q-%' AND status = 'ACCEPTED'")"
check "uploaded orders accepted" $((rounds * 20)) "$(q "SELECT COUNT(*) FROM orders WHERE order_id LIKE 'u-%' AND status = 'ACCEPTED'")"
check "inserted PENDING rows accepted" $((rounds * 20)) "$(q "SELECT COUNT(*) FROM orders WHERE order_id LIKE 'p-%' AND status = 'ACCEPTED'")"
check "keys inserted twice" 0 "$(q "SELECT COUNT(*) FROM (SELECT order_id FROM changes WHERE event_name = 'INSERT' GROUP BY order_id HAVING COUNT(*) > 1)")"
check "rows completed twice" 0 "$(q "SELECT COUNT(*) FROM (SELECT order_id FROM changes WHERE event_name = 'MODIFY' GROUP BY order_id HAVING COUNT(*) > 1)")"
check "exact resends acknowledged as duplicates" $((5 * (rounds - 1))) "$(grep -ho '[0-9]* duplicate' "$W/run.err" "$W/drain.err" | awk '{n += $1} END {print n + 0}')"
check "messages left or dead-lettered" 0 "$(q "SELECT COUNT(*) FROM queue_messages")"
# Rejections: per round 1 malformed + 1 invalid (+ 1 conflict after the first), 1 bad CSV row.
check "rejections stored" $((rounds * 3 + rounds - 1)) "$(q "SELECT COUNT(*) FROM orders WHERE order_id LIKE 'rejected#%'")"

# Leak check: after warm-up, no sample more than 10 % above the mean of the first post-warm-up
# quarter (memory given back to the system is no leak: the spread is printed, not judged).
python3 - "$W/samples" <<'PY' || fail=1
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
after = rows[len(rows) // 3:]
base = after[: max(1, len(after) // 4)]
ok = True
for name, i in (("RSS KB", 1), ("open fds", 2)):
    vals = [r[i] for r in after]
    ref = sum(r[i] for r in base) / len(base)
    mean = sum(vals) / len(vals)
    growth = max(vals) / ref - 1
    spread = max(abs(v - mean) / mean for v in vals)
    verdict = "ok  " if growth <= 0.10 else "FAIL"
    ok &= growth <= 0.10
    print(f"  {verdict} {name} after warm-up: {len(vals)} samples, min {min(vals)}, max {max(vals)}, "
          f"first-quarter mean {ref:.0f}, highest {growth:+.1%} above it, last {vals[-1]} "
          f"(spread {spread:.1%} around the mean {mean:.0f})")
sys.exit(0 if ok else 1)
PY
[ "$fail" = 0 ] && echo "soak: passed" || { echo "soak: FAILED"; exit 1; }
