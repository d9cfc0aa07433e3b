#!/usr/bin/python3
"""Writes tests/data/e2e/hostile_uris.txt, the hostile request corpus of
tests/e2e/proxy_trust_boundary.sh. Run from the source dir after changing it:
    python3 tests/e2e/gen_hostile_uris.py > tests/data/e2e/hostile_uris.txt
The mark of each line comes from tests/e2e/recording_backend.py: `allow` when under
every reading the backend knows the request names no dataset but `orders` and reads
(GET/HEAD/OPTIONS), so that a fair gateway may let it through; else `deny`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recording_backend  # noqa: E402

D = "/v1/datasets"
targets = []


def add(*items):
    for item in items:
        if item not in targets:
            targets.append(item)


# Plain requests.
add(f"{D}/orders/rows", f"{D}/customers/rows", f"{D}/orders", f"{D}/customers",
    f"{D}/orders/", "/v1/query", f"{D}/orders/rows?dataset=orders", f"{D}/orders/rows?limit=10")
# Dot segments, plain and encoded, that climb from orders into customers (and back).
dots = ["..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%2E.", ".%2E", "%2e%2E", "%252e%252e",
        "%c0%ae%c0%ae", "%e0%80%ae%e0%80%ae", "%c0%2e%c0%2e", "..;", "..;x", "%2e%2e;",
        "..%00", "..%2f", "..%5c", "..%5C", "%2e%2e%2f", "..\\", ".%00.", "%2e%2e%00"]
for dot in dots:
    add(f"{D}/orders/{dot}/customers/rows", f"{D}/customers/{dot}/orders/rows",
        f"{D}/orders/rows/{dot}/{dot}/customers", f"/v1/{dot}/v1/datasets/customers")
add(f"{D}/orders/./rows", f"{D}/./customers/rows", f"{D}/orders/%2e/rows",
    f"/v1/datasets/orders/../../../../customers", f"/../v1/datasets/customers/rows",
    f"/%2e%2e/v1/datasets/customers/rows", "/x/../v1/datasets/customers/rows")
# Encoded separators and specials inside a segment.
for enc in ["%2F", "%2f", "%5C", "%5c", "%3F", "%3f", "%23", "%25", "%252F", "%252f",
            "%255C", "%2525", "%00", "%01", "%09", "%0a", "%0d%0a", "%7f", "%20",
            "%c0%af", "%e0%80%af", "%c1%9c", "%ff", "%"]:
    add(f"{D}/orders{enc}rows", f"{D}/orders{enc}/../customers/rows",
        f"{D}/orders{enc}..{enc}customers{enc}rows")
add(f"{D}/orders%3F/../customers/rows", f"{D}/orders%3Fdataset=orders/../../customers",
    f"{D}/orders\\..\\customers\\rows", f"{D}/orders\\rows")
# Matrix parameters.
add(f"{D}/orders;x/rows", f"{D}/orders;/rows", f"{D}/orders;dataset=customers/rows",
    f"{D}/customers;orders/rows", "/v1;x/datasets;y/customers/rows", f"{D};/customers",
    f"{D}/orders/rows;dataset=customers", f"{D}/orders/..;/customers/rows",
    f"{D}/orders/..;jsessionid=1/customers/rows")
# Doubled slashes.
add(f"//v1//datasets//customers", f"{D}//customers/rows", f"///v1/datasets/customers",
    f"{D}/orders//..//customers", f"{D}//orders//rows", "/v1//datasets/orders/rows")
# Case.
add("/V1/DATASETS/customers", "/v1/Datasets/customers/rows", f"{D}/CUSTOMERS/rows",
    f"{D}/Customers/rows", f"{D}/Orders/rows", "/V1/datasets/orders/rows",
    "/v1/DATASETS/orders/rows", "/V1/DaTaSeTs/cUsToMeRs/rows", "/V1/QUERY")
# Absolute form.
add("http://127.0.0.1/v1/datasets/customers/rows", "http://127.0.0.1/v1/datasets/orders/rows",
    "http://evil.example/v1/datasets/orders/rows",
    "http://127.0.0.1/v1/datasets/orders/../customers/rows", "HTTP://127.0.0.1/v1/datasets/customers")
# Long.
add(f"{D}/orders/" + "a/" * 1500 + "../" * 1501 + "customers/rows",
    f"{D}/orders/rows?" + "x=" + "y" * 6000 + "&dataset=customers",
    f"{D}/orders/" + "%2e" * 3000, f"{D}/orders/" + "b" * 9000)
# Query tricks.
for query in ["dataset=orders&dataset=customers", "dataset=customers&dataset=orders",
              "data%73et=customers", "%64ataset=customers", "dataset=orders;dataset=customers",
              ";dataset=customers", "&dataset=customers", "dataset%00=customers",
              "DATASET=customers", "Dataset=customers", "dataset=orders%26dataset%3Dcustomers",
              "dataset[]=customers", "dataset=%63ustomers", "dataset=customers%00",
              "dataset=customers#", "dataset=+customers", "dataset=orders,customers",
              "dataset=orders&&dataset=customers", "dataset=orders%3Bdataset=customers",
              "dataset%3Dcustomers", "x=1?dataset=customers"]:
    add(f"{D}/orders/rows?{query}", f"/v1/query?{query}")
# Fragments.
add(f"{D}/orders/rows#/../../customers", f"{D}/customers/rows#orders",
    f"{D}/orders%23/../customers/rows", f"{D}/orders/rows#?dataset=customers",
    f"{D}/orders#%2F..%2Fcustomers", f"{D}/customers#/../orders/rows")

write_methods = ["POST", "PUT", "DELETE", "PATCH"]
lines = []


def mark(method, target):
    reads = method in ("GET", "HEAD", "OPTIONS")
    names = recording_backend.analyse(method, target, [])["datasets"]
    return "allow" if reads and set(names) <= {"orders"} else "deny"


for i, target in enumerate(targets):
    methods = ["GET", write_methods[i % len(write_methods)]]
    if target.startswith("/v1/query") and methods[1] == "POST":
        methods[1] = "PUT"  # POST /v1/query is a read (CONTRACT section 5)
    if i % 7 == 0:
        methods.append("HEAD")
    if i % 11 == 0:
        methods.append("OPTIONS")
    for method in methods:
        lines.append(f"{mark(method, target)}\t{method}\t{target}")

print("# Hostile request corpus of tests/e2e/proxy_trust_boundary.sh (generated by")
print("# tests/e2e/gen_hostile_uris.py; regenerate rather than edit).")
print("# One request a line: MARK<TAB>METHOD<TAB>TARGET, the target sent as raw bytes in the")
print("# request line. MARK: `allow` = a fair gateway may let it through for a read-only key")
print("# allowed dataset `orders` only (every reading of tests/e2e/recording_backend.py names")
print("# no other dataset and the method reads); `deny` = it must never reach the data API.")
print(f"# {len(targets)} distinct targets, {len(lines)} requests.")
for line in lines:
    print(line)
