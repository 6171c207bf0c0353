#!/usr/bin/env python3
"""Opens `orderflow report --html` output in a real headless Chromium through chromedriver (W3C
WebDriver, Python standard library only) and checks that the page loads with no console error
and no network request, that every chart has drawn marks, and that the totals on the page equal
those of `orderflow report --format json`. Optionally saves a screenshot.

    python3 scripts/browser_check.py PAGE.html REPORT.json [SCREENSHOT.png]

Exits 0 when every check passes, 1 with the failures on stderr otherwise.
"""

import base64
import decimal
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1000,1400",
]

# What the page draws, how many marks each chart has with a non-empty box, the resources it
# fetched, and its totals.
PROBE = """
const charts = Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const marks = Array.from(svg.querySelectorAll('.mark'));
  const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return {title: (svg.querySelector('title') || {}).textContent || '', marks: marks.length, drawn: drawn.length};
});
const usd = id => { const e = document.getElementById(id); return e ? e.dataset.usd : null; };
return {
  resources: performance.getEntriesByType('resource').length,
  charts: charts,
  total_usd: usd('total-usd'),
  observability_usd: usd('observability-usd'),
  services_usd: usd('services-usd'),
  total_orders: (document.getElementById('total-orders') || {dataset: {}}).dataset.n,
  scientific: /[0-9]e-[0-9]/i.test(document.body.innerText),
};
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}").get("value")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    page, report_json = os.path.abspath(sys.argv[1]), sys.argv[2]
    shot = sys.argv[3] if len(sys.argv) > 3 else None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        print("chromium and chromedriver are needed: apt-get install chromium chromium-driver", file=sys.stderr)
        return 1
    expected = json.load(open(report_json))["report"]["total"]
    port = free_port()
    profile = tempfile.mkdtemp(prefix="orderflow-chromium-")
    proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    failures = []
    session = None
    try:
        for _ in range(100):
            try:
                if call(base, "GET", "/status").get("ready"):
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": CHROMIUM_ARGS + [f"--user-data-dir={profile}"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        session = call(base, "POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]
        s = f"/session/{session}"
        call(base, "POST", s + "/url", {"url": "file://" + page})
        probe = call(base, "POST", s + "/execute/sync", {"script": PROBE, "args": []})
        logs = call(base, "POST", s + "/se/log", {"type": "browser"}) or []
        errors = [e for e in logs if e.get("level") in ("SEVERE", "ERROR")]
        if errors:
            failures.append(f"console errors: {errors}")
        if probe["resources"] != 0:
            failures.append(f"the page made {probe['resources']} network requests")
        if len(probe["charts"]) < 4:
            failures.append(f"expected 4 charts, found {probe['charts']}")
        for c in probe["charts"]:
            if c["drawn"] == 0:
                failures.append(f"chart {c['title']!r} has no drawn mark ({c})")
        if probe["scientific"]:
            failures.append("an amount in scientific notation")
        d = decimal.Decimal
        for key in ("total_usd", "observability_usd", "services_usd"):
            if probe[key] is None or d(probe[key]) != d(expected[key]):
                failures.append(f"{key}: page {probe[key]} != report {expected[key]}")
        if str(probe["total_orders"]) != str(expected["orders"]):
            failures.append(f"orders: page {probe['total_orders']} != report {expected['orders']}")
        if shot:
            png = call(base, "GET", s + "/screenshot")
            with open(shot, "wb") as f:
                f.write(base64.b64decode(png))
        print(json.dumps(probe))
    finally:
        if session:
            try:
                call(base, "DELETE", f"/session/{session}")
            except (OSError, RuntimeError):
                pass
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
