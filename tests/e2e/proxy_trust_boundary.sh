#!/usr/bin/env bash
# End-to-end proof of the proxy trust boundary (issue 12): real nginx (examples/nginx/,
# /auth/nginx) and real Caddy (examples/caddy/Caddyfile, /auth/forward) in front of the real
# keygate binary, guarding a backend that records every request it receives.
#
#   raw socket --> nginx --auth_request--> keygate /auth/nginx    --allowed--> recording
#   raw socket --> Caddy --forward_auth--> keygate /auth/forward  --allowed--> backend
#
# Every request of the hostile corpus (tests/data/e2e/hostile_uris.txt: encoded `?` `#` `/`
# `\` `%`, dot segments, `;` parameters, NUL, overlong UTF-8, double encoding, case
# variants, absolute form, long targets, query and fragment tricks, read and write methods)
# goes through each proxy with a valid key, once with each set of forged client headers
# (X-Original-*, X-Forwarded-*, X-Rewrite-URL, X-Dataset, X-Auth-*). The key may read
# dataset `orders` only. The property: nothing reached the backend naming another dataset
# under any reading of tests/e2e/recording_backend.py (case-insensitive included), with a
# method other than GET/HEAD/OPTIONS, or with X-Auth-* headers keygate did not set.
# tests/e2e/trust_boundary_driver.py sends the requests and checks.
#
# Usage: bash proxy_trust_boundary.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs nginx, caddy (Debian packages), python3 and curl. Never skips.
# Set E2E_KEEP_TMP=1 to keep the temp dir (configs, logs, the backend's records).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

[[ :$PATH: == *:/usr/sbin:* ]] || PATH=$PATH:/usr/sbin
e2e_require_commands nginx caddy python3 curl sed grep
nginx -V 2>&1 | grep -c -- '--with-http_auth_request_module' >/dev/null ||
    e2e_die "this nginx lacks http_auth_request_module (Debian's nginx package has it)"

# tests/data/e2e/trust_boundary_keys.yaml: viewer, tenant acme_corp, dataset orders only.
# Fake, for tests only.
KEY=pk_acme_e2etestTRUSTBOUNDARY01

e2e_init
e2e_log "temp dir: $E2E_TMP"

cp "$SOURCE_DIR/tests/data/e2e/trust_boundary_keys.yaml" "$E2E_TMP/keys.yaml"
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
e2e_log "keygate ready on 127.0.0.1:$KEYGATE_PORT"

# The recording backend, shared by both proxies.
BACKEND_LOG=$E2E_TMP/backend.jsonl
: >"$BACKEND_LOG"
# shellcheck disable=SC2317 # called through e2e_wait_until
backend_up() { e2e_port_open "$BACKEND_PORT"; }
for attempt in 1 2 3; do
    e2e_pick_port
    BACKEND_PORT=$E2E_PORT
    e2e_spawn "$E2E_TMP/backend.out" "$E2E_TMP/backend.err" \
        /usr/bin/python3 "$SOURCE_DIR/tests/e2e/recording_backend.py" "$BACKEND_PORT" "$BACKEND_LOG"
    BACKEND_PID=$E2E_SPAWNED_PID
    e2e_wait_until 10 backend_up && kill -0 "$BACKEND_PID" 2>/dev/null && break
    e2e_stop_spawned "$BACKEND_PID"
    e2e_show_log "$E2E_TMP/backend.err" 10
    ((attempt < 3)) || e2e_die "the recording backend did not start"
done
e2e_log "recording backend on 127.0.0.1:$BACKEND_PORT"

e2e_start_example_nginx "$SOURCE_DIR" "$BACKEND_PORT" "$KEYGATE_PORT"
e2e_log "nginx gateway on 127.0.0.1:$E2E_GATEWAY_PORT"
e2e_start_example_caddy "$SOURCE_DIR" "$BACKEND_PORT" "$KEYGATE_PORT"
e2e_log "caddy gateway on 127.0.0.1:$E2E_CADDY_GATEWAY_PORT"

# The corpus must be the committed one, and big enough to mean something.
CORPUS=$SOURCE_DIR/tests/data/e2e/hostile_uris.txt
lines=$(grep -cv '^#' "$CORPUS")
e2e_check "the corpus has at least 200 requests ($lines)" test "$lines" -ge 200

/usr/bin/python3 "$SOURCE_DIR/tests/e2e/trust_boundary_driver.py" \
    --corpus "$CORPUS" --backend-log "$BACKEND_LOG" --key "$KEY" \
    --proxy "nginx=$E2E_GATEWAY_PORT" --proxy "caddy=$E2E_CADDY_GATEWAY_PORT" \
    >"$E2E_TMP/driver.out" 2>"$E2E_TMP/driver.err"
driver_rc=$?
cat "$E2E_TMP/driver.out"
[[ -s $E2E_TMP/driver.err ]] && e2e_show_log "$E2E_TMP/driver.err" 20
# Count the driver's checks as this script's.
E2E_PASSED=$((E2E_PASSED + $(grep -c '^ok   - ' "$E2E_TMP/driver.out")))
E2E_FAILED=$((E2E_FAILED + $(grep -c '^FAIL - ' "$E2E_TMP/driver.out")))
e2e_expect_eq "the driver ran to the end" 0 "$((driver_rc > 1 ? driver_rc : 0))"

# Everything stayed up (a proxy that crashed would make every request "not reach").
e2e_check "keygate is still running" kill -0 "$KEYGATE_PID"
e2e_check "nginx is still running" kill -0 "$E2E_NGINX_PID"
e2e_check "caddy is still running" kill -0 "$E2E_CADDY_PID"
e2e_check "the recording backend is still running" kill -0 "$BACKEND_PID"

e2e_finish
