#!/usr/bin/python3
"""Driver of tests/e2e/proxy_trust_boundary.sh: sends the hostile corpus through each proxy
as raw bytes and checks what reached the recording backend.

Every corpus line (tests/data/e2e/hostile_uris.txt) is sent once with each set of forged
client headers (FORGED below), with the valid key, over a plain socket, so that nothing
normalizes the request before the proxy does. Each request carries a unique X-E2E-Probe
header, by which the backend's record (tests/e2e/recording_backend.py) is matched to it.

THE PROPERTY: no request reached the backend naming a dataset other than `orders` under
any of the backend's readings, or with a method other than GET/HEAD/OPTIONS, or with an
X-Auth-* header keygate did not set. Plus a sanity floor (the plain allowed request does
reach, the plain denied ones do not), so that the test cannot pass vacuously.

Prints one "ok   - ..." / "FAIL - ..." line per check and a summary table per proxy.
Exit status 0 when every check passed.

Usage: trust_boundary_driver.py --corpus FILE --backend-log FILE --key KEY
                                --proxy NAME=PORT [--proxy NAME=PORT ...]
"""

import argparse
import collections
import concurrent.futures
import json
import re
import socket
import sys
import time

ALLOWED_DATASETS = {"orders"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# What keygate sets for the test key (tests/data/e2e/trust_boundary_keys.yaml); anything
# else in an X-Auth-* header at the backend came from the client.
EXPECTED_AUTH = {
    "x-auth-key-id": "tb-viewer",
    "x-auth-tenant": "acme_corp",
    "x-auth-role": "viewer",
    "x-auth-permissions": "read",
    "x-auth-datasets": "orders",
    "x-auth-rls": "apply",
}
ORDERS = "/v1/datasets/orders/rows"
FORGED = {
    "none": [],
    "x-original": [("X-Original-URI", ORDERS), ("X-Original-Method", "GET")],
    "x-forwarded": [("X-Forwarded-Uri", ORDERS), ("X-Forwarded-Method", "GET")],
    "x-original-twice": [("X-Original-URI", ORDERS), ("X-Original-URI", "/v1/query"),
                         ("x-original-method", "GET")],
    "rewrite": [("X-Forwarded-Prefix", "/v1/datasets/orders"), ("X-Rewrite-URL", ORDERS),
                ("X-Original-URL", ORDERS)],
    "x-dataset": [("X-Dataset", "orders")],
    "x-auth": [("X-Auth-Key-Id", "forged"), ("X-Auth-Tenant", "evil"), ("X-Auth-Role", "admin"),
               ("X-Auth-Permissions", "read,write,admin"), ("X-Auth-Datasets", "*"),
               ("X-Auth-RLS", "bypass"), ("X-Auth-Datasets-Denied", "forged")],
    "all": [("X-Original-URI", ORDERS), ("X-Original-Method", "GET"),
            ("X-Forwarded-Uri", ORDERS), ("X-Forwarded-Method", "GET"),
            ("X-Dataset", "orders"), ("X-Auth-Tenant", "evil"), ("X-Auth-Role", "admin"),
            ("X-HTTP-Method-Override", "GET")],
}
# Shown in the "notable cases" table (sent with no forged headers).
NOTABLE = [
    ("GET", "/v1/datasets/orders/rows"),
    ("GET", "/v1/datasets/orders%3F/../customers/rows"),
    ("GET", "/v1/datasets/orders/%2e%2e/customers/rows"),
    ("GET", "/v1/datasets/orders%2F..%2Fcustomers%2Frows"),
    ("GET", "/v1/datasets/orders%5C..%5Ccustomers%5Crows"),
    ("GET", "/v1/datasets/orders\\..\\customers\\rows"),
    ("GET", "/v1/datasets/orders%00rows"),
    ("GET", "/v1/datasets/orders/%c0%ae%c0%ae/customers/rows"),
    ("GET", "/v1/datasets/orders/..;/customers/rows"),
    ("GET", "/v1/datasets/orders/%252e%252e/customers/rows"),
    ("GET", "/../v1/datasets/customers/rows"),
    ("GET", "/V1/DATASETS/customers"),
    ("GET", "/v1/datasets/Orders/rows"),
    ("GET", "http://127.0.0.1/v1/datasets/customers/rows"),
    ("GET", "/v1/datasets/orders/rows?data%73et=customers"),
    ("GET", "/v1/datasets/orders/rows#/../../customers"),
]


def send_raw(port, method, target, headers, timeout=10.0):
    """Sends one request as raw bytes; returns (status, response headers dict lower-cased)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="surrogateescape")
    chunks = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(data)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                head = b"".join(chunks)
                if b"\r\n\r\n" in head and method == "HEAD":
                    break
    except OSError:
        pass
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    first, _, rest = head.partition("\r\n")
    parts = first.split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    resp_headers = {}
    for line in rest.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            resp_headers.setdefault(name.strip().lower(), value.strip())
    # The denial code: keygate's header (Caddy passes it on), else the JSON body (nginx).
    code = re.search(rb'"code":"([A-Z_]+)"', body)
    resp_headers["code"] = resp_headers.get("x-auth-error-code") or (
        code.group(1).decode() if code else "")
    return status, resp_headers


def load_corpus(path):
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            mark, method, target = line.split("\t", 2)
            entries.append((mark, method, target))
    return entries


def load_records(path):
    records = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            record = json.loads(line)
            probe = [v for k, v in record["headers"] if k.lower() == "x-e2e-probe"]
            for p in probe:
                records.setdefault(p, []).append(record)
    return records


def problems_of(record, proxy):
    """Why RECORD (a request the backend received) breaks the property; [] if it does not."""
    problems = []
    bad = sorted(set(record["datasets"]) - ALLOWED_DATASETS)
    if bad:
        problems.append("dataset " + ",".join(bad))
    if record["method"] not in READ_METHODS:
        problems.append("method " + record["method"])
    auth = collections.defaultdict(list)
    for name, value in record["headers"]:
        if name.lower().startswith("x-auth-"):
            auth[name.lower()].append(value)
    for name, values in auth.items():
        if EXPECTED_AUTH.get(name) is None or values != [EXPECTED_AUTH[name]]:
            problems.append(f"{name}: {values}")
    for name in EXPECTED_AUTH:
        if name not in auth:
            problems.append(f"{name} missing")
    if proxy == "caddy":
        # The Caddy example deletes them (the nginx example does not: reported, not failed).
        for name, _ in record["headers"]:
            if name.lower().startswith("x-original-"):
                problems.append(f"client's {name} reached the backend")
    return problems


def classify(status, resp, reached):
    if reached:
        return "reached"
    # keygate's own denials: 401/403/429, and a 400 INVALID_REQUEST that Caddy passes on
    # as it is (nginx shows that one as 403).
    if status in (401, 403, 429) or (status == 400 and "x-auth-error-code" in resp):
        return "keygate"
    if status == 400:
        return "proxy400"
    if status == 404:
        return "proxy404"
    return "other"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--backend-log", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--proxy", action="append", required=True)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    proxies = [(p.split("=")[0], int(p.split("=")[1])) for p in args.proxy]
    corpus = load_corpus(args.corpus)

    jobs = []  # (probe id, proxy, port, mark, method, target, forged name)
    for proxy, port in proxies:
        for name, forged in FORGED.items():
            for index, (mark, method, target) in enumerate(corpus):
                jobs.append((f"{proxy}-{name}-{index}", proxy, port, mark, method, target, name))
        for index, (method, target) in enumerate(NOTABLE):
            jobs.append((f"{proxy}-notable-{index}", proxy, port, "n/a", method, target, "none"))
        for probe, method, target in [("sanity-allowed", "GET", ORDERS),
                                      ("sanity-dataset", "GET", "/v1/datasets/customers/rows"),
                                      ("sanity-write", "DELETE", ORDERS)]:
            jobs.append((f"{proxy}-{probe}", proxy, port, "n/a", method, target, "none"))

    started = time.monotonic()

    def run(job):
        probe, proxy, port, mark, method, target, name = job
        headers = [("X-API-Key", args.key), ("X-E2E-Probe", probe)] + FORGED[name]
        return job, send_raw(port, method, target, headers)

    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        for result in pool.map(run, jobs):
            results.append(result)
    elapsed = time.monotonic() - started
    time.sleep(0.3)  # the backend writes its line before it answers; be safe anyway
    records = load_records(args.backend_log)

    failures = 0

    def check(ok, description):
        nonlocal failures
        print(("ok   - " if ok else "FAIL - ") + description)
        if not ok:
            failures += 1

    by_probe = {}
    table = collections.OrderedDict()
    violations = collections.defaultdict(list)
    allow_reached = collections.Counter()
    allow_sent = collections.Counter()
    leaked_headers = collections.defaultdict(collections.Counter)
    for (probe, proxy, port, mark, method, target, name), (status, resp) in results:
        got = records.get(probe, [])
        by_probe[probe] = (status, resp, got, method, target)
        row = table.setdefault(proxy, collections.Counter())
        row["sent"] += 1
        row[classify(status, resp, bool(got))] += 1
        if mark == "allow" and name == "none":
            allow_sent[proxy] += 1
            allow_reached[proxy] += bool(got)
        for record in got:
            problems = problems_of(record, proxy)
            if problems:
                violations[proxy].append((method, target, name, status, record, problems))
            for header, _ in record["headers"]:
                h = header.lower()
                if h in ("x-original-uri", "x-original-method", "x-forwarded-uri",
                         "x-forwarded-method", "x-rewrite-url", "x-original-url",
                         "x-forwarded-prefix", "x-http-method-override"):
                    leaked_headers[proxy][header] += 1

    print(f"\n{len(results)} requests in {elapsed:.1f} s "
          f"({len(corpus)} corpus lines x {len(FORGED)} forged-header sets per proxy)")
    print("\nproxy   sent  reached  refused-by-proxy(400)  not-routed(404)  "
          "denied-by-keygate(401/403/429)  other(5xx/414/431/none)  violations")
    for proxy, row in table.items():
        print(f"{proxy:<7} {row['sent']:>4}  {row['reached']:>7}  {row['proxy400']:>21}  "
              f"{row['proxy404']:>15}  {row['keygate']:>30}  {row['other']:>23}  "
              f"{len(violations[proxy]):>10}")
    for proxy, _ in proxies:
        print(f"{proxy}: {allow_reached[proxy]} of {allow_sent[proxy]} 'allow'-marked corpus "
              "requests reached the backend (not asserted: keygate may call some ambiguous)")
        if leaked_headers[proxy]:
            print(f"{proxy}: client headers that reached the backend (not asserted): "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(leaked_headers[proxy].items())))

    print("\nnotable cases (no forged headers): status, who refused (code), or the target the "
          "backend saw")
    for index, (method, target) in enumerate(NOTABLE):
        cells = []
        for proxy, _ in proxies:
            status, resp, got, _, _ = by_probe[f"{proxy}-notable-{index}"]
            if got:
                cells.append(f"{proxy} {status} REACHED as {got[0]['target'][:24]}")
            else:
                # The examples' own 404 (`NOT_FOUND`) is the proxy's, not keygate's.
                by = "keygate" if resp.get("code") not in ("", "NOT_FOUND") else "proxy"
                cells.append(f"{proxy} {status} {by} {resp.get('code', '')}".rstrip())
        print(f"  {method} {target[:50]:<50} | " + " | ".join(f"{c:<38}" for c in cells))

    for proxy, _ in proxies:
        distinct = {}
        for violation in violations[proxy]:
            distinct.setdefault((violation[0], violation[1]), violation)
        print(f"{proxy}: {len(violations[proxy])} violations, {len(distinct)} distinct "
              "method+target" if violations[proxy] else f"{proxy}: no violations")
        for method, target, name, status, record, problems in list(distinct.values())[:10]:
            print(f"VIOLATION {proxy}: {method} {target[:100]} [forged: {name}] -> {status}; "
                  f"backend saw {record['method']} {record['target'][:100]}: {'; '.join(problems)}")

    print()
    for proxy, _ in proxies:
        check(not violations[proxy],
              f"{proxy}: no request reached the backend naming a dataset other than orders, "
              f"with a write method or with a forged X-Auth-* header "
              f"({len(violations[proxy])} did)")
        status, resp, got, _, _ = by_probe[f"{proxy}-sanity-allowed"]
        key_ids = [v for r in got for k, v in r["headers"] if k.lower() == "x-auth-key-id"]
        check(status == 200 and len(got) == 1 and key_ids == ["tb-viewer"],
              f"{proxy}: GET {ORDERS} reaches the backend with X-Auth-Key-Id: tb-viewer "
              f"(status {status}, {len(got)} records, key ids {key_ids})")
        for probe, what in [("sanity-dataset", "GET /v1/datasets/customers/rows"),
                            ("sanity-write", f"DELETE {ORDERS}")]:
            status, resp, got, _, _ = by_probe[f"{proxy}-{probe}"]
            check(status == 403 and not got,
                  f"{proxy}: {what} is denied (403) and does not reach the backend "
                  f"(status {status}, code {resp.get('x-auth-error-code', '-')}, "
                  f"{len(got)} records)")
        reached = table[proxy]["reached"]
        check(reached >= len(FORGED),
              f"{proxy}: some corpus requests reached the backend at all ({reached})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
