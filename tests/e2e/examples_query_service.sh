#!/usr/bin/env bash
# The query-service example (examples/query-service/) against the real keygate:
#   - keygate_client.py: authorize() allowed and denied (status, code, detail, tenant, rls,
#     datasets), client_ip from a trusted peer, consume=False leaving the rate limit alone,
#     KeygateUnavailable when nothing listens, audit() accepted count;
#   - query_service.py, the toy data API: rows filtered by the caller's tenant (all rows for a
#     role that bypasses RLS), keygate's denials passed through (401 with WWW-Authenticate,
#     403 with the code), 503 when keygate is down, and one `access` event per served
#     request in keygate's audit log, with its key id, dataset, row count and request id,
#     never the key.
#
# Usage: bash examples_query_service.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 and curl. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl python3 grep
[[ -x $KEYGATE_BIN ]] || e2e_die "keygate binary '$KEYGATE_BIN' not found or not executable"
e2e_init
EXAMPLE=$SOURCE_DIR/examples/query-service
# Importing the example must not leave __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

# Obviously fake test keys.
KEY_ACME=pk_acme_corp_exampleTestQSACME00000000000001
KEY_GLOBEX=pk_globex_exampleTestQSGLOBEX000000000000002
KEY_LIMITED=pk_acme_corp_exampleTestQSLIMIT0000000000003
KEY_ADMIN=pk_ops_exampleTestQSADMIN0004
cat >"$E2E_TMP/keys.yaml" <<EOF
version: 1
api_keys:
  - {id: qs-acme, key: "$KEY_ACME", tenant: acme_corp, role: viewer, allowed_datasets: [orders]}
  - {id: qs-globex, key: "$KEY_GLOBEX", tenant: globex, role: analyst}
  - {id: qs-limited, key: "$KEY_LIMITED", tenant: acme_corp, role: viewer, rate_limit: 1,
     ip_allowlist: [203.0.113.7]}
  - {id: qs-admin, key: "$KEY_ADMIN", role: admin}
EOF
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
KEYGATE_URL=http://127.0.0.1:$KEYGATE_PORT

# --- the client module ----------------------------------------------------------------------
e2e_pick_port
unused_port=$E2E_PORT
python3 - "$EXAMPLE" "$KEYGATE_URL" "$unused_port" "$KEY_ACME" "$KEY_LIMITED" \
    >"$E2E_TMP/client.out" 2>&1 <<'PYTHON'
import sys
sys.path.insert(0, sys.argv[1])
from keygate_client import KeygateClient, KeygateUnavailable, access_event

url, unused_port, key_acme, key_limited = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
passed = failed = 0


def check(description, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {description}")
    else:
        failed += 1
        print(f"FAIL - {description}")
        print(f"       {detail}")


client = KeygateClient(url)
d = client.authorize(key_acme, dataset="orders", permission="read", method="GET",
                     path="/v1/datasets/orders/rows", consume=False)
check("authorize: allowed", d.allowed and d.status == 200 and d.code == "OK", d)
check("authorize: the key's id, tenant, role and RLS mode",
      (d.key_id, d.tenant, d.role, d.rls) == ("qs-acme", "acme_corp", "viewer", "apply"), d)
check("authorize: the dataset patterns", d.datasets == ["orders"], d.datasets)

d = client.authorize(key_acme, dataset="customers", permission="read", consume=False)
check("authorize: a dataset outside the key's list is denied",
      (d.allowed, d.status, d.code, d.detail)
      == (False, 403, "DATASET_FORBIDDEN", "Not authorized for dataset 'customers'"), d)
d = client.authorize(None, dataset="orders")
check("authorize: no key", (d.allowed, d.status, d.code) == (False, 401, "MISSING_KEY"), d)
d = client.authorize("pk_acme_corp_notInTheFile000000000000000000", dataset="orders")
check("authorize: an unknown key", (d.status, d.code) == (401, "INVALID_KEY"), d)

d = client.authorize(key_limited, dataset="orders", client_ip="198.51.100.1", consume=False)
check("authorize: client_ip from a trusted peer counts", d.code == "IP_NOT_ALLOWED", d)
for i in range(3):
    d = client.authorize(key_limited, dataset="orders", client_ip="203.0.113.7", consume=False)
check("authorize: consume=False never uses up the rate limit", d.allowed, d)
d1 = client.authorize(key_limited, dataset="orders", client_ip="203.0.113.7")
d2 = client.authorize(key_limited, dataset="orders", client_ip="203.0.113.7")
check("authorize: consume=True does", d1.allowed and (d2.status, d2.code) == (429, "RATE_LIMITED"),
      (d1, d2))
check("authorize: the retry delay of a limited request", d2.retry_after and d2.retry_after >= 1, d2)

try:
    KeygateClient(f"http://127.0.0.1:{unused_port}", timeout=1).authorize(key_acme, dataset="orders")
    check("authorize: nothing listening raises KeygateUnavailable", False, "no exception")
except KeygateUnavailable:
    check("authorize: nothing listening raises KeygateUnavailable", True)

event = access_event("/v1/query", key_id="qs-acme", dataset="orders", method="POST", status=200,
                     rows=3, duration_ms=12.5, ip_address="198.51.100.1", user_agent="test",
                     request_id="client-module-test", extra={"query": "q1"})
check("access_event: an RFC 3339 UTC timestamp with milliseconds",
      len(event["timestamp"]) == 24 and event["timestamp"].endswith("Z"), event["timestamp"])
try:
    accepted = client.audit([event, access_event("/v1/query", key_id="qs-acme",
                                                 request_id="client-module-test-2")])
    check("audit: keygate accepts the batch", accepted == 2, accepted)
except (KeygateUnavailable, ValueError) as e:
    check("audit: keygate accepts the batch", False, e)
try:
    client.audit([{"dataset": "orders"}])  # no endpoint
    check("audit: a bad batch raises ValueError", False, "accepted")
except ValueError:
    check("audit: a bad batch raises ValueError", True)
except KeygateUnavailable as e:
    check("audit: a bad batch raises ValueError", False, e)

print(f"COUNTS {passed} {failed}")
PYTHON
grep -v '^COUNTS ' "$E2E_TMP/client.out"
counts=$(grep '^COUNTS ' "$E2E_TMP/client.out" | tail -n 1)
[[ $counts =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)$ ]] || e2e_die "the client checks did not finish"
E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))

# --- the toy data API --------------------------------------------------------------------------
service_ready() {
    kill -0 "$SERVICE_PID" 2>/dev/null || return 0
    curl --silent --fail --noproxy '*' --max-time 1 --output /dev/null "http://127.0.0.1:$SERVICE_PORT/healthz"
}
e2e_pick_port
SERVICE_PORT=$E2E_PORT
e2e_spawn "$E2E_TMP/service.out" "$E2E_TMP/service.log" \
    python3 "$EXAMPLE/query_service.py" --listen "127.0.0.1:$SERVICE_PORT" --keygate "$KEYGATE_URL"
SERVICE_PID=$E2E_SPAWNED_PID
e2e_wait_until 15 service_ready && kill -0 "$SERVICE_PID" 2>/dev/null || {
    e2e_show_log "$E2E_TMP/service.log"
    e2e_die "the query service did not start"
}
Q=http://127.0.0.1:$SERVICE_PORT

rows_tenants() { # the distinct tenants of the rows in the last body
    python3 -c 'import json,sys; print(",".join(sorted({r["tenant"] for r in json.loads(sys.argv[1])["rows"]})))' "$E2E_BODY"
}

e2e_request -H "X-API-Key: $KEY_ACME" -H "X-Request-ID: qs-e2e-1" -A "PowerBI/2.0" "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: acme reads orders" 200 "$E2E_STATUS"
e2e_expect_eq "service: only acme's rows (RLS)" acme_corp "$(rows_tenants)"
e2e_request -H "Authorization: Bearer $KEY_GLOBEX" "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: globex reads orders with a Bearer key" 200 "$E2E_STATUS"
e2e_expect_eq "service: only globex's rows (RLS)" globex "$(rows_tenants)"
e2e_request -H "X-API-Key: $KEY_ADMIN" "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: an admin bypasses RLS and sees every tenant" acme_corp,globex "$(rows_tenants)"

e2e_request -H "X-API-Key: $KEY_ACME" "$Q/v1/datasets/customers/rows"
e2e_expect_eq "service: keygate's 403 is passed on" \
    "403 {\"detail\": \"Not authorized for dataset 'customers'\", \"code\": \"DATASET_FORBIDDEN\"}" \
    "$E2E_STATUS $E2E_BODY"
e2e_request "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: no key is 401" 401 "$E2E_STATUS"
e2e_expect_eq "service: with WWW-Authenticate" 'ApiKey header="X-API-Key"' "$(e2e_header WWW-Authenticate)"
e2e_request -X POST -H "X-API-Key: $KEY_ACME" "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: a viewer may not write" INSUFFICIENT_PERMISSION \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["code"])' "$E2E_BODY")"

# Every served request is reported as an access event; keygate writes it to its audit log.
access_logged() {
    grep '"event":"access"' "$E2E_TMP/audit.log" 2>/dev/null | grep -c '"request_id":"qs-e2e-1"' >/dev/null
}
e2e_check "audit log: the access event of the served request" e2e_wait_until 5 access_logged
line=$(grep '"event":"access"' "$E2E_TMP/audit.log" 2>/dev/null | grep '"request_id":"qs-e2e-1"' | head -n 1)
e2e_expect_match "audit log: the key id" '"key_id":"qs-acme"' "$line"
e2e_expect_match "audit log: the dataset" '"dataset":"orders"' "$line"
e2e_expect_match "audit log: the rows served" '"rows":2[,}]' "$line"
e2e_expect_match "audit log: with the tenant keygate adds" '"tenant":"acme_corp"' "$line"
e2e_check_not "audit log: never the key" grep -qF "$KEY_ACME" "$E2E_TMP/audit.log"

# --behind-proxy: the caller comes from the proxy's X-Auth-* headers (what nginx, Traefik
# or Envoy set from keygate's allowed answer); no X-Auth-Key-Id means "not through the
# proxy".
e2e_pick_port
PROXIED_PORT=$E2E_PORT
e2e_spawn "$E2E_TMP/proxied.out" "$E2E_TMP/proxied.log" python3 "$EXAMPLE/query_service.py" \
    --listen "127.0.0.1:$PROXIED_PORT" --keygate "$KEYGATE_URL" --behind-proxy
SERVICE_PID=$E2E_SPAWNED_PID
SERVICE_PORT=$PROXIED_PORT
e2e_wait_until 15 service_ready && kill -0 "$SERVICE_PID" 2>/dev/null || {
    e2e_show_log "$E2E_TMP/proxied.log"
    e2e_die "the query service (--behind-proxy) did not start"
}
P=http://127.0.0.1:$PROXIED_PORT
e2e_request -H "X-Auth-Key-Id: qs-globex" -H "X-Auth-Tenant: globex" -H "X-Auth-Role: analyst" \
    -H "X-Auth-RLS: apply" -H "X-Request-ID: qs-e2e-proxied" "$P/v1/datasets/orders/rows"
e2e_expect_eq "behind a proxy: served from the X-Auth-* headers" 200 "$E2E_STATUS"
e2e_expect_eq "behind a proxy: RLS by X-Auth-Tenant" globex "$(rows_tenants)"
e2e_request -H "X-Auth-Key-Id: qs-admin" -H "X-Auth-Role: admin" -H "X-Auth-RLS: bypass" \
    "$P/v1/datasets/orders/rows"
e2e_expect_eq "behind a proxy: X-Auth-RLS bypass sees every tenant" acme_corp,globex "$(rows_tenants)"
e2e_request -H "X-API-Key: $KEY_ACME" "$P/v1/datasets/orders/rows"
e2e_expect_eq "behind a proxy: no X-Auth-Key-Id (not through the proxy) is refused" 403 "$E2E_STATUS"
proxied_logged() {
    grep '"event":"access"' "$E2E_TMP/audit.log" 2>/dev/null | grep -c '"request_id":"qs-e2e-proxied"' >/dev/null
}
e2e_check "behind a proxy: the access event is reported too" e2e_wait_until 5 proxied_logged

# Fail closed.
e2e_stop_spawned "$KEYGATE_PID"
e2e_request -H "X-API-Key: $KEY_ACME" "$Q/v1/datasets/orders/rows"
e2e_expect_eq "service: keygate down is 503, never the data" 503 "$E2E_STATUS"
e2e_check_not "service: and no rows" grep -q '"rows"' "$E2E_TMP/last.body"

e2e_finish
