#!/usr/bin/env bash
# End-to-end: real nginx, configured with the example in examples/nginx/ (only its ports and
# log directory changed), in front of the real keygate binary, guarding a stand-in "query
# service" that echoes the X-Auth-* headers it receives.
#
#   curl --> nginx gateway --auth_request--> keygate /auth/nginx
#                  \--allowed--> query service (an nginx server that echoes headers)
#
# Usage: bash nginx_auth_request.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs nginx (with http_auth_request_module, as Debian's) and curl. Never skips.
# Set E2E_KEEP_TMP=1 to keep the temp dir (configs and logs) for debugging.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

# Debian installs nginx in /usr/sbin, which a non-root PATH may lack.
[[ :$PATH: == *:/usr/sbin:* ]] || PATH=$PATH:/usr/sbin
e2e_require_commands nginx curl sed grep awk
nginx -V 2>&1 | grep -c -- '--with-http_auth_request_module' >/dev/null ||
    e2e_die "this nginx lacks http_auth_request_module (Debian's nginx package has it)"

# The e2e test keys (tests/data/e2e/keys.yaml). Fake, for tests only.
KEY_BI=pk_acme_e2etestBIREADER0001        # viewer, tenant acme_corp, datasets [orders]
KEY_ANALYST=pk_acme_e2etestANALYST0002    # analyst, tenant acme_corp (stored as a hash)
KEY_DISABLED=pk_acme_e2etestDISABLED0003  # enabled: false
KEY_LIMITED=pk_acme_e2etestLIMITED0004    # viewer, rate_limit: 2
KEY_ADMIN=pk_ops_e2etestADMIN0005         # admin, no tenant
KEY_OFFICE=pk_acme_e2etestOFFICE0006      # viewer, ip_allowlist [127.0.0.5]
KEY_ROTATED=pk_acme_e2etestROTATED0007    # viewer; its previous secret is KEY_OLD_SECRET
KEY_OLD_SECRET=pk_acme_e2etestOLDSECRET0008  # honoured until 2099-01-01 (previous_keys)
KEY_UNKNOWN=pk_acme_e2etestNOTINFILE9999  # in no file
BI_AGENT="PowerBI/2.0"

e2e_init
e2e_log "temp dir: $E2E_TMP"

cp "$SOURCE_DIR/tests/data/e2e/keys.yaml" "$E2E_TMP/keys.yaml"
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
e2e_log "keygate ready on 127.0.0.1:$KEYGATE_PORT"

# ---------------------------------------------------------------------------------------------
# nginx: the example, as shipped, with its ports and log directory substituted.
# The stand-in query service, served by the same nginx: echoes who nginx says the caller is.
write_query_service() {
    cat >"$E2E_NGINX_PREFIX/conf/conf.d/e2e-query-service.conf" <<EOF
server {
    listen 127.0.0.1:$QUERY_PORT;
    access_log $E2E_NGINX_PREFIX/logs/query_service.log;
    location / {
        default_type text/plain;
        return 200 "key_id=\$http_x_auth_key_id tenant=\$http_x_auth_tenant role=\$http_x_auth_role permissions=\$http_x_auth_permissions datasets=\$http_x_auth_datasets denied=\$http_x_auth_datasets_denied rls=\$http_x_auth_rls grace=\$http_x_auth_key_grace_until error=\$http_x_auth_error_code method=\$request_method uri=\$request_uri\n";
    }
}
EOF
}

e2e_pick_port
QUERY_PORT=$E2E_PORT
e2e_start_example_nginx "$SOURCE_DIR" "$QUERY_PORT" "$KEYGATE_PORT" write_query_service
GATEWAY_PORT=$E2E_GATEWAY_PORT
NGINX_PREFIX=$E2E_NGINX_PREFIX
GATEWAY=http://127.0.0.1:$GATEWAY_PORT
e2e_log "nginx gateway on $GATEWAY, query service on 127.0.0.1:$QUERY_PORT"

# ---------------------------------------------------------------------------------------------
# Assertions on the last response.
expect_status() {
    e2e_expect_eq "$1: status" "$2" "$E2E_STATUS"
}
# The denial as keygate renders it: status, exact JSON body, JSON content type.
expect_denial() {
    local what=$1 status=$2 code=$3 detail=$4
    expect_status "$what" "$status"
    e2e_expect_eq "$what: body" "{\"detail\":\"$detail\",\"code\":\"$code\"}" "$E2E_BODY"
    e2e_expect_eq "$what: content type" "application/json" "$(e2e_header Content-Type)"
}
# The query service was reached and echoed FIELD=VALUE (one whole space-separated field).
expect_echo() {
    local line=" ${E2E_BODY//$'\n'/ } "
    if [[ $line == *" $2 "* ]]; then
        e2e_check "$1: query service saw $2" true
    else
        e2e_expect_eq "$1: query service saw $2" "... $2 ..." "$E2E_BODY"
    fi
}

# --- An allowed BI client with X-API-Key --------------------------------------------------------
e2e_request -A "$BI_AGENT" -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/orders/rows?limit=10"
expect_status "BI client, X-API-Key" 200
expect_echo "BI client" "key_id=acme-bi"
expect_echo "BI client" "tenant=acme_corp"
expect_echo "BI client" "role=viewer"
expect_echo "BI client" "permissions=read"
expect_echo "BI client" "datasets=orders"
expect_echo "BI client" "denied="
expect_echo "BI client" "rls=apply"
expect_echo "BI client" "method=GET"
expect_echo "BI client" "uri=/v1/datasets/orders/rows?limit=10"

# --- Authorization: Bearer, and a key stored as a hash -----------------------------------------
e2e_request -H "Authorization: Bearer $KEY_ANALYST" "$GATEWAY/v1/datasets/customers/rows"
expect_status "Bearer key" 200
expect_echo "Bearer key" "key_id=acme-analysts"
expect_echo "Bearer key" "tenant=acme_corp"
expect_echo "Bearer key" "role=analyst"
expect_echo "Bearer key" "permissions=read,write"
expect_echo "Bearer key" "datasets=orders,customers"
expect_echo "Bearer key" "denied=orders_raw"
expect_echo "Bearer key" "rls=apply"

# --- A body is passed to the query service, never to keygate (chunked and not) ---------------
e2e_request -H "X-API-Key: $KEY_ANALYST" -H "Content-Type: application/json" \
    --data '{"dataset":"orders","sql":"select 1"}' "$GATEWAY/v1/query"
expect_status "POST /v1/query with a body" 200
expect_echo "POST /v1/query with a body" "method=POST"
e2e_request -H "X-API-Key: $KEY_ANALYST" -H "Content-Type: application/json" \
    -H "Transfer-Encoding: chunked" --data-binary @"$SOURCE_DIR/tests/data/e2e/keys.yaml" \
    "$GATEWAY/v1/query"
expect_status "POST /v1/query, chunked body" 200
# keygate would check a forwarded JSON body's `dataset`; the example forwards none, so that
# check is the query service's (docs/proxies/nginx.md). This BI key may not read customers.
e2e_request -H "X-API-Key: $KEY_BI" -H "Content-Type: application/json" \
    --data '{"dataset":"customers","sql":"select 1"}' "$GATEWAY/v1/query"
expect_status "POST /v1/query: the body is not sent to keygate" 200

# --- Denials: keygate's JSON rebuilt by the example's named locations --------------------------
e2e_request -A "$BI_AGENT" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "no key" 401 MISSING_KEY "API key required"
e2e_expect_eq "no key: WWW-Authenticate, once" 'ApiKey header="X-API-Key"' \
    "$(e2e_header_values WWW-Authenticate)"

# The denial is JSON whatever the extension of the URI.
e2e_request "$GATEWAY/v1/datasets/orders/report.html"
expect_denial "no key, URI ending in .html" 401 MISSING_KEY "API key required"

e2e_request -A "$BI_AGENT" -H "X-API-Key: $KEY_UNKNOWN" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "unknown key" 401 INVALID_KEY "Invalid API key"
e2e_expect_eq "unknown key: WWW-Authenticate" 'ApiKey header="X-API-Key"' \
    "$(e2e_header_values WWW-Authenticate)"

e2e_request -H "X-API-Key: $KEY_DISABLED" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "disabled key" 403 KEY_DISABLED "API key disabled"
e2e_expect_eq "disabled key: no WWW-Authenticate on 403" "" "$(e2e_header WWW-Authenticate)"

e2e_request -A "$BI_AGENT" -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/customers/rows"
expect_denial "dataset in the path not allowed" 403 DATASET_FORBIDDEN \
    "Not authorized for dataset 'customers'"

# The original URI reaches keygate with its query string, and the client's headers too.
e2e_request -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/query?dataset=customers"
expect_denial "dataset in the query string not allowed" 403 DATASET_FORBIDDEN \
    "Not authorized for dataset 'customers'"
e2e_request -H "X-API-Key: $KEY_BI" -H "X-Dataset: customers" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "dataset in X-Dataset not allowed" 403 DATASET_FORBIDDEN \
    "Not authorized for dataset 'customers'"

# A dataset name with a quote: whatever detail keygate makes of it, the body stays valid
# JSON (keygate shows the quote as '?'; a detail that needs escaping would be replaced).
e2e_request -H "X-API-Key: $KEY_BI" -H 'X-Dataset: bad"name' "$GATEWAY/v1/datasets/orders/rows"
expect_status "dataset name with a quote" 403
e2e_expect_match "dataset name with a quote: body is still valid JSON" \
    '^\{"detail":"[^"\\]+","code":"DATASET_FORBIDDEN"\}$' "$E2E_BODY"

# The original method reaches keygate: a write needs `write`, which a viewer lacks.
e2e_request -X DELETE -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "viewer writing" 403 INSUFFICIENT_PERMISSION "Insufficient permission: write"

# --- A rotated key's old secret: the query service and the client are told when it ends -----
e2e_request -H "X-API-Key: $KEY_OLD_SECRET" "$GATEWAY/v1/datasets/orders/rows"
expect_status "previous secret in its grace window" 200
expect_echo "previous secret in its grace window" "key_id=acme-rotated"
expect_echo "previous secret in its grace window" "grace=2099-01-01T00:00:00Z"
e2e_expect_eq "previous secret in its grace window: Sunset to the client" \
    "Thu, 01 Jan 2099 00:00:00 GMT" "$(e2e_header Sunset)"
e2e_request -H "X-API-Key: $KEY_ROTATED" "$GATEWAY/v1/datasets/orders/rows"
expect_status "current secret of a rotated key" 200
expect_echo "current secret of a rotated key" "grace="
e2e_expect_eq "current secret of a rotated key: no Sunset" "" "$(e2e_header Sunset)"

# --- The client's address reaches keygate (X-Real-IP from a trusted peer) ----------------------
# curl sends from another loopback address; keygate sees nginx's 127.0.0.1 as the peer.
e2e_request --interface 127.0.0.5 -A "$BI_AGENT" -H "X-API-Key: $KEY_OFFICE" \
    "$GATEWAY/v1/datasets/orders/rows"
expect_status "ip_allowlist, from the allowed address" 200
expect_echo "ip_allowlist, from the allowed address" "key_id=acme-office"
e2e_request -H "X-API-Key: $KEY_OFFICE" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "ip_allowlist, from another address" 403 IP_NOT_ALLOWED "IP not allowed"
# nginx overwrites X-Real-IP, and keygate reads it before X-Forwarded-For.
e2e_request -H "X-API-Key: $KEY_OFFICE" -H "X-Real-IP: 127.0.0.5" -H "X-Forwarded-For: 127.0.0.5" \
    "$GATEWAY/v1/datasets/orders/rows"
expect_denial "ip_allowlist, forged X-Real-IP and X-Forwarded-For" 403 IP_NOT_ALLOWED \
    "IP not allowed"

# --- Client-sent X-Auth-* headers never reach the query service ---------------------------------
forged=(-H "X-Auth-Tenant: evil" -H "X-Auth-Role: admin" -H "X-Auth-RLS: bypass"
    -H "X-Auth-Datasets: *" -H "X-Auth-Key-Id: forged" -H "X-Auth-Error-Code: forged"
    -H "X-Auth-Key-Grace-Until: 2999-01-01T00:00:00Z")
e2e_request "${forged[@]}" -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/orders/rows"
expect_status "forged X-Auth-* headers, tenant key" 200
expect_echo "forged X-Auth-* headers, tenant key" "tenant=acme_corp"
expect_echo "forged X-Auth-* headers, tenant key" "role=viewer"
expect_echo "forged X-Auth-* headers, tenant key" "rls=apply"
expect_echo "forged X-Auth-* headers, tenant key" "datasets=orders"
expect_echo "forged X-Auth-* headers, tenant key" "key_id=acme-bi"
expect_echo "forged X-Auth-* headers, tenant key" "error="
expect_echo "forged X-Auth-* headers, tenant key" "grace="
# keygate sends no X-Auth-Tenant for a key without a tenant: the client's must not fill in.
e2e_request "${forged[@]}" -H "X-API-Key: $KEY_ADMIN" "$GATEWAY/v1/datasets/orders/rows"
expect_status "forged X-Auth-* headers, key without tenant" 200
expect_echo "forged X-Auth-* headers, key without tenant" "tenant="
expect_echo "forged X-Auth-* headers, key without tenant" "role=admin"
expect_echo "forged X-Auth-* headers, key without tenant" "rls=bypass"
expect_echo "forged X-Auth-* headers, key without tenant" "key_id=ops-admin"
e2e_check_not "forged X-Auth-Tenant: 'evil' appears nowhere in what the query service saw" \
    grep -q evil <<<"$E2E_BODY"

# --- The rest of the example ----------------------------------------------------------------
e2e_request -H "X-API-Key: $KEY_ADMIN" "$GATEWAY/_keygate"
expect_status "the internal /_keygate location from outside" 404
e2e_request "$GATEWAY/healthz"
expect_status "unprotected /healthz" 200

# --- Keep-alive to keygate: many sequential requests -------------------------------------------
# Prints how many TCP connections to or from PORT on 127.0.0.1 are in TIME_WAIT: each
# connection closed in the last minute left one, on the side that closed it first.
time_wait_count() {
    local port_hex
    port_hex=$(printf '%04X' "$1")
    awk -v p=":$port_hex" '$4 == "06" && (substr($2, length($2) - 4) == p ||
        substr($3, length($3) - 4) == p) { n++ } END { print n + 0 }' /proc/net/tcp
}
# One curl, one client connection; nginx makes one auth subrequest per request over its
# pooled connections to keygate (which may close them after a few requests: nginx must
# then open new ones without failing a request).
urls=()
for i in $(seq 1 50); do
    urls+=(--output /dev/null "$GATEWAY/v1/datasets/orders/rows?n=$i")
done
closed_before=$(time_wait_count "$KEYGATE_PORT")
statuses=$(curl --silent --noproxy '*' --max-time 30 -H "X-API-Key: $KEY_ANALYST" \
    --write-out '%{http_code}\n' "${urls[@]}" | sort | uniq -c | sed 's/^ *//')
e2e_expect_eq "50 sequential requests over the keep-alive upstream: all 200" "50 200" "$statuses"
# Without keep-alive each of the 50 auth subrequests would open and close a connection.
closed=$(($(time_wait_count "$KEYGATE_PORT") - closed_before))
e2e_check "keep-alive: connections to keygate are reused ($closed closed for 50 requests)" \
    test "$closed" -le 25
e2e_expect_eq "nginx logged no upstream error so far" "" \
    "$(grep -E '\[(error|crit|alert|emerg)\]' "$NGINX_PREFIX/logs/error.log")"

# --- Rate limit: keygate's 403 RATE_LIMITED becomes a real 429 ---------------------------------
# Rate limiting lands in keygate after this test was written: the strict assertions run once
# keygate shows it limits (rate-limit headers, or a RATE_LIMITED answer); before that the
# test says so and checks only that the example passes the requests.
e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
first_status=$E2E_STATUS
first_limit=$(e2e_header X-RateLimit-Limit)
e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
second_status=$E2E_STATUS
e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
if [[ -n $first_limit || $E2E_STATUS != 200 ]]; then
    e2e_expect_eq "rate limit: 1st request allowed" 200 "$first_status"
    e2e_expect_eq "rate limit: X-RateLimit-Limit passed to the client" 2 "$first_limit"
    e2e_expect_eq "rate limit: 2nd request allowed" 200 "$second_status"
    expect_denial "rate limit: 3rd request" 429 RATE_LIMITED "Rate limit exceeded"
    e2e_expect_match "rate limit: Retry-After in seconds, at least 1" '^[1-9][0-9]*$' \
        "$(e2e_header Retry-After)"
    e2e_expect_eq "rate limit: X-RateLimit-Remaining" 0 "$(e2e_header X-RateLimit-Remaining)"
    e2e_expect_match "rate limit: RateLimit-Policy" '^"minute";q=2;w=60$' \
        "$(e2e_header RateLimit-Policy)"
    # docs/bi-tools.md's table of what a BI tool sees says the same: 429, also through nginx.
    e2e_expect_eq "docs/bi-tools.md: RATE_LIMITED is a 429 for the client" 1 \
        "$(grep -c '^| 429 | `RATE_LIMITED` |' "$SOURCE_DIR/docs/bi-tools.md")"
    e2e_expect_eq "docs/bi-tools.md: no '403 through nginx'" 0 \
        "$(grep -c '403 through nginx' "$SOURCE_DIR/docs/bi-tools.md")"
else
    e2e_log "NOTE: keygate does not rate-limit yet (no X-RateLimit-* headers, 3rd request" \
        "allowed): the 429 assertions did not run"
    e2e_expect_eq "rate-limited key before rate limiting exists: allowed" "200 200 200" \
        "$first_status $second_status $E2E_STATUS"
fi

# --- keygate's audit log sees the client, not nginx -------------------------------------------
# The audit log is wired into `keygate serve` after this test was written: the strict
# assertions run once keygate writes auth events; before that the test says so.
audit_files=("$E2E_TMP/audit.log" "$E2E_TMP/keygate.out")
office_audit_line() {
    grep -hsE '"key_id": ?"acme-office"' "${audit_files[@]}" | grep -E '"ip_address": ?"127\.0\.0\.5"'
}
if e2e_wait_until 3 grep -qsE '"event": ?"auth"' "${audit_files[@]}"; then
    e2e_wait_until 5 office_audit_line >/dev/null
    line=$(office_audit_line)
    e2e_expect_eq "audit: one event for the office key from 127.0.0.5" 1 \
        "$(printf '%s' "$line" | grep -c .)"
    e2e_expect_match "audit: the client's User-Agent" '"user_agent": ?"PowerBI/2\.0"' "$line"
    e2e_expect_match "audit: the original path" '"endpoint": ?"/v1/datasets/orders/rows"' "$line"
    e2e_expect_match "audit: the original method" '"method": ?"GET"' "$line"
    e2e_expect_match "audit: allowed" '"decision": ?"allow"' "$line"
    e2e_expect_match "audit: the key masked" '"api_key": ?"pk_acme_\*\*\*"' "$line"
else
    e2e_log "NOTE: keygate wrote no audit event within 3 s: the audit assertions did not run"
fi

# --- No key or hash in any log ---------------------------------------------------------------
for key in "$KEY_BI" "$KEY_ANALYST" "$KEY_DISABLED" "$KEY_LIMITED" "$KEY_ADMIN" "$KEY_OFFICE" \
    "$KEY_ROTATED" "$KEY_OLD_SECRET" "$KEY_UNKNOWN"; do
    e2e_check_not "no full key in keygate's logs (${key%_*}_***)" \
        grep -qsF -- "$key" "$E2E_TMP/keygate.log" "$E2E_TMP/keygate.out" "$E2E_TMP/audit.log"
done

# --- keygate down: fail closed with a JSON 503 --------------------------------------------------
e2e_stop_spawned "$KEYGATE_PID"
e2e_request -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/orders/rows"
expect_denial "keygate unreachable" 503 AUTH_UNAVAILABLE "Authorization service unavailable"

e2e_finish
