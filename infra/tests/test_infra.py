"""Holds infra/ (Terraform, parsed with python-hcl2) and the Rust code to each other.

Everything is read from the real files: Cargo.toml, src/**/*.rs, infra/*.tf and
infra/tests/code_actions.json (the per-function list of AWS calls the code makes).
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import hcl2
import pytest

INFRA = Path(__file__).resolve().parents[1]
REPO = INFRA.parent
SRC = REPO / "src"

STREAM_FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["PENDING"]}}}}


# --- loading -------------------------------------------------------------------


@lru_cache(maxsize=None)
def tf() -> dict:
    """All infra/*.tf merged: {"resource": {type: {name: body}}, "data": ..., "locals": {}, "variable": {}}."""
    opts = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    out: dict = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}}
    files = sorted(INFRA.glob("*.tf"))
    assert files, f"no .tf files in {INFRA}"
    for path in files:
        with path.open() as fh:
            doc = hcl2.load(fh, serialization_options=opts)
        for kind in ("resource", "data"):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        assert name not in out[kind].setdefault(rtype, {}), f"duplicate {kind} {rtype}.{name}"
                        out[kind][rtype][name] = body
        for block in doc.get("locals", []):
            for k, v in block.items():
                if not k.startswith("__"):
                    assert k not in out["locals"], f"duplicate local {k}"
                    out["locals"][k] = v
        for kind in ("variable", "output"):
            for block in doc.get(kind, []):
                out[kind].update(block)
    return out


def res(rtype: str) -> dict:
    return tf()["resource"].get(rtype, {})


def local(name: str):
    assert name in tf()["locals"], f"local.{name} is not defined"
    return tf()["locals"][name]


def default(var: str):
    v = tf()["variable"].get(var)
    assert v is not None, f"variable {var} is not declared"
    assert "default" in v, f"variable {var} has no default"
    return v["default"]


def one(block_list):
    """A nested block parses as a list of bodies; most here occur once."""
    assert isinstance(block_list, list) and len(block_list) == 1, block_list
    return block_list[0]


def unwrap(expr: str) -> str:
    assert isinstance(expr, str) and expr.startswith("${") and expr.endswith("}"), expr
    return expr[2:-1]


def resolve(value):
    """Resolve a plain literal, a local or a variable default (no arithmetic)."""
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if m:
            return resolve(local(m.group(1)))
        m = re.fullmatch(r'\$\{var\.(\w+)(?:\["([^"]+)"\])?\}', value)
        if m:
            d = default(m.group(1))
            return d[m.group(2)] if m.group(2) else d
    return value


def evaluate_number(expr) -> float:
    """Evaluate an arithmetic expression over variable defaults, e.g. 6 * var.timeout["x"] + var.w."""
    if isinstance(expr, (int, float)):
        return expr
    body = unwrap(expr)

    def sub(m: re.Match) -> str:
        d = default(m.group(1))
        d = d[m.group(2)] if m.group(2) else d
        assert isinstance(d, (int, float)), f"var.{m.group(1)} does not default to a number: {d!r}"
        return str(d)

    arith = re.sub(r'var\.(\w+)(?:\["([^"]+)"\])?', sub, body)
    assert re.fullmatch(r"[0-9+*/() .-]+", arith), f"cannot evaluate {expr!r} (got {arith!r})"
    return eval(arith, {"__builtins__": {}}, {})  # noqa: S307 - digits and operators only


def hcl_object(expr: str):
    """Parse the HCL object literal inside ${jsonencode(...)} into Python data."""
    m = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expr, re.S)
    assert m, f"not a jsonencode(...) literal: {expr!r}"
    opts = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    parsed = hcl2.loads(f"x = {m.group(1)}\n", serialization_options=opts)["x"]

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if not k.startswith("__")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(parsed)


# --- the code side ---------------------------------------------------------------


@lru_cache(maxsize=None)
def rust_sources() -> dict[Path, str]:
    assert SRC.is_dir(), f"{SRC} is missing"
    files = {p: p.read_text() for p in SRC.rglob("*.rs")}
    assert files, "no Rust sources under src/"
    return files


def config_const(name: str) -> str:
    text = (SRC / "config.rs").read_text()
    m = re.search(rf'pub(?:\(crate\))?\s+const\s+{name}\s*:\s*&(?:\'static\s+)?str\s*=\s*"([^"]*)"', text)
    assert m, f"src/config.rs defines no `pub const {name}: &str`"
    return m.group(1)


def config_number(name: str) -> int:
    """An unsigned integer constant of src/config.rs (`const NAME: u64/u32/usize = N;`)."""
    text = (SRC / "config.rs").read_text()
    m = re.search(rf"pub(?:\(crate\))?\s+const\s+{name}\s*:\s*(?:u\d+|usize)\s*=\s*(\d+)\s*;", text)
    assert m, f"src/config.rs defines no integer `const {name}`"
    return int(m.group(1))


@lru_cache(maxsize=None)
def mapping() -> dict:
    return json.loads((INFRA / "tests" / "code_actions.json").read_text())


@lru_cache(maxsize=None)
def lambda_binaries() -> set[str]:
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    bins = {b["name"] for b in cargo.get("bin", [])}
    # orderflow-* are the Lambda functions; plain `orderflow` is the CLI.
    return {b for b in bins if b.startswith("orderflow-")}


def function_keys() -> set[str]:
    return set(local("functions"))


def lambda_target(expr: str) -> str:
    """The function key of an aws_lambda_function.this["..."] reference (arn, invoke_arn, name)."""
    m = re.fullmatch(r'\$\{aws_lambda_function\.this\["([^"]+)"\]\.(?:arn|invoke_arn|function_name)\}', expr)
    assert m, expr
    assert m.group(1) in lambda_binaries(), m.group(1)
    return m.group(1)


def mapped_functions() -> set[str]:
    """Functions invoked by an event source mapping."""
    return {lambda_target(e["function_name"]) for e in res("aws_lambda_event_source_mapping").values()}


def api_functions() -> set[str]:
    """Functions behind an API Gateway integration."""
    return {lambda_target(i["integration_uri"]) for i in res("aws_apigatewayv2_integration").values()}


# --- tests: names and packaging ---------------------------------------------------


def test_versions_pinned():
    text = (INFRA / "versions.tf").read_text()
    assert re.search(r'required_version\s*=\s*">=\s*1\.6"', text)
    assert re.search(r'source\s*=\s*"hashicorp/aws"', text)
    assert re.search(r'version\s*=\s*"~>\s*6\.0"', text)


def test_function_names_are_the_binary_names():
    assert lambda_binaries() == {"orderflow-sqs", "orderflow-s3", "orderflow-stream", "orderflow-http"}
    assert function_keys() == lambda_binaries()
    assert "${var.name_prefix}${k}" in local("function_names")
    fn = res("aws_lambda_function")["this"]
    assert fn["for_each"] == "${local.functions}"
    assert fn["function_name"] == "${local.function_names[each.key]}"
    # Every per-function map variable covers exactly the binaries; batch_size, the mapped ones.
    for var in ("memory_size", "timeout", "reserved_concurrency"):
        assert set(default(var)) == lambda_binaries(), var
    assert set(default("batch_size")) == mapped_functions()


def test_every_function_has_exactly_one_trigger():
    mapped, behind_api = mapped_functions(), api_functions()
    assert mapped | behind_api == lambda_binaries(), "a binary nothing invokes"
    assert not mapped & behind_api, f"both mapped and behind the API: {mapped & behind_api}"
    assert behind_api == {"orderflow-http"}


def test_tfvars_example_sets_every_function_in_its_maps():
    # A map in terraform.tfvars replaces the whole default: a function left out fails the plan.
    with (INFRA / "terraform.tfvars.example").open() as fh:
        example = hcl2.load(fh, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))
    for var in ("memory_size", "timeout", "reserved_concurrency", "batch_size", "maximum_concurrency"):
        if var in example:
            keys = {k for k in example[var] if not k.startswith("__")}
            assert keys == set(default(var)), f"terraform.tfvars.example: {var} has {sorted(keys)}"


def test_functions_run_the_packaged_bootstrap():
    fn = res("aws_lambda_function")["this"]
    assert fn["runtime"] == "provided.al2023"
    assert fn["handler"] == "bootstrap"
    assert fn["architectures"] == ["${var.architecture}"]
    assert default("architecture") == "arm64"
    assert default("artifacts_dir") == "../target/lambda"
    zip_path = "${var.artifacts_dir}/${each.key}/bootstrap.zip"
    assert fn["filename"] == zip_path
    assert fn["source_code_hash"] == '${filebase64sha256("' + zip_path + '")}'
    assert one(fn["tracing_config"])["mode"] == "Active"
    logging = one(fn["logging_config"])
    assert logging["log_format"] == "JSON"
    assert logging["log_group"] == "${aws_cloudwatch_log_group.this[each.key].name}"
    assert fn["reserved_concurrent_executions"] == "${var.reserved_concurrency[each.key]}"
    groups = res("aws_cloudwatch_log_group")["this"]
    assert groups["name"] == "/aws/lambda/${local.function_names[each.key]}"
    assert groups["retention_in_days"] == "${var.log_retention_days}"


# --- tests: environment -------------------------------------------------------------


def test_env_vars_are_the_ones_the_code_reads():
    literals = set()
    for text in rust_sources().values():
        literals |= set(re.findall(r'"(ORDERFLOW_[A-Z0-9_]+)"', text))
    assert "ORDERFLOW_TABLE" in literals, "src/ defines no ORDERFLOW_TABLE literal"

    fn = res("aws_lambda_function")["this"]
    assert one(fn["environment"])["variables"] == "${local.function_env[each.key]}"
    env = local("function_env")
    assert set(env) == lambda_binaries()
    for name, variables in env.items():
        unknown = set(variables) - literals
        assert not unknown, f"{name} sets {unknown}, which src/ never reads"
        assert "ORDERFLOW_TABLE" in variables, name
        assert resolve(variables["ORDERFLOW_METRICS_NAMESPACE"]) == "Orderflow", name
    # The orders queue URL goes to exactly the functions whose code sends to a queue (the S3
    # import hands leftovers on; orderflow-http queues `Prefer: respond-async` orders); the
    # stream's on-failure queue is written by its mapping, not its code.
    senders = {fn for fn, spec in mapping()["functions"].items() if "sqs:SendMessage" in {c["action"] for c in spec["code"]}}
    assert senders == {"orderflow-s3", "orderflow-http"}
    assert {n for n, v in env.items() if "ORDERFLOW_ORDERS_QUEUE_URL" in v} == senders
    for fn in senders:
        assert env[fn]["ORDERFLOW_ORDERS_QUEUE_URL"] == "${aws_sqs_queue.orders.url}", fn
    # orderflow-s3 continues imports through the queue it reads, and only it is given that URL.
    assert {n for n, v in env.items() if "ORDERFLOW_UPLOADS_QUEUE_URL" in v} == {"orderflow-s3"}
    assert env["orderflow-s3"]["ORDERFLOW_UPLOADS_QUEUE_URL"] == "${aws_sqs_queue.uploads.url}"


def test_the_s3_function_may_send_to_the_uploads_queue_it_reads_and_the_orders_queue_only():
    doc = tf()["data"]["aws_iam_policy_document"]["orderflow_s3"]
    sends = [s for s in doc["statement"] if "sqs:SendMessage" in s["actions"]]
    targets = sorted(r for s in sends for r in s["resources"])
    assert targets == ["${aws_sqs_queue.orders.arn}", "${aws_sqs_queue.uploads.arn}"], targets


# --- tests: event source mappings and queues -----------------------------------------------


def esm_function(esm: dict) -> str:
    return lambda_target(esm["function_name"])


def sqs_mappings() -> dict[str, str]:
    """queue resource name -> consuming function."""
    out = {}
    for esm in res("aws_lambda_event_source_mapping").values():
        m = re.fullmatch(r"\$\{aws_sqs_queue\.(\w+)\.arn\}", esm["event_source_arn"])
        if m:
            out[m.group(1)] = esm_function(esm)
    return out


def test_every_mapping_reports_batch_item_failures():
    esms = res("aws_lambda_event_source_mapping")
    assert len(esms) == 3
    assert {esm_function(e) for e in esms.values()} == lambda_binaries() - api_functions()
    for name, esm in esms.items():
        assert esm.get("function_response_types") == ["ReportBatchItemFailures"], name


def test_sqs_mappings():
    assert sqs_mappings() == {"orders": "orderflow-sqs", "uploads": "orderflow-s3"}
    for esm in res("aws_lambda_event_source_mapping").values():
        if "aws_sqs_queue" in esm["event_source_arn"]:
            fn = esm_function(esm)
            assert resolve(esm["batch_size"]) == default("batch_size")[fn]
            assert esm["maximum_batching_window_in_seconds"] == "${var.maximum_batching_window_in_seconds}"
            concurrency = resolve(one(esm["scaling_config"])["maximum_concurrency"])
            assert 2 <= concurrency <= default("reserved_concurrency")[fn]


def test_the_local_runtime_defaults_to_the_mappings_maximum_concurrency():
    for name, fn in [("MAX_CONCURRENCY_SQS", "orderflow-sqs"), ("MAX_CONCURRENCY_S3", "orderflow-s3")]:
        assert config_number(name) == default("maximum_concurrency")[fn], name


def test_the_local_runtime_defaults_to_the_mappings_window_record_age_and_retries():
    for name, var in [
        ("BATCH_WINDOW_S", "maximum_batching_window_in_seconds"),
        ("STREAM_MAX_RECORD_AGE_S", "stream_maximum_record_age_in_seconds"),
        ("STREAM_MAX_RETRIES", "stream_maximum_retry_attempts"),
    ]:
        assert config_number(name) == default(var), name


def test_the_local_deadlines_are_the_functions_timeouts():
    for name, fn in [
        ("SQS_TIMEOUT_S", "orderflow-sqs"),
        ("S3_TIMEOUT_S", "orderflow-s3"),
        ("STREAM_TIMEOUT_S", "orderflow-stream"),
        ("HTTP_TIMEOUT_S", "orderflow-http"),
    ]:
        assert config_number(name) == default("timeout")[fn], name


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout():
    queues = res("aws_sqs_queue")
    for queue, fn in sqs_mappings().items():
        visibility = evaluate_number(queues[queue]["visibility_timeout_seconds"])
        timeout = default("timeout")[fn]
        assert visibility >= 6 * timeout, f"{queue}: {visibility} < 6 x {timeout} ({fn})"
        assert visibility <= 43200, f"{queue}: visibility timeout above SQS's 12 h maximum"


def test_queues_have_dlqs_and_sse():
    queues = res("aws_sqs_queue")
    for name, q in queues.items():
        assert q.get("sqs_managed_sse_enabled") is True, f"{name} is not SSE-SQS encrypted"
    for queue in sqs_mappings():
        policy = hcl_object(queues[queue]["redrive_policy"])
        dlq = re.fullmatch(r"\$\{aws_sqs_queue\.(\w+)\.arn\}", policy["deadLetterTargetArn"]).group(1)
        assert dlq != queue and dlq in queues
        assert queues[dlq]["message_retention_seconds"] == 14 * 24 * 3600
        assert policy["maxReceiveCount"] == "${var.max_receive_count}"
    assert default("max_receive_count") == 5


def test_uploads_queue_accepts_only_this_bucket_in_this_account():
    doc = tf()["data"]["aws_iam_policy_document"]["uploads_queue"]
    (stmt,) = doc["statement"]
    assert stmt["actions"] == ["sqs:SendMessage"]
    principal = one(stmt["principals"])
    assert (principal["type"], principal["identifiers"]) == ("Service", ["s3.amazonaws.com"])
    conditions = {c["variable"]: c for c in stmt["condition"]}
    assert conditions["aws:SourceArn"]["values"] == ["${aws_s3_bucket.orders.arn}"]
    assert conditions["aws:SourceAccount"]["values"] == ["${local.account_id}"]
    assert res("aws_sqs_queue_policy")["uploads"]["policy"] == "${data.aws_iam_policy_document.uploads_queue.json}"


def test_stream_mapping():
    esm = res("aws_lambda_event_source_mapping")["stream"]
    assert esm["event_source_arn"] == "${aws_dynamodb_table.orders.stream_arn}"
    assert esm_function(esm) == "orderflow-stream"
    assert esm["bisect_batch_on_function_error"] is True
    assert "maximum_retry_attempts" in esm and "maximum_record_age_in_seconds" in esm
    on_failure = one(one(esm["destination_config"])["on_failure"])["destination_arn"]
    m = re.fullmatch(r"\$\{aws_sqs_queue\.(\w+)\.arn\}", on_failure)
    assert m, on_failure
    failure_queue = res("aws_sqs_queue")[m.group(1)]
    assert failure_queue["sqs_managed_sse_enabled"] is True
    assert m.group(1) not in sqs_mappings(), "the on-failure queue must be its own queue"

    pattern = one(one(esm["filter_criteria"])["filter"])["pattern"]
    pattern = resolve(pattern)
    assert hcl_object(pattern) == STREAM_FILTER


def test_table():
    table = res("aws_dynamodb_table")["orders"]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["hash_key"] == "order_id"
    assert [(a["name"], a["type"]) for a in table["attribute"]] == [("order_id", "S")]
    assert table["stream_enabled"] is True
    assert table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert one(table["point_in_time_recovery"])["enabled"] is True
    assert one(table["server_side_encryption"])["enabled"] is True
    assert table["deletion_protection_enabled"] == "${var.table_deletion_protection}"


# --- tests: bucket -----------------------------------------------------------------------


def test_notification_covers_imports_only():
    import_prefix = config_const("IMPORT_PREFIX")
    report_prefix = config_const("REPORT_PREFIX")
    assert resolve("${local.import_prefix}") == import_prefix
    assert resolve("${local.report_prefix}") == report_prefix

    (notification,) = res("aws_s3_bucket_notification").values()
    queues = notification["queue"]
    assert not notification.get("lambda_function") and not notification.get("topic")
    for q in queues:
        prefix = resolve(q["filter_prefix"])
        assert prefix == import_prefix
        assert not report_prefix.startswith(prefix), "the notification would fire on reports: imports would loop"
        assert q["events"] == ["s3:ObjectCreated:*"]
        assert q["queue_arn"] == "${aws_sqs_queue.uploads.arn}"


def test_bucket_is_locked_down():
    pab = one(list(res("aws_s3_bucket_public_access_block").values()))
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[flag] is True, flag
    assert res("aws_s3_bucket_ownership_controls")
    versioning = one(list(res("aws_s3_bucket_versioning").values()))
    assert one(versioning["versioning_configuration"])["status"] == "Enabled"
    assert res("aws_s3_bucket_server_side_encryption_configuration")
    (stmt,) = tf()["data"]["aws_iam_policy_document"]["bucket"]["statement"]
    assert stmt["effect"] == "Deny"
    assert one(stmt["condition"])["variable"] == "aws:SecureTransport"
    rules = one(list(res("aws_s3_bucket_lifecycle_configuration").values()))["rule"]
    prefixes = [resolve(one(r["filter"]).get("prefix")) for r in rules]
    assert config_const("REPORT_PREFIX") in prefixes


# --- tests: IAM ------------------------------------------------------------------------------


def policy_statements(fn: str) -> list[dict]:
    policies = local("function_policies")
    assert set(policies) == lambda_binaries()
    m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", policies[fn])
    assert m, policies[fn]
    return tf()["data"]["aws_iam_policy_document"][m.group(1)]["statement"]


def test_roles_use_only_their_inline_policy():
    assert not res("aws_iam_role_policy_attachment"), "no managed policies: one inline policy per role"
    assert not res("aws_iam_policy")
    role = res("aws_iam_role")["this"]
    assert role["for_each"] == "${local.functions}"
    assert "managed_policy_arns" not in role
    (policy,) = res("aws_iam_role_policy").values()
    assert policy["for_each"] == "${local.functions}"
    assert policy["role"] == "${aws_iam_role.this[each.key].id}"
    assert policy["policy"] == "${local.function_policies[each.key]}"
    assert set(mapping()["functions"]) == lambda_binaries()


@pytest.mark.parametrize("fn", ["orderflow-sqs", "orderflow-s3", "orderflow-stream", "orderflow-http"])
def test_iam_grants_exactly_what_the_function_uses(fn):
    spec = mapping()["functions"][fn]
    every = mapping()["every_function"]
    code = {c["action"] for c in spec["code"]}
    allowed = (
        code
        | set(spec["event_source_mapping"])
        | set(spec["on_failure_destination"])
        | set(spec["kms"])
        | set(every["logs"])
        | set(every["xray"])
    )
    granted = set()
    for stmt in policy_statements(fn):
        assert stmt.get("effect", "Allow") == "Allow"
        assert "not_actions" not in stmt and "not_resources" not in stmt
        actions = set(stmt["actions"])
        assert all("*" not in a for a in actions), f"{fn}: wildcard action in {actions}"
        granted |= actions
        if "*" in stmt["resources"]:
            # The one documented exception: X-Ray has no resource-level permissions.
            assert actions <= set(every["xray"]), f"{fn}: {actions} granted on '*'"
            assert stmt["resources"] == ["*"]
        for r in stmt["resources"]:
            assert r == "*" or r.startswith("${"), f"{fn}: hard-coded resource {r}"
        if actions & set(every["logs"]):
            assert stmt["resources"] == [f'${{aws_cloudwatch_log_group.this["{fn}"].arn}}:*'], "only its own log group"
        if actions & set(spec["kms"]):
            assert stmt["resources"] == ["${aws_kms_key.this.arn}"]
    assert granted <= allowed, f"{fn} is granted actions its code never calls: {sorted(granted - allowed)}"
    missing = (allowed - set(spec["kms"])) - granted
    assert not missing, f"{fn} lacks {sorted(missing)}"
    assert set(spec["kms"]) <= granted


def test_s3_access_is_scoped_to_prefixes():
    stmts = policy_statements("orderflow-s3")
    by_action: dict = {}
    for s in stmts:
        for a in s["actions"]:
            by_action.setdefault(a, []).extend(s["resources"])
    # Imports are read, and a continued import reads its report so far back.
    assert sorted(by_action["s3:GetObject"]) == [
        "${aws_s3_bucket.orders.arn}/${local.import_prefix}*",
        "${aws_s3_bucket.orders.arn}/${local.report_prefix}*",
    ]
    assert by_action["s3:PutObject"] == ["${aws_s3_bucket.orders.arn}/${local.report_prefix}*"]


def test_http_function_reaches_only_the_table_and_the_orders_queue():
    stmts = policy_statements("orderflow-http")
    by_action = {a: s["resources"] for s in stmts for a in s["actions"]}
    for action in ("dynamodb:GetItem", "dynamodb:PutItem"):
        assert by_action[action] == ["${aws_dynamodb_table.orders.arn}"], action
    assert by_action["sqs:SendMessage"] == ["${aws_sqs_queue.orders.arn}"]
    # The HTTP path never completes PENDING items (that is the stream's update_item).
    assert "dynamodb:UpdateItem" not in by_action


def test_code_calls_the_operations_the_mapping_lists():
    for fn, spec in mapping()["functions"].items():
        for call in spec["code"]:
            path = REPO / call["file"]
            assert path.is_file(), f"{fn}: {call['file']} (listed in code_actions.json) does not exist"
            text = path.read_text()
            assert re.search(rf"\.{call['operation']}\s*\(", text), (
                f"{fn}: .{call['operation']}( not found in {call['file']}: update infra/tests/code_actions.json and iam.tf"
            )


# --- tests: HTTP API ------------------------------------------------------------------------------

HTTP_ROUTES = {"POST /orders", "GET /orders/{order_id}", "GET /health"}
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "responseLatency": "$context.responseLatency",
    "sourceIp": "$context.identity.sourceIp",
}


def code_routes() -> set[str]:
    """The routes the Rust router accepts, as route keys with "{}" for a path parameter.

    Reads the slice-pattern arms of `fn route` in src/ingest/http/route.rs, e.g.
    `["orders", id] if !id.is_empty() => only(method, &Method::GET, "GET", ...)`.
    """
    text = (SRC / "ingest" / "http" / "route.rs").read_text()
    m = re.search(r"fn route\s*\([^)]*\)\s*->\s*Route\s*\{(.*?)\n\}", text, re.S)
    assert m, "src/ingest/http/route.rs has no `fn route(...) -> Route { ... }`"
    arms = [line.strip() for line in m.group(1).splitlines() if "=>" in line]
    routes = set()
    for arm in arms:
        if re.match(r"_\s*=>", arm):
            continue  # the fallback (404)
        a = re.fullmatch(r"\[([^\]]*)\]\s*(?:if\b.*?)?=>\s*only\(\s*method\s*,\s*&Method::([A-Z]+)\s*,.*", arm)
        assert a, f"route.rs: cannot read the route arm {arm!r}: update code_routes() in infra/tests"
        segments = []
        for seg in (s.strip() for s in a.group(1).split(",")):
            if re.fullmatch(r'"[A-Za-z0-9._~-]+"', seg):
                segments.append(seg[1:-1])
            elif re.fullmatch(r"[a-z_][a-z0-9_]*", seg):
                segments.append("{}")
            else:
                raise AssertionError(f"route.rs: unexpected path pattern {seg!r} in {arm!r}")
        routes.add(f"{a.group(2)} /{'/'.join(segments)}")
    assert routes, "route.rs: no routes found"
    return routes


def api_routes() -> dict[str, dict]:
    """Route key -> the aws_apigatewayv2_route body that declares it."""
    out: dict[str, dict] = {}
    for name, r in res("aws_apigatewayv2_route").items():
        if "for_each" in r:
            m = re.fullmatch(r"\$\{toset\(local\.(\w+)\)\}", r["for_each"])
            assert m, f"route {name}: for_each must be toset(local.<list>), got {r['for_each']!r}"
            assert r["route_key"] == "${each.value}", name
            keys = local(m.group(1))
        else:
            keys = [resolve(r["route_key"])]
        for key in keys:
            assert key not in out, f"route {key} declared twice"
            out[key] = r
    return out


def test_http_api_routes_are_the_routes_the_code_serves():
    routes = api_routes()
    assert set(routes) == HTTP_ROUTES
    served = code_routes()
    declared = {re.sub(r"\{[^}]+\}", "{}", k) for k in HTTP_ROUTES}
    assert declared == served, f"src/ingest/http/route.rs serves {sorted(served)}, the HTTP API routes {sorted(declared)}"
    (api,) = res("aws_apigatewayv2_api").values()
    assert api["protocol_type"] == "HTTP"
    (integration,) = res("aws_apigatewayv2_integration").values()
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    assert api_functions() == {"orderflow-http"}
    for key, r in routes.items():
        assert r["target"] == "integrations/${aws_apigatewayv2_integration.orderflow_http.id}", key
        assert r["api_id"] == "${aws_apigatewayv2_api.orders.id}", key
    # The function must answer before API Gateway's 30 s integration timeout gives up.
    assert integration.get("timeout_milliseconds", 30000) <= 30000
    assert default("timeout")["orderflow-http"] * 1000 < integration.get("timeout_milliseconds", 30000)


def test_http_api_authorization_is_on_by_default():
    routes = api_routes()
    assert {k for k, r in routes.items() if r["authorization_type"] == "NONE"} == {"GET /health"}
    assert "authorizer_id" not in routes["GET /health"]
    # Unconfigured (the defaults), the order routes require SigV4; with an issuer, a JWT.
    assert default("jwt_issuer") is None and default("jwt_audience") == []
    assert local("jwt_enabled") == '${var.jwt_issuer != null && var.jwt_issuer != ""}'
    assert local("http_authorization_type") == '${local.jwt_enabled ? "JWT" : "AWS_IAM"}'
    for key, r in routes.items():
        if key != "GET /health":
            assert r["authorization_type"] == "${local.http_authorization_type}", key
            assert r["authorizer_id"] == "${local.jwt_enabled ? aws_apigatewayv2_authorizer.jwt[0].id : null}", key
    authorizer = res("aws_apigatewayv2_authorizer")["jwt"]
    assert authorizer["count"] == "${local.jwt_enabled ? 1 : 0}"
    assert authorizer["authorizer_type"] == "JWT"
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    jwt = one(authorizer["jwt_configuration"])
    assert (jwt["issuer"], jwt["audience"]) == ("${var.jwt_issuer}", "${var.jwt_audience}")


def test_http_api_stage_throttles_and_logs_every_request():
    (stage,) = res("aws_apigatewayv2_stage").values()
    # The router matches the raw path: a named stage would prefix every path with its name.
    assert stage["name"] == "$default"
    assert stage["auto_deploy"] is True
    throttle = one(stage["default_route_settings"])
    assert throttle["throttling_rate_limit"] == "${var.http_throttle_rate_limit}"
    assert throttle["throttling_burst_limit"] == "${var.http_throttle_burst_limit}"
    (health,) = stage["route_settings"]
    assert resolve(health["route_key"]) == "GET /health"
    assert health["throttling_rate_limit"] == "${var.http_health_throttle_rate_limit}"
    assert health["throttling_burst_limit"] == "${var.http_health_throttle_burst_limit}"
    assert 0 < default("http_health_throttle_rate_limit") <= default("http_throttle_rate_limit")
    assert 0 < default("http_throttle_rate_limit") <= default("http_throttle_burst_limit")

    logs = one(stage["access_log_settings"])
    assert logs["destination_arn"] == "${aws_cloudwatch_log_group.http_access.arn}"
    fields = hcl_object(logs["format"])
    assert ACCESS_LOG_FIELDS.items() <= fields.items(), fields
    assert all(v.startswith("$context.") for v in fields.values())
    group = res("aws_cloudwatch_log_group")["http_access"]
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert group["kms_key_id"] == "${aws_kms_key.this.arn}"
    assert group["name"] == "${local.http_access_log_group}"
    # The key lets CloudWatch Logs encrypt this group (the key policy names it).
    (logs_stmt,) = [s for s in hcl_object(res("aws_kms_key")["this"]["policy"])["Statement"] if "logs." in str(s["Principal"])]
    arns = logs_stmt["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert any(a.endswith(":log-group:${local.http_access_log_group}") for a in arns), arns


def test_only_this_api_may_invoke_the_http_function():
    (permission,) = res("aws_lambda_permission").values()
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert lambda_target(permission["function_name"]) == "orderflow-http"
    assert permission["source_arn"].startswith("${aws_apigatewayv2_api.orders.execution_arn}/")
    assert tf()["output"]["http_api_url"]["value"] == "${aws_apigatewayv2_api.orders.api_endpoint}"


# --- tests: monitoring ---------------------------------------------------------------------------


def test_alarms_and_dashboard():
    alarms = res("aws_cloudwatch_metric_alarm")
    dlqs = local("dead_letter_queues")
    assert set(dlqs.values()) == {
        "${aws_sqs_queue.orders_dlq.name}",
        "${aws_sqs_queue.uploads_dlq.name}",
        "${aws_sqs_queue.stream_failures.name}",
    }
    metrics = {a["metric_name"] for a in alarms.values()}
    assert {"ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "IteratorAge", "5xx"} <= metrics
    (api_5xx,) = [a for a in alarms.values() if a["metric_name"] == "5xx"]
    assert api_5xx["namespace"] == "AWS/ApiGateway"
    assert {k: v for k, v in api_5xx["dimensions"].items() if not k.startswith("__")} == {
        "ApiId": "${aws_apigatewayv2_api.orders.id}"
    }
    for name, alarm in alarms.items():
        assert alarm["alarm_actions"] == ["${local.alarm_topic_arn}"], name
    topic = res("aws_sns_topic")["alarms"]
    assert topic["kms_master_key_id"] == "${aws_kms_key.this.arn}"
    assert set(local("emf_metrics")) == {"BilledDuration", "Cost", "Accepted", "Rejected", "Retried", "Duplicates", "Records"}
    assert local("metrics_namespace") == "Orderflow"
    body = res("aws_cloudwatch_dashboard")["this"]["dashboard_body"]
    assert "local.metrics_namespace" in body and '"FunctionName"' in body


def test_checkov_skips_are_inline_and_give_a_reason():
    skips = []
    for path in sorted(INFRA.glob("*.tf")):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                m = re.fullmatch(r"\s*#checkov:skip=(CKV2?_AWS_\d+):(.+)", line)
                assert m, f"{path.name}: malformed skip {line.strip()!r}"
                assert len(m.group(2).split()) >= 8, f"{path.name}: {m.group(1)} needs a real reason"
                skips.append(m.group(1))
    assert len(skips) == len(set(skips)), "a check is skipped twice"
    assert not (INFRA / ".checkov.yaml").exists() and not (INFRA / ".checkov.yml").exists(), "skip inline only"
