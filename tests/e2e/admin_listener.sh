#!/usr/bin/env bash
# KEYGATE_ADMIN_LISTEN / --admin-listen against the real binary:
#   - with it, /metrics and the admin API (/v1/status, /v1/reload, /v1/keys..., /v1/report)
#     answer on the admin listener only (404 NOT_FOUND on the main one, as an unknown path);
#     the auth endpoints, /v1/authorize and /v1/audit on the main one only (404 on the admin
#     one); /healthz and /readyz on both; admin endpoints still want the admin key;
#   - decisions made on the main listener are counted on the admin listener's /metrics;
#   - the start-up log names the admin address in a `listen` field (port 0: the bound port);
#   - SIGTERM with a shutdown delay: /readyz 503 on both listeners during the delay, then
#     both stop and keygate exits 0;
#   - a Unix socket works as the admin listener;
#   - a bad value is a usage error (exit 2) naming the variable or flag; an address that
#     cannot be bound exits 1;
#   - without it, every endpoint stays on the main listener.
#
# Usage: bash admin_listener.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl python3
e2e_init

# Keys made up for this run.
generated=$("$KEYGATE_BIN" generate --tenant acme --count 2) || e2e_die "keygate generate failed"
mapfile -t made < <(grep -E '^pk_acme_' <<<"$generated")
((${#made[@]} == 2)) || e2e_die "keygate generate printed ${#made[@]} keys"
KEY_ANALYST=${made[0]}
KEY_ADMIN=${made[1]}
cat >"$E2E_TMP/keys.yaml" <<YAML
settings: {trusted_proxies: ["127.0.0.1/32"]}
api_keys:
  - {id: acme-analysts, key_hash: "$("$KEYGATE_BIN" hash <<<"$KEY_ANALYST")", tenant: acme, role: analyst, allowed_datasets: [orders]}
YAML

# The admin address keygate logged (KEYGATE_LOG_FORMAT=json, its `listen` field), once it
# has logged it; fails until then.
admin_address() {
    python3 - "$E2E_TMP/keygate.log" <<'PYTHON'
import json, sys
for line in open(sys.argv[1]):
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("role") == "admin" and "admin API" in entry.get("message", ""):
        print(entry["listen"])
        sys.exit(0)
sys.exit(1)
PYTHON
}

# --- both listeners ---------------------------------------------------------------------------
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" API_KEY_ADMIN="$KEY_ADMIN" \
    KEYGATE_ADMIN_LISTEN=127.0.0.1:0 KEYGATE_LOG_FORMAT=json KEYGATE_SHUTDOWN_DELAY=2s
MAIN=http://127.0.0.1:$KEYGATE_PORT
e2e_wait_until 5 admin_address >/dev/null || {
    e2e_show_log "$E2E_TMP/keygate.log"
    e2e_die "keygate did not log its admin listener"
}
ADMIN_LISTEN=$(admin_address)
e2e_expect_match "the log's listen field is the bound admin address" '^127\.0\.0\.1:[0-9]+$' \
    "$ADMIN_LISTEN"
ADMIN_PORT=${ADMIN_LISTEN##*:}
e2e_check "the admin port is not port 0 nor the main port" \
    test "$ADMIN_PORT" != 0 -a "$ADMIN_PORT" != "$KEYGATE_PORT"
ADMIN=http://127.0.0.1:$ADMIN_PORT

e2e_request "$ADMIN/metrics"
e2e_expect_eq "/metrics on the admin listener: 200" 200 "$E2E_STATUS"
e2e_expect_match "/metrics on the admin listener is the Prometheus page" \
    '# TYPE keygate_requests_total counter' "$E2E_BODY"
e2e_request "$MAIN/metrics"
e2e_expect_eq "/metrics on the main listener: 404" 404 "$E2E_STATUS"
e2e_expect_eq "/metrics on the main listener: the 404 of an unknown path" \
    '{"detail":"Not found","code":"NOT_FOUND"}' "$E2E_BODY"

NGINX_HEADERS=(-H "X-API-Key: $KEY_ANALYST" -H "X-Original-URI: /v1/datasets/orders/rows")
e2e_request "${NGINX_HEADERS[@]}" "$MAIN/auth/nginx"
e2e_expect_eq "/auth/nginx with a valid key on the main listener: 200" 200 "$E2E_STATUS"
e2e_expect_eq "  ...with its X-Auth-Key-Id" acme-analysts "$(e2e_header X-Auth-Key-Id)"
e2e_request "${NGINX_HEADERS[@]}" "$ADMIN/auth/nginx"
e2e_expect_eq "/auth/nginx on the admin listener: 404 (not nginx's 403)" 404 "$E2E_STATUS"
e2e_expect_eq "  ...code NOT_FOUND" NOT_FOUND "$(e2e_header X-Auth-Error-Code)"
for path in /auth /auth/forward /auth/envoy/v1/datasets/orders/rows; do
    e2e_request -H "X-API-Key: $KEY_ANALYST" "$ADMIN$path"
    e2e_expect_eq "$path on the admin listener: 404" 404 "$E2E_STATUS"
done
e2e_request -H "X-API-Key: $KEY_ANALYST" -d '{"dataset":"orders"}' "$ADMIN/v1/authorize"
e2e_expect_eq "POST /v1/authorize on the admin listener: 404" 404 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_ANALYST" -d '{"dataset":"orders"}' "$MAIN/v1/authorize"
e2e_expect_eq "POST /v1/authorize on the main listener: 200" 200 "$E2E_STATUS"
e2e_request -d '{"endpoint":"/v1/query"}' "$ADMIN/v1/audit"
e2e_expect_eq "POST /v1/audit on the admin listener: 404" 404 "$E2E_STATUS"
e2e_request -d '{"endpoint":"/v1/query"}' "$MAIN/v1/audit"
e2e_expect_eq "POST /v1/audit on the main listener: 202" 202 "$E2E_STATUS"

e2e_request -H "X-API-Key: $KEY_ADMIN" "$ADMIN/v1/status"
e2e_expect_eq "/v1/status with the admin key on the admin listener: 200" 200 "$E2E_STATUS"
e2e_expect_match "  ...the status JSON" '"generation":1' "$E2E_BODY"
e2e_request -H "X-API-Key: $KEY_ADMIN" "$MAIN/v1/status"
e2e_expect_eq "/v1/status with the admin key on the main listener: 404" 404 "$E2E_STATUS"
e2e_request "$ADMIN/v1/status"
e2e_expect_eq "/v1/status without a key on the admin listener: still 401" 401 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_ANALYST" "$ADMIN/v1/keys"
e2e_expect_eq "/v1/keys with a key without admin: still 403" 403 "$E2E_STATUS"
for path in /v1/keys /v1/keys/acme-analysts /v1/keys/acme-analysts/usage /v1/report; do
    e2e_request -H "X-API-Key: $KEY_ADMIN" "$ADMIN$path"
    e2e_expect_eq "$path on the admin listener: 200" 200 "$E2E_STATUS"
    e2e_request -H "X-API-Key: $KEY_ADMIN" "$MAIN$path"
    e2e_expect_eq "$path on the main listener: 404" 404 "$E2E_STATUS"
done
e2e_request -X POST -H "X-API-Key: $KEY_ADMIN" "$ADMIN/v1/reload"
e2e_expect_eq "POST /v1/reload on the admin listener: 200" 200 "$E2E_STATUS"
e2e_request -X POST -H "X-API-Key: $KEY_ADMIN" "$MAIN/v1/reload"
e2e_expect_eq "POST /v1/reload on the main listener: 404" 404 "$E2E_STATUS"

for url in "$MAIN" "$ADMIN"; do
    e2e_request "$url/healthz"
    e2e_expect_eq "/healthz on $url: 200" 200 "$E2E_STATUS"
    e2e_request "$url/readyz"
    e2e_expect_eq "/readyz on $url: 200" 200 "$E2E_STATUS"
done
e2e_request "$ADMIN/no/such/path"
e2e_expect_eq "an unknown path on the admin listener: 404" 404 "$E2E_STATUS"

# The decisions made on the main listener, counted on the admin one (and no new label).
curl --silent --noproxy '*' "$ADMIN/metrics" >"$E2E_TMP/metrics.txt"
e2e_check "the admin /metrics counts the main listener's decisions" grep -qF \
    'keygate_requests_total{endpoint="/auth/nginx",decision="allow",code="OK"} 1' \
    "$E2E_TMP/metrics.txt"
e2e_check "  ...and the admin API's refusals, under endpoint=\"/auth\" as before" grep -qF \
    'keygate_requests_total{endpoint="/auth",decision="deny",code="MISSING_KEY"} 1' \
    "$E2E_TMP/metrics.txt"
e2e_expect_eq "no listener label" 0 "$(grep -c 'listener=' "$E2E_TMP/metrics.txt")"

# Shutdown: not ready on both during the delay, then both stop; exit 0.
# shellcheck disable=SC2317 # called through e2e_wait_until
main_draining() {
    [[ $(curl --silent --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "$MAIN/readyz") == 503 ]]
}
kill -TERM "$KEYGATE_PID"
e2e_check "SIGTERM: /readyz 503 on the main listener during the delay" e2e_wait_until 1 main_draining
e2e_request "$ADMIN/readyz"
e2e_expect_eq "SIGTERM: /readyz 503 on the admin listener during the delay" 503 "$E2E_STATUS"
e2e_expect_eq "  ...draining" '{"status":"draining"}' "$E2E_BODY"
e2e_request "$ADMIN/metrics"
e2e_expect_eq "SIGTERM: /metrics still answers during the delay" 200 "$E2E_STATUS"
wait "$KEYGATE_PID"
e2e_expect_eq "keygate exits 0 after the delay" 0 "$?"
e2e_stop_spawned "$KEYGATE_PID"
e2e_check_not "the main listener is closed" e2e_port_open "$KEYGATE_PORT"
e2e_check_not "the admin listener is closed" e2e_port_open "$ADMIN_PORT"

# --- a Unix socket as the admin listener ------------------------------------------------------
SOCKET=$E2E_TMP/admin.sock
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" API_KEY_ADMIN="$KEY_ADMIN" \
    KEYGATE_ADMIN_LISTEN="unix:$SOCKET"
e2e_request --unix-socket "$SOCKET" http://keygate/metrics
e2e_expect_eq "KEYGATE_ADMIN_LISTEN=unix:PATH: /metrics on the socket" 200 "$E2E_STATUS"
e2e_request --unix-socket "$SOCKET" -H "X-API-Key: $KEY_ADMIN" http://keygate/v1/status
e2e_expect_eq "  ...and /v1/status" 200 "$E2E_STATUS"
e2e_request "http://127.0.0.1:$KEYGATE_PORT/metrics"
e2e_expect_eq "  ...and 404 on the main listener" 404 "$E2E_STATUS"
e2e_stop_spawned "$KEYGATE_PID"
e2e_check_not "the socket file is removed on exit" test -e "$SOCKET"

# --- bad values -------------------------------------------------------------------------------
env -u KEYGATE_ADMIN_LISTEN KEYGATE_ADMIN_LISTEN=nowhere \
    "$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" >/dev/null 2>"$E2E_TMP/bad.err"
e2e_expect_eq "a bad KEYGATE_ADMIN_LISTEN exits 2" 2 "$?"
e2e_expect_eq "  ...naming the variable" \
    "keygate serve: KEYGATE_ADMIN_LISTEN: invalid listen address 'nowhere' (expected HOST:PORT)" \
    "$(head -n 1 "$E2E_TMP/bad.err")"
"$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" --admin-listen 127.0.0.1:x \
    >/dev/null 2>"$E2E_TMP/bad.err"
e2e_expect_eq "a bad --admin-listen exits 2" 2 "$?"
e2e_expect_match "  ...naming the flag" "^keygate serve: --admin-listen: " \
    "$(head -n 1 "$E2E_TMP/bad.err")"
e2e_pick_port
env -u KEYGATE_ADMIN_LISTEN KEYGATE_AUDIT_LOG=/dev/null "$KEYGATE_BIN" serve \
    --config "$E2E_TMP/keys.yaml" --listen "127.0.0.1:$E2E_PORT" --admin-listen 192.0.2.1:1 \
    >/dev/null 2>"$E2E_TMP/bind.err"
e2e_expect_eq "an admin address that cannot be bound exits 1" 1 "$?"
e2e_check "  ...saying it is the admin listener" grep -qF "admin listener: " "$E2E_TMP/bind.err"

# --- without KEYGATE_ADMIN_LISTEN: one listener, as before -----------------------------------
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" API_KEY_ADMIN="$KEY_ADMIN"
ONLY=http://127.0.0.1:$KEYGATE_PORT
e2e_request "$ONLY/metrics"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: /metrics on the main listener" 200 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_ADMIN" "$ONLY/v1/status"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: /v1/status on the main listener" 200 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_ADMIN" "$ONLY/v1/report"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: /v1/report on the main listener" 200 "$E2E_STATUS"
e2e_request "${NGINX_HEADERS[@]}" "$ONLY/auth/nginx"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: /auth/nginx on the main listener" 200 "$E2E_STATUS"
e2e_request "$ONLY/healthz"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: /healthz" 200 "$E2E_STATUS"
e2e_expect_eq "without KEYGATE_ADMIN_LISTEN: no admin listener is logged" 0 \
    "$(grep -c 'admin API on' "$E2E_TMP/keygate.log")"

e2e_finish
