#!/usr/bin/env bash
# Builds the Lambda zips natively (x86_64, plain cargo: no zig) and proves each one
# holds an executable `bootstrap` that starts and reaches the Lambda runtime client
# (lambda_runtime; orderflow-http's lambda_http runs on it and fails the same way):
# without AWS_LAMBDA_RUNTIME_API it must exit non-zero, quickly, naming that variable.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BINARIES=(orderflow-sqs orderflow-s3 orderflow-stream orderflow-http)
if [[ "$(uname -m)" == x86_64 ]]; then
  scripts/package.sh x86_64 cargo
else
  scripts/package.sh x86_64
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
for b in "${BINARIES[@]}"; do
  zip="target/lambda/$b/bootstrap.zip"
  dir="$work/$b"
  mkdir -p "$dir"
  # Lists the zip, requires an executable `bootstrap` entry and extracts it (mode kept).
  if ! python3 - "$zip" "$dir" <<'PY'
import os, stat, sys, zipfile
path, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path) as z:
    names = z.namelist()
    print(f"{path}: {names}")
    if "bootstrap" not in names:
        sys.exit(f"{path}: no `bootstrap` entry")
    info = z.getinfo("bootstrap")
    mode = info.external_attr >> 16
    if not mode & stat.S_IXUSR:
        sys.exit(f"{path}: bootstrap is not executable (mode {oct(mode)})")
    target = z.extract(info, out)
    os.chmod(target, mode & 0o777)
PY
  then
    failures=$((failures + 1)); continue
  fi

  set +e
  # What Lambda itself provides, minus the Runtime API address.
  output=$(env -u AWS_LAMBDA_RUNTIME_API \
    AWS_LAMBDA_FUNCTION_NAME="$b" AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
    AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$b" AWS_LAMBDA_LOG_STREAM_NAME=check AWS_REGION=eu-west-1 \
    AWS_ACCESS_KEY_ID=check AWS_SECRET_ACCESS_KEY=check \
    ORDERFLOW_TABLE=orderflow-orders ORDERFLOW_METRICS_NAMESPACE=Orderflow \
    ORDERFLOW_ORDERS_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/000000000000/orderflow-orders \
    timeout 10 "$dir/bootstrap" 2>&1 </dev/null)
  rc=$?
  set -e
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then
    echo "FAIL $b: exit $rc (expected a quick non-zero exit)"; echo "$output" | tail -5
    failures=$((failures + 1))
  elif ! grep -q AWS_LAMBDA_RUNTIME_API <<<"$output"; then
    echo "FAIL $b: exit $rc without mentioning AWS_LAMBDA_RUNTIME_API:"; echo "$output" | tail -5
    failures=$((failures + 1))
  else
    echo "ok $b: starts, exit $rc: $(grep -m1 AWS_LAMBDA_RUNTIME_API <<<"$output")"
  fi
done

passed=$((${#BINARIES[@]} - failures))
echo "package: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
