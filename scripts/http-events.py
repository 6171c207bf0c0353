#!/usr/bin/env python3
"""Writes events/http/: API Gateway HTTP API (payload 2.0) and Lambda Function URL events for
each route of orderflow-http and each error it answers. Run from the repository root:

    python3 scripts/http-events.py
"""

import base64
import json
from pathlib import Path

OUT = Path("events/http")
ORDER = {
    "order_id": "ord-8001",
    "customer_id": "cust-42",
    "currency": "USD",
    "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": "19.99"}],
    "tax_rate": "0.0825",
}


def event(kind, method, path, body=None, headers=None, route_key=None, path_parameters=None, b64=False, n=0):
    """An HTTP API v2 event (kind "api") or a Function URL event (kind "url")."""
    hdrs = {"host": "example", "user-agent": "curl/8.5.0", "accept": "*/*"}
    if kind == "api":
        hdrs["host"] = "abc123.execute-api.us-east-1.amazonaws.com"
    else:
        hdrs["host"] = "xyz789.lambda-url.us-east-1.on.aws"
    if body is not None:
        hdrs["content-type"] = "application/json"
    hdrs.update(headers or {})
    ctx = {
        "accountId": "123456789012" if kind == "api" else "anonymous",
        "apiId": "abc123" if kind == "api" else "xyz789",
        "domainName": hdrs["host"],
        "domainPrefix": hdrs["host"].split(".")[0],
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
        "requestId": f"{'api' if kind == 'api' else 'url'}-req-{n:04d}",
        "routeKey": route_key if kind == "api" else "$default",
        "stage": "$default",
        "time": "03/Dec/2026:10:00:00 +0000",
        "timeEpoch": 1796292000000,
    }
    ev = {
        "version": "2.0",
        "routeKey": ctx["routeKey"],
        "rawPath": path,
        "rawQueryString": "",
        "headers": hdrs,
        "requestContext": ctx,
        "isBase64Encoded": b64,
    }
    if path_parameters and kind == "api":
        ev["pathParameters"] = path_parameters
    if body is not None:
        ev["body"] = base64.b64encode(body.encode()).decode() if b64 else body
    return ev


def write(name, ev):
    (OUT / name).write_text(json.dumps(ev, indent=2) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    order = json.dumps(ORDER)
    other = json.dumps({**ORDER, "items": [{"sku": "SKU-1", "quantity": 3, "unit_price": "19.99"}]})
    invalid = json.dumps({**ORDER, "order_id": "ord-8002", "currency": "usd", "items": []})
    n = iter(range(1, 1000))
    for kind, prefix in (("api", "api"), ("url", "url")):
        post = lambda name, body, **kw: write(f"{prefix}-{name}.json", event(kind, "POST", "/orders", body, route_key="POST /orders", n=next(n), **kw))
        post("post-order", order)                       # 201, then 200 the second time
        post("post-order-conflict", other)              # 409 after post-order
        post("post-order-invalid", invalid)             # 422
        post("post-order-malformed", '{"order_id": "ord-8003", "items": [')  # 400
        post("post-order-not-json", "order_id,ord-8004\n", headers={"content-type": "text/csv"})  # 415
        post("post-order-too-large", json.dumps({**ORDER, "order_id": "ord-8005", "note": "x" * (256 * 1024)}))  # 413
        post("post-order-async", json.dumps({**ORDER, "order_id": "ord-8006"}), headers={"prefer": "respond-async"})  # 202
        post("post-order-base64", json.dumps({**ORDER, "order_id": "ord-8007"}), b64=True)  # 201
        get = lambda name, path, method="GET", rk="GET /orders/{order_id}", pp=None: write(
            f"{prefix}-{name}.json", event(kind, method, path, route_key=rk, path_parameters=pp, n=next(n)))
        get("get-order", "/orders/ord-8001", pp={"order_id": "ord-8001"})              # 200 after post-order
        get("get-order-missing", "/orders/ord-8000", pp={"order_id": "ord-8000"})      # 404
        get("get-order-bad-id", "/orders/..%2Fhealth", pp={"order_id": "../health"})   # 400
        get("get-health", "/health", rk="GET /health")                                  # 200
        get("not-found", "/nope", rk="$default")                                        # 404
        get("wrong-method", "/orders", method="DELETE", rk="$default")                  # 405 Allow: POST


if __name__ == "__main__":
    main()
