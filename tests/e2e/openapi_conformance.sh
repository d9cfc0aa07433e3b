#!/usr/bin/env bash
# api/openapi.yaml against the running server:
#   - the document is OpenAPI 3.1 and well-formed: every $ref resolves, every schema is a
#     valid JSON Schema 2020-12, every operation has responses with a description;
#   - it describes exactly the endpoints src/server routes (the paths in HttpApi::classify);
#   - real requests to each endpoint, allowed and denied, get a status the document lists for
#     that operation, carry every header it marks required (and keygate's own headers only
#     where documented, each value matching its schema), the documented media type, and a
#     JSON body valid against the documented schema.
#
# Usage: bash openapi_conformance.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema), curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands python3 curl
python3 -c 'import yaml, jsonschema' 2>/dev/null ||
    e2e_die "python3 modules 'yaml' and 'jsonschema' are required (Debian: python3-yaml python3-jsonschema)"
e2e_init

# Obviously fake test keys.
KEY_ADMIN=pk_oa_exampleTestOAADMIN0000000000000001
KEY_GOOD=pk_oa_exampleTestOAGOOD00000000000000002
KEY_LIMITED=pk_oa_exampleTestOALIMIT0000000000000003
KEY_OFF=pk_oa_exampleTestOAOFF000000000000000004
KEY_DENY=pk_oa_exampleTestOADENY00000000000000005
cat >"$E2E_TMP/keys.yaml" <<YAML
version: 1
api_keys:
  - {id: oa-admin, key: "$KEY_ADMIN", role: admin}
  - {id: oa-good, key: "$KEY_GOOD", tenant: acme, role: viewer, allowed_datasets: [orders, "sales_*"], rate_limit: 100, daily_limit: 1000}
  - {id: oa-limited, key: "$KEY_LIMITED", tenant: acme, role: viewer, rate_limit: 1}
  - {id: oa-off, key: "$KEY_OFF", tenant: acme, role: viewer, enabled: false}
  - {id: oa-deny, key: "$KEY_DENY", tenant: acme, role: analyst, denied_datasets: [secrets], expires_at: "2099-01-01T00:00:00Z"}
YAML
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_SHUTDOWN_DELAY=3s
MAIN_PORT=$KEYGATE_PORT
MAIN_PID=$KEYGATE_PID
# A second keygate that trusts no peer: /v1/audit refuses the test's 127.0.0.1.
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_TRUSTED_PROXIES=none
UNTRUSTED_PORT=$KEYGATE_PORT

python3 - "$SOURCE_DIR" "$MAIN_PORT" "$UNTRUSTED_PORT" "$KEY_ADMIN" "$KEY_GOOD" "$KEY_LIMITED" \
    "$KEY_OFF" "$KEY_DENY" "$MAIN_PID" >"$E2E_TMP/openapi.out" 2>&1 <<'PYTHON'
import copy
import http.client
import json
import os
import re
import signal
import sys
import time

import jsonschema
import yaml

source, port, untrusted_port, admin, good, limited, off, deny, main_pid = sys.argv[1:]
doc = yaml.safe_load(open(os.path.join(source, "api", "openapi.yaml"), encoding="utf-8"))
passed = failed = 0


def check(description, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {description}")
    else:
        failed += 1
        print(f"FAIL - {description}")
        for line in str(detail).splitlines()[:20]:
            print(f"       {line}")


def resolve(node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            node = node[part]
        seen += 1
        assert seen < 20, "a $ref loop"
    return node


# --- the document itself -----------------------------------------------------------------
check("openapi is 3.1.x", str(doc.get("openapi", "")).startswith("3.1."), doc.get("openapi"))
check("info has a title and a version", doc.get("info", {}).get("title") and doc["info"].get("version"))
broken = []


def walk(node, where):
    if isinstance(node, dict):
        if "$ref" in node:
            try:
                resolve({"$ref": node["$ref"]})
            except (KeyError, AssertionError) as e:
                broken.append(f"{where}: {node['$ref']} ({e})")
        for k, v in node.items():
            walk(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}/{i}")


walk(doc, "#")
check("every $ref resolves", not broken, "\n".join(broken))
bad_schemas = []
for name, schema in doc["components"]["schemas"].items():
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        bad_schemas.append(f"{name}: {e.message}")
check("every component schema is valid JSON Schema 2020-12", not bad_schemas, "\n".join(bad_schemas))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
problems = []
for path, item in doc["paths"].items():
    for method in METHODS:
        if method in item:
            responses = item[method].get("responses") or {}
            if not responses:
                problems.append(f"{method} {path}: no responses")
            for status, response in responses.items():
                if not re.fullmatch(r"[1-5][0-9][0-9]", str(status)):
                    problems.append(f"{method} {path}: status {status}")
                if not resolve(response).get("description"):
                    problems.append(f"{method} {path} {status}: no description")
check("every operation has responses, each with a description", not problems, "\n".join(problems))

# --- the same endpoints as the server ------------------------------------------------------
code = open(os.path.join(source, "src", "server", "http_api.cpp"), encoding="utf-8").read()
classify = code[code.index("HttpApi::classify"):]
classify = classify[:classify.index("\n}\n")]
routed = set(re.findall(r'path == "([^"]+)"', classify))
documented = set()
for path in doc["paths"]:
    documented.add(path)
# The auth endpoints are the proxy adapters' (src/server/adapter_*.cpp, chosen by adapter_for).
import glob
if "adapter_for(" in classify:
    for adapter_file in sorted(glob.glob(os.path.join(source, "src", "server", "adapter_*.cpp"))):
        adapter_code = open(adapter_file, encoding="utf-8").read()
        for adapter_path in re.findall(r'const ProxyAdapter k_\w+\{"([^"]+)"', adapter_code):
            if adapter_path == "/auth/envoy":
                routed.add("/auth/envoy/{originalPath}")
            else:
                routed.add(adapter_path)
expected = set(routed)
if "is_envoy_target" in classify:
    expected.add("/auth/envoy/{originalPath}")
if 'starts_with("/v1/keys/")' in classify:
    expected |= {"/v1/keys/{id}", "/v1/keys/{id}/usage"}
check("the document describes exactly the endpoints HttpApi::classify routes",
      documented == expected, f"documented only: {sorted(documented - expected)}\n"
                              f"routed only: {sorted(expected - documented)}")

# --- real requests ----------------------------------------------------------------------------
def template_of(path):
    raw = path.split("?")[0]
    if raw.startswith("/auth/envoy/"):
        return "/auth/envoy/{originalPath}"
    for template in doc["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, raw):
            return template
    return None


def validate(schema, instance):
    root = copy.deepcopy(schema)
    root["components"] = doc["components"]
    validator = jsonschema.Draft202012Validator(root)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


OWN_HEADERS = re.compile(r"^(x-auth-.*|x-ratelimit-.*|ratelimit(-policy)?|retry-after|www-authenticate|sunset|allow)$")
covered = {}


def request(description, method, path, headers=None, body=None, expect=None, to=None):
    conn = http.client.HTTPConnection("127.0.0.1", int(to or port), timeout=10)
    data = body if body is None or isinstance(body, (bytes, str)) else json.dumps(body)
    all_headers = dict(headers or {})
    if data is not None:
        all_headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    raw = response.read()
    status = response.status
    got = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    problems = []
    if expect is not None and status != expect:
        problems.append(f"status {status}, the test expects {expect}")
    template = template_of(path)
    operation = doc["paths"].get(template, {}).get(method.lower()) if template else None
    if template is None and status == 404:
        # An unknown path: the document's generic error.
        documented_response = doc["components"]["responses"]["Error"]
    elif operation is None and template is not None:
        # A method the path does not list: 405 with Allow naming the ones it does.
        documented_response = doc["components"]["responses"]["MethodNotAllowed"] if status == 405 else None
        listed = [m.upper() for m in METHODS if m in doc["paths"][template]]
        if status != 405:
            problems.append(f"{method} is not documented for {template}, yet the answer is {status}, not 405")
        elif sorted(got.get("allow", "").split(", ")) != sorted(listed):
            problems.append(f"Allow: {got.get('allow')!r}, the document lists {listed}")
        covered.setdefault((template, "other"), set()).add(status)
    elif operation is None:
        documented_response = None
        problems.append(f"{method} {path} is not in the document")
    else:
        covered.setdefault((template, method.lower()), set()).add(status)
        documented_response = operation["responses"].get(str(status))
    if documented_response is None:
        problems.append(f"status {status} is not documented for {method} {template}")
    else:
        documented_response = resolve(documented_response)
        documented_headers = {k.lower(): resolve(v) for k, v in (documented_response.get("headers") or {}).items()}
        for name, spec in documented_headers.items():
            if spec.get("required") and name not in got:
                problems.append(f"required header {name} is missing")
            if name in got:
                errors = validate(spec.get("schema", {}), got[name])
                if errors:
                    problems.append(f"header {name}: {got[name]!r}: {errors}")
        for name in got:
            if OWN_HEADERS.match(name) and name not in documented_headers:
                problems.append(f"header {name} is sent but not documented for {status}")
        content = documented_response.get("content")
        if content:
            media = got.get("content-type", "")
            if media not in content:
                problems.append(f"Content-Type {media!r} is not one of {list(content)}")
            elif media == "application/json":
                try:
                    value = json.loads(raw)
                except ValueError as e:
                    problems.append(f"the body is not JSON: {e}")
                else:
                    errors = validate(content[media].get("schema", {}), value)
                    problems += [f"body {e}" for e in errors]
                    if isinstance(value, dict) and "x-auth-error-code" in got and value.get("code") != got["x-auth-error-code"]:
                        problems.append("the body's code differs from X-Auth-Error-Code")
        elif raw:
            problems.append(f"a body where the document has none: {raw[:80]!r}")
    check(f"{description}: {method} {path} -> {status}", not problems, "\n".join(problems))
    try:
        return json.loads(raw)
    except ValueError:
        return raw


key = lambda k: {"X-API-Key": k}  # noqa: E731
for endpoint in ("/auth", "/auth/forward", "/auth/nginx", "/auth/envoy/v1/query"):
    nginx = endpoint == "/auth/nginx"
    request(f"{endpoint} allowed", "GET", endpoint, key(good), expect=200)
    request(f"{endpoint} allowed as POST", "POST", endpoint, {**key(deny), "X-Dataset": "orders"}, expect=200)
    request(f"{endpoint} allowed by Bearer", "GET", endpoint, {"Authorization": f"Bearer {admin}"}, expect=200)
    request(f"{endpoint} missing key", "GET", endpoint, expect=401)
    request(f"{endpoint} unknown key", "GET", endpoint, key("pk_oa_unknownTestKey0000000000000009"), expect=401)
    request(f"{endpoint} disabled key", "GET", endpoint, key(off), expect=403)
    request(f"{endpoint} forbidden dataset", "GET", endpoint, {**key(good), "X-Dataset": "secrets"}, expect=403)
    request(f"{endpoint} write without permission", "DELETE", endpoint,
            {**key(good), "X-Original-Method": "DELETE", "X-Forwarded-Method": "DELETE"}, expect=403)
request("/auth ambiguous original URI", "GET", "/auth",
        {**key(good), "X-Original-URI": "/a", "X-Forwarded-Uri": "/b"}, expect=400)
request("/auth/nginx ambiguous original URI", "GET", "/auth/nginx",
        {**key(good), "X-Original-URI": "/a/%2F/b"}, expect=403)
request("/auth/forward a limited key's first request", "GET", "/auth/forward", key(limited), expect=200)
request("/auth/forward rate limited", "GET", "/auth/forward", key(limited), expect=429)
request("/auth/nginx rate limited (403 for nginx)", "GET", "/auth/nginx", key(limited), expect=403)
request("/auth/envoy rate limited", "GET", "/auth/envoy/v1/query", key(limited), expect=429)

request("authorize allowed", "POST", "/v1/authorize", key(good), {"dataset": "orders", "permission": "read"}, expect=200)
request("authorize allowed, key in the body, not consumed", "POST", "/v1/authorize", None,
        {"api_key": good, "dataset": "sales_eu", "consume": False, "method": "GET", "path": "/v1/query"}, expect=200)
request("authorize denied dataset", "POST", "/v1/authorize", key(good), {"dataset": "secrets"}, expect=403)
request("authorize missing key", "POST", "/v1/authorize", None, {"dataset": "orders"}, expect=401)
request("authorize malformed body", "POST", "/v1/authorize", key(good), "{not json", expect=400)
request("authorize rate limited", "POST", "/v1/authorize", key(limited), {}, expect=429)
request("authorize by GET", "GET", "/v1/authorize", key(good), expect=405)

request("audit one event", "POST", "/v1/audit", key(good), {"endpoint": "/v1/query", "dataset": "orders", "rows": 3}, expect=202)
request("audit a batch", "POST", "/v1/audit", None, [{"endpoint": "/v1/query", "key_id": "oa-good"}, {"endpoint": "/v1/x"}], expect=202)
request("audit a bad batch", "POST", "/v1/audit", None, [{"dataset": "orders"}], expect=400)
request("audit too large a batch", "POST", "/v1/audit", None, [{"endpoint": "/e"}] * 1001, expect=413)
request("audit by GET", "GET", "/v1/audit", expect=405)
request("audit from an untrusted peer", "POST", "/v1/audit", None, {"endpoint": "/v1/query"}, expect=403, to=untrusted_port)

listing = request("keys as admin", "GET", "/v1/keys", key(admin), expect=200)
check("the key listing holds no secret", isinstance(listing, dict)
      and not any(k in json.dumps(listing) for k in (admin, good, limited, off, deny)))
request("keys without a key", "GET", "/v1/keys", expect=401)
request("keys as a viewer", "GET", "/v1/keys", key(good), expect=403)
request("keys by POST", "POST", "/v1/keys", key(admin), expect=405)
request("one key", "GET", "/v1/keys/oa-deny", key(admin), expect=200)
request("an unknown key id", "GET", "/v1/keys/nope", key(admin), expect=404)
request("one key as a viewer", "GET", "/v1/keys/oa-good", key(good), expect=403)
request("usage", "GET", "/v1/keys/oa-good/usage", key(admin), expect=200)
request("usage of a key without limits", "GET", "/v1/keys/oa-admin/usage", key(admin), expect=200)
request("usage of an unknown key", "GET", "/v1/keys/nope/usage", key(admin), expect=404)
request("usage without a key", "GET", "/v1/keys/oa-good/usage", expect=401)
request("status", "GET", "/v1/status", key(admin), expect=200)
request("status as a viewer", "GET", "/v1/status", key(good), expect=403)
request("status by POST", "POST", "/v1/status", key(admin), expect=405)
request("reload", "POST", "/v1/reload", key(admin), expect=200)
request("reload without a key", "POST", "/v1/reload", expect=401)
request("reload by GET", "GET", "/v1/reload", key(admin), expect=405)
report = request("report", "GET", "/v1/report", key(admin), expect=200)
check("the report names the key without rate_limit and the one expiring by 2099",
      isinstance(report, dict)
      and "oa-admin" in [k["key_id"] for k in report.get("no_rate_limit", [])]
      and [k["key_id"] for k in report.get("expiring", [])] == [])
wide = request("report with windows", "GET", "/v1/report?expiring=36500d&unused=1s", key(admin), expect=200)
check("a 100-year window names the key expiring in 2099",
      isinstance(wide, dict) and [k["key_id"] for k in wide.get("expiring", [])] == ["oa-deny"])
request("report with a bad window", "GET", "/v1/report?expiring=soon", key(admin), expect=400)
request("report as a viewer", "GET", "/v1/report", key(good), expect=403)
request("report by POST", "POST", "/v1/report", key(admin), expect=405)
request("healthz", "GET", "/healthz", expect=200)
request("healthz by DELETE", "DELETE", "/healthz", expect=405)
request("metrics", "GET", "/metrics", expect=200)
request("metrics by POST", "POST", "/metrics", expect=405)
request("readyz", "GET", "/readyz", expect=200)
request("readyz by POST", "POST", "/readyz", expect=405)
os.kill(int(main_pid), signal.SIGTERM)  # KEYGATE_SHUTDOWN_DELAY=3s: serving, not ready
time.sleep(0.3)
request("an unknown path", "GET", "/v2/nothing", expect=404)
request("readyz while draining", "GET", "/readyz", expect=503)

uncovered = [f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in ("get", "post")
             if m in item and (p, m) not in covered]
check("every endpoint was asked (GET or POST)", not uncovered, uncovered)
by_path = {}
for (p, _), statuses in covered.items():
    by_path.setdefault(p, set()).update(statuses)
denied = [p for p, statuses in by_path.items() if not any(s >= 400 for s in statuses)]
check("every endpoint was also denied or refused once", not denied, denied)
print(f"COUNTS {passed} {failed}")
PYTHON
grep -v '^COUNTS ' "$E2E_TMP/openapi.out"
counts=$(grep '^COUNTS ' "$E2E_TMP/openapi.out" | tail -n 1)
if [[ $counts =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)$ ]]; then
    E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
    E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))
else
    e2e_die "the OpenAPI checks did not finish"
fi
e2e_finish
