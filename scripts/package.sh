#!/usr/bin/env bash
# Builds the four Lambda functions with cargo-lambda into
#   target/lambda/<binary>/bootstrap.zip     (what infra/ deploys: var.artifacts_dir)
#
# Usage: scripts/package.sh [arm64|x86_64] [zig|cargo]
#   arch      default arm64 (must match infra's var.architecture)
#   compiler  default: $CARGO_LAMBDA_COMPILER, else cargo-lambda's default (zig via
#             cargo-zigbuild, pinned to an old glibc so the binary runs on provided.al2023).
#             `cargo` = plain native cargo build: no zig needed, only for x86_64 on an
#             x86_64 host (arm64 with `cargo` would need a cross linker).
# cargo-lambda comes from $PATH, else it is pip-installed into .venv (or $PYTHON's env).
# The arm64 build needs the Rust target: rustup target add aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_LAMBDA_VERSION=1.9.2
BINARIES=(orderflow-sqs orderflow-s3 orderflow-stream orderflow-http)

arch=${1:-arm64}
compiler=${2:-${CARGO_LAMBDA_COMPILER:-}}
case "$arch" in
  arm64 | aarch64) arch_flag=--arm64 arch=arm64 ;;
  x86_64 | x86-64 | amd64) arch_flag=--x86-64 arch=x86_64 ;;
  *) echo "usage: $0 [arm64|x86_64] [zig|cargo]" >&2; exit 2 ;;
esac
case "$compiler" in
  "" | zig | cargo-zigbuild) compiler_args=() ;;
  cargo)
    if [[ "$(uname -m)" != "$([[ $arch == arm64 ]] && echo aarch64 || echo x86_64)" ]]; then
      echo "--compiler cargo builds natively only: host is $(uname -m), target is $arch" >&2
      exit 2
    fi
    compiler_args=(--compiler cargo) ;;
  cross) compiler_args=(--compiler cross) ;;
  *) echo "unknown compiler '$compiler' (zig, cargo or cross)" >&2; exit 2 ;;
esac
unset CARGO_LAMBDA_COMPILER

if ! command -v cargo-lambda >/dev/null 2>&1; then
  if [[ -z "${PYTHON:-}" ]]; then
    [[ -x .venv/bin/python ]] || python3 -m venv .venv
    PYTHON=.venv/bin/python
  fi
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "cargo-lambda==${CARGO_LAMBDA_VERSION}"
  # The venv's bin holds cargo-lambda, and its python has `ziglang` (zig for cargo-zigbuild).
  PATH="$(cd "$(dirname "$PYTHON")" && pwd):$PATH"
  export PATH
fi

bin_args=()
for b in "${BINARIES[@]}"; do bin_args+=(--bin "$b"); done

echo "cargo lambda build --release $arch_flag --output-format zip ${compiler_args[*]} ${bin_args[*]}"
cargo lambda build --release "$arch_flag" --output-format zip "${compiler_args[@]}" "${bin_args[@]}"

# cargo-lambda writes under $CARGO_TARGET_DIR/lambda when that is set (CI caches the target dir
# outside the checkout); infra/ and check-package.sh expect target/lambda, so copy them there.
built="${CARGO_TARGET_DIR:-target}/lambda"
for b in "${BINARIES[@]}"; do
  src="$built/$b/bootstrap.zip"
  zip="target/lambda/$b/bootstrap.zip"
  [[ -s "$src" ]] || { echo "missing $src" >&2; exit 1; }
  if [[ "$(realpath "$src")" != "$(realpath -m "$zip")" ]]; then
    mkdir -p "target/lambda/$b"
    cp "$src" "$zip"
  fi
  echo "$zip ($arch, $(du -h "$zip" | cut -f1))"
done
