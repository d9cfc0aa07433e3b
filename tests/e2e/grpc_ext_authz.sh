#!/usr/bin/env bash
# End-to-end: Envoy's gRPC external authorization (KEYGATE_GRPC_LISTEN, CONTRACT §6) against
# the real keygate binary, with a real gRPC client (python3-grpcio) sending the CheckRequests
# Envoy sends (tests/e2e/grpc_check_driver.py):
#   - every row 0-8 of the decision table gets the same decision, status, body and headers
#     as the same request to /auth/envoy over HTTP, with headers_to_remove and
#     dynamic_metadata {key_id, tenant, role, code};
#   - keygate_requests_total{endpoint="grpc"} and the audit log count every Check;
#   - GET /v1/keys/{id}/usage counts allowed and denied Checks as it counts /auth/envoy;
#   - grpc.health.v1.Health answers SERVING, then NOT_SERVING during the shutdown delay
#     while Check is still answered; keygate then exits 0;
#   - hostile clients (stalled streams, oversized, nested, non-UTF-8 messages, deadlines,
#     cancellation, concurrency) get errors or denials and do not stop keygate answering;
#   - the same over a Unix socket.
#
# Usage: bash grpc_ext_authz.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with python3-grpcio and python3-protobuf, protoc (protobuf-compiler), curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

PYTHON=/usr/bin/python3
DRIVER=$SOURCE_DIR/tests/e2e/grpc_check_driver.py
e2e_require_commands "$PYTHON" protoc curl grep
"$PYTHON" -c 'import grpc, google.protobuf' 2>/dev/null ||
    e2e_die "python3-grpcio and python3-protobuf are required (apt-get install python3-grpcio python3-protobuf)"

e2e_init
e2e_log "temp dir: $E2E_TMP"

# Fresh random keys for this run (never a key from the repository).
"$PYTHON" "$DRIVER" write-keys "$E2E_TMP/keys.yaml" "$E2E_TMP/keys.json" ||
    e2e_die "cannot write the key file"

e2e_pick_port
GRPC_PORT=$E2E_PORT
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" \
    KEYGATE_GRPC_LISTEN="127.0.0.1:$GRPC_PORT" KEYGATE_SHUTDOWN_DELAY=4s
e2e_log "keygate on 127.0.0.1:$KEYGATE_PORT, gRPC on 127.0.0.1:$GRPC_PORT"
e2e_check "the log names the gRPC address" \
    grep -c "serving gRPC ext_authz (envoy.service.auth.v3.Authorization) on 127.0.0.1:$GRPC_PORT" \
    "$E2E_TMP/keygate.log"

"$PYTHON" "$DRIVER" health --grpc "127.0.0.1:$GRPC_PORT" --proto "$SOURCE_DIR/proto" \
    --work "$E2E_TMP/gen" --expect SERVING >"$E2E_TMP/health.out" 2>&1
health_rc=$?
cat "$E2E_TMP/health.out"
e2e_check "health: SERVING once the key set is loaded" test "$health_rc" -eq 0

"$PYTHON" "$DRIVER" decisions --grpc "127.0.0.1:$GRPC_PORT" --http "$KEYGATE_PORT" \
    --keys "$E2E_TMP/keys.json" --proto "$SOURCE_DIR/proto" --work "$E2E_TMP/gen" \
    >"$E2E_TMP/decisions.out" 2>&1
decisions_rc=$?
cat "$E2E_TMP/decisions.out"
e2e_check "every row decided as /auth/envoy decides it ($(tail -n 1 "$E2E_TMP/decisions.out"))" \
    test "$decisions_rc" -eq 0

# Metrics: one count per Check under endpoint="grpc", by code.
e2e_request "http://127.0.0.1:$KEYGATE_PORT/metrics"
metrics=$E2E_BODY
if [[ -f $E2E_TMP/gen/expected_metrics.json ]]; then
    while IFS='=' read -r code count; do
        e2e_check "metrics: endpoint=\"grpc\" code $code counted $count" \
            grep -c "^keygate_requests_total{endpoint=\"grpc\",decision=\"[a-z]*\",code=\"$code\"} $count\$" \
            <<<"$metrics"
    done < <("$PYTHON" -c 'import json,sys
for code, count in json.load(open(sys.argv[1])).items(): print(f"{code}={count}")' \
        "$E2E_TMP/gen/expected_metrics.json")
fi
e2e_check "metrics: /auth/envoy counted apart" \
    grep -c '^keygate_requests_total{endpoint="/auth/envoy",decision="allow",code="OK"} [1-9]' \
    <<<"$metrics"

# Audit: the Check calls are audited like HTTP (their x-request-id starts with e2e-).
grpc_lines=$(grep -c '"request_id":"e2e-' "$E2E_TMP/audit.log")
e2e_check "audit: every Check (19) has its line ($grpc_lines)" test "$grpc_lines" -eq 19
e2e_check_not "audit: no full key in the audit log" \
    grep -c -F -f <("$PYTHON" -c 'import json,sys
print("\n".join(json.load(open(sys.argv[1])).values()))' "$E2E_TMP/keys.json") "$E2E_TMP/audit.log"

# Usage accounting: N allowed and M denied Checks for one key count in
# GET /v1/keys/{id}/usage exactly as the same requests over /auth/envoy count for its twin.
# (After the audit count above: these calls are audited too.)
"$PYTHON" "$DRIVER" usage --grpc "127.0.0.1:$GRPC_PORT" --http "$KEYGATE_PORT" \
    --keys "$E2E_TMP/keys.json" --proto "$SOURCE_DIR/proto" --work "$E2E_TMP/gen" \
    >"$E2E_TMP/usage.out" 2>&1
usage_rc=$?
cat "$E2E_TMP/usage.out"
e2e_check "usage: gRPC Checks counted as /auth/envoy counts them ($(tail -n 1 "$E2E_TMP/usage.out"))" \
    test "$usage_rc" -eq 0

# Attacks on the listener itself (after the counts above: these calls are counted too):
# stalled streams, oversized, nested, non-UTF-8 and truncated messages, deadlines,
# cancellation, concurrent clients. None is allowed, none stops keygate answering.
"$PYTHON" "$DRIVER" attacks --grpc "127.0.0.1:$GRPC_PORT" --http "$KEYGATE_PORT" \
    --keys "$E2E_TMP/keys.json" --proto "$SOURCE_DIR/proto" --work "$E2E_TMP/gen" \
    >"$E2E_TMP/attacks.out" 2>&1
attacks_rc=$?
cat "$E2E_TMP/attacks.out"
e2e_check "hostile clients: errors or denials, and keygate keeps answering ($(tail -n 1 "$E2E_TMP/attacks.out"))" \
    test "$attacks_rc" -eq 0
e2e_check "keygate is still running after the attacks" kill -0 "$KEYGATE_PID"
e2e_check_not "audit: no full key in the audit log after the attacks" \
    grep -c -F -f <("$PYTHON" -c 'import json,sys
print("\n".join(json.load(open(sys.argv[1])).values()))' "$E2E_TMP/keys.json") "$E2E_TMP/audit.log"

# Shutdown: during the 4 s delay health says NOT_SERVING, Check still answers; then exit 0.
kill -TERM "$KEYGATE_PID"
sleep 0.3
"$PYTHON" "$DRIVER" health --grpc "127.0.0.1:$GRPC_PORT" --proto "$SOURCE_DIR/proto" \
    --work "$E2E_TMP/gen" --expect NOT_SERVING >"$E2E_TMP/health2.out" 2>&1
health_rc=$?
cat "$E2E_TMP/health2.out"
e2e_check "health: NOT_SERVING during the shutdown delay" test "$health_rc" -eq 0
exited=1
for _ in $(seq 1 300); do
    kill -0 "$KEYGATE_PID" 2>/dev/null || {
        exited=0
        break
    }
    sleep 0.05
done
e2e_check "keygate stops within delay + 10 s of SIGTERM" test "$exited" -eq 0
wait "$KEYGATE_PID"
e2e_expect_eq "keygate exits 0" 0 "$?"

# A Unix socket, as a sidecar shares with its proxy.
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_GRPC_LISTEN="unix:$E2E_TMP/grpc.sock"
e2e_check "the gRPC socket exists" test -S "$E2E_TMP/grpc.sock"
e2e_expect_eq "the gRPC socket's mode is 0660" 660 "$(stat -c %a "$E2E_TMP/grpc.sock")"
"$PYTHON" "$DRIVER" health --grpc "unix:$E2E_TMP/grpc.sock" --proto "$SOURCE_DIR/proto" \
    --work "$E2E_TMP/gen" --expect SERVING >"$E2E_TMP/health3.out" 2>&1
e2e_check "health over the Unix socket: SERVING" test "$?" -eq 0
# A second keygate on the same path must not take the live socket over.
inode=$(stat -c %i "$E2E_TMP/grpc.sock")
timeout 20 "$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" --listen 127.0.0.1:0 \
    --grpc-listen "unix:$E2E_TMP/grpc.sock" >/dev/null 2>"$E2E_TMP/twice.err"
e2e_expect_eq "a second keygate on a live gRPC socket exits 1" 1 "$?"
e2e_check "and says another process listens" grep -c "another process is listening on it" \
    "$E2E_TMP/twice.err"
e2e_expect_eq "the first keygate's socket is untouched" "$inode" "$(stat -c %i "$E2E_TMP/grpc.sock")"
"$PYTHON" "$DRIVER" health --grpc "unix:$E2E_TMP/grpc.sock" --proto "$SOURCE_DIR/proto" \
    --work "$E2E_TMP/gen" --expect SERVING >"$E2E_TMP/health4.out" 2>&1
e2e_check "and still answers: SERVING" test "$?" -eq 0

# A listen address that cannot be bound stops keygate at start, with a message.
"$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" --listen 127.0.0.1:0 \
    --grpc-listen 192.0.2.1:1 >/dev/null 2>"$E2E_TMP/badbind.err"
e2e_expect_eq "an unbindable --grpc-listen exits 1" 1 "$?"
e2e_check "and says why" grep -c "cannot serve gRPC on 192.0.2.1:1" "$E2E_TMP/badbind.err"

# examples/envoy/envoy-grpc.yaml: the ext_authz filter as keygate's docs describe it (no
# Envoy package here: the structure and field names are checked).
"$PYTHON" - "$SOURCE_DIR/examples/envoy/envoy-grpc.yaml" >"$E2E_TMP/example.out" 2>&1 <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
hcm = doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
filters = hcm["http_filters"]
assert [f["name"] for f in filters] == ["envoy.filters.http.ext_authz", "envoy.filters.http.router"]
ext = filters[0]["typed_config"]
assert ext["@type"] == "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"
assert ext["transport_api_version"] == "V3"
assert ext["grpc_service"]["envoy_grpc"]["cluster_name"] == "keygate"
assert ext["failure_mode_allow"] is False
assert ext["include_peer_certificate"] is False
assert "with_request_body" not in ext and "http_service" not in ext
cluster = next(c for c in doc["static_resources"]["clusters"] if c["name"] == "keygate")
options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
assert "http2_protocol_options" in options["explicit_http_config"]
print("envoy-grpc.yaml ok")
PY
e2e_check "examples/envoy/envoy-grpc.yaml: gRPC ext_authz V3, fail closed, HTTP/2 cluster" \
    grep -c "envoy-grpc.yaml ok" "$E2E_TMP/example.out"

e2e_finish
