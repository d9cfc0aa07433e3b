#!/usr/bin/env bash
# End-to-end: keygate listening on a Unix socket (`--listen unix:PATH`) in a temp dir, real
# nginx in front of it with examples/nginx/ as shipped except that the `upstream keygate`
# block of conf.d/keygate.conf is replaced by `include snippets/keygate-upstream-unix.conf;`
# (that snippet's socket path rewritten into the temp dir), as the snippet says to do.
# Checks that allow, deny and rate-limit answers and headers come through, that a client
# address from nginx is believed (a Unix peer counts as 127.0.0.1, a trusted proxy), that
# the socket is mode 0660, and that keygate removes it when it exits.
#
# Usage: bash nginx_unix_socket.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs nginx (with http_auth_request_module, as Debian's), curl and stat. Never skips.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

[[ :$PATH: == *:/usr/sbin:* ]] || PATH=$PATH:/usr/sbin
e2e_require_commands nginx curl stat awk grep
nginx -V 2>&1 | grep -c -- '--with-http_auth_request_module' >/dev/null ||
    e2e_die "this nginx lacks http_auth_request_module (Debian's nginx package has it)"

# The e2e test keys (tests/data/e2e/keys.yaml). Fake, for tests only.
KEY_BI=pk_acme_e2etestBIREADER0001       # viewer, tenant acme_corp, datasets [orders]
KEY_DISABLED=pk_acme_e2etestDISABLED0003 # enabled: false
KEY_LIMITED=pk_acme_e2etestLIMITED0004   # viewer, rate_limit: 2
KEY_OFFICE=pk_acme_e2etestOFFICE0006     # viewer, ip_allowlist [127.0.0.5]

e2e_init
e2e_log "temp dir: $E2E_TMP"
SOCKET_DIR=$E2E_TMP/run
SOCKET=$SOCKET_DIR/keygate.sock
mkdir -p "$SOCKET_DIR"

# --- keygate on the socket --------------------------------------------------------------------
cp "$SOURCE_DIR/tests/data/e2e/keys.yaml" "$E2E_TMP/keys.yaml"
unset_args=()
for var in "${E2E_KEYGATE_ENV_VARS[@]}"; do
    unset_args+=(-u "$var")
done
e2e_spawn "$E2E_TMP/keygate.out" "$E2E_TMP/keygate.log" \
    env "${unset_args[@]}" KEYGATE_AUDIT_LOG="$E2E_TMP/audit.log" \
    "$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" --listen "unix:$SOCKET"
KEYGATE_PID=$E2E_SPAWNED_PID
socket_ready_or_gone() {
    kill -0 "$KEYGATE_PID" 2>/dev/null || return 0
    curl --silent --fail --max-time 1 --output /dev/null --unix-socket "$SOCKET" \
        http://keygate/readyz
}
e2e_wait_until 20 socket_ready_or_gone && kill -0 "$KEYGATE_PID" 2>/dev/null || {
    e2e_show_log "$E2E_TMP/keygate.log"
    e2e_die "keygate did not become ready on unix:$SOCKET within 20 s"
}
e2e_expect_match "keygate logs the socket it listens on" "listening on unix:$SOCKET" \
    "$(cat "$E2E_TMP/keygate.log")"
e2e_expect_eq "the socket is a socket" socket "$(stat -c %F "$SOCKET")"
e2e_expect_eq "the socket is mode 0660" 660 "$(stat -c %a "$SOCKET")"

# --- nginx: the example with the Unix upstream ------------------------------------------------
use_unix_upstream() {
    local conf=$E2E_NGINX_PREFIX/conf
    e2e_substitute "$conf/snippets/keygate-upstream-unix.conf" \
        "server unix:/run/keygate/keygate.sock;" "server unix:$SOCKET;"
    # The upstream block of conf.d/keygate.conf (its TCP address was already rewritten),
    # replaced by the include, as the snippet's comment says.
    grep -q '^upstream keygate {$' "$conf/conf.d/keygate.conf" ||
        e2e_die "no 'upstream keygate {' block in conf.d/keygate.conf: update the test"
    awk '/^upstream keygate \{$/ { print "include snippets/keygate-upstream-unix.conf;"; skip = 1; next }
         skip && /^\}$/ { skip = 0; next }
         !skip { print }' "$conf/conf.d/keygate.conf" >"$conf/conf.d/keygate.conf.new" &&
        mv "$conf/conf.d/keygate.conf.new" "$conf/conf.d/keygate.conf"
    ! grep -q "server 127.0.0.1" "$conf/conf.d/keygate.conf" ||
        e2e_die "conf.d/keygate.conf still has a TCP upstream"
    cat >"$conf/conf.d/e2e-query-service.conf" <<CONF
server {
    listen 127.0.0.1:$QUERY_PORT;
    access_log $E2E_NGINX_PREFIX/logs/query_service.log;
    location / {
        default_type text/plain;
        return 200 "key_id=\$http_x_auth_key_id tenant=\$http_x_auth_tenant\n";
    }
}
CONF
}
e2e_pick_port
QUERY_PORT=$E2E_PORT
# The keygate port argument is unused: use_unix_upstream replaces the TCP upstream.
e2e_start_example_nginx "$SOURCE_DIR" "$QUERY_PORT" 9 use_unix_upstream
GATEWAY=http://127.0.0.1:$E2E_GATEWAY_PORT
e2e_log "nginx gateway on $GATEWAY, keygate on unix:$SOCKET"

# --- allow, deny, rate limits through nginx ---------------------------------------------------
e2e_request -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "allowed: status" 200 "$E2E_STATUS"
e2e_expect_eq "allowed: the query service saw who the caller is" \
    "key_id=acme-bi tenant=acme_corp" "$E2E_BODY"

e2e_request -H "X-API-Key: $KEY_BI" "$GATEWAY/v1/datasets/customers/rows"
e2e_expect_eq "dataset denied: status" 403 "$E2E_STATUS"
e2e_expect_eq "dataset denied: body" \
    '{"detail":"Not authorized for dataset '"'"'customers'"'"'","code":"DATASET_FORBIDDEN"}' \
    "$E2E_BODY"

e2e_request "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "no key: status" 401 "$E2E_STATUS"
e2e_expect_eq "no key: body" '{"detail":"API key required","code":"MISSING_KEY"}' "$E2E_BODY"
e2e_expect_eq "no key: WWW-Authenticate" 'ApiKey header="X-API-Key"' \
    "$(e2e_header WWW-Authenticate)"

e2e_request -H "X-API-Key: $KEY_DISABLED" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "disabled key: status" 403 "$E2E_STATUS"
e2e_expect_eq "disabled key: body" \
    '{"detail":"API key disabled","code":"KEY_DISABLED"}' "$E2E_BODY"

e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "rate limit: 1st request allowed" 200 "$E2E_STATUS"
e2e_expect_eq "rate limit: X-RateLimit-Limit passed to the client" 2 "$(e2e_header X-RateLimit-Limit)"
e2e_expect_eq "rate limit: X-RateLimit-Remaining after the 1st" 1 \
    "$(e2e_header X-RateLimit-Remaining)"
e2e_expect_match "rate limit: RateLimit-Policy" '^"minute";q=2;w=60$' "$(e2e_header RateLimit-Policy)"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "rate limit: 2nd request allowed" 200 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "rate limit: 3rd request 429" 429 "$E2E_STATUS"
e2e_expect_eq "rate limit: 3rd request body" '{"detail":"Rate limit exceeded","code":"RATE_LIMITED"}' \
    "$E2E_BODY"
e2e_expect_match "rate limit: Retry-After in seconds" '^[1-9][0-9]*$' "$(e2e_header Retry-After)"

# --- the client address: nginx's X-Real-IP is believed from the Unix peer --------------------
e2e_request --interface 127.0.0.5 -H "X-API-Key: $KEY_OFFICE" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "ip_allowlist: a client on 127.0.0.5 (X-Real-IP from nginx) is allowed" 200 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_OFFICE" "$GATEWAY/v1/datasets/orders/rows"
e2e_expect_eq "ip_allowlist: a client on 127.0.0.1 is not" 403 "$E2E_STATUS"
e2e_expect_match "the audit log has the client's address, not the socket" \
    '"key_id":"acme-office".*"ip_address":"127\.0\.0\.5"' "$(cat "$E2E_TMP/audit.log")"
e2e_expect_eq "nginx logged no upstream error" "" \
    "$(grep -E '\[(error|crit|alert|emerg)\]' "$E2E_NGINX_PREFIX/logs/error.log")"

# --- exit: the socket file is removed ---------------------------------------------------------
kill -TERM "$KEYGATE_PID"
wait "$KEYGATE_PID"
e2e_expect_eq "keygate exits 0 on SIGTERM" 0 "$?"
e2e_check "keygate removed its socket file" test ! -e "$SOCKET"
e2e_stop_spawned "$KEYGATE_PID"

e2e_finish
