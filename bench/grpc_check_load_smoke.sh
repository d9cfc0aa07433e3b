#!/usr/bin/env bash
# Smoke test of bench/grpc_check_load (the client of the `grpc` benchmark) against the real
# keygate binary with --grpc-listen: 1 s of Check calls for an allowed key must all be
# answered OK with an allowed decision (requests > 0, errors == 0), the audit log must hold
# one line per counted call, and an unknown key must count as errors unless
# --expect-code 16 (UNAUTHENTICATED) says that is the expected answer.
#
# Usage: bash grpc_check_load_smoke.sh PATH_TO_KEYGATE PATH_TO_GRPC_CHECK_LOAD SOURCE_DIR
set -uo pipefail

if (($# != 3)); then
    echo "usage: $0 PATH_TO_KEYGATE PATH_TO_GRPC_CHECK_LOAD SOURCE_DIR" >&2
    exit 2
fi
KEYGATE_BIN=$1
LOAD_BIN=$2
SOURCE_DIR=$3
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"

PYTHON=/usr/bin/python3
e2e_require_commands "$PYTHON" grep
[[ -x $LOAD_BIN ]] || e2e_die "grpc_check_load '$LOAD_BIN' not found"
e2e_init

# A fresh random key in keygate's format, and an unknown one (bench/benchlib.py).
"$PYTHON" - "$SOURCE_DIR/bench" "$E2E_TMP" <<'PY' || e2e_die "cannot write the key file"
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import benchlib as bl
work = Path(sys.argv[2])
key, unknown = bl.make_key(), bl.make_key()
(work / "keys.yaml").write_text("version: 1\napi_keys:\n"
                                + bl.key_entry("smoke-client", bl.secret_of(key), full=True))
(work / "key").write_text(key + "\n")
(work / "unknown-key").write_text(unknown + "\n")
PY

e2e_pick_port
GRPC_PORT=$E2E_PORT
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_GRPC_LISTEN="127.0.0.1:$GRPC_PORT"
e2e_wait_until 10 e2e_port_open "$GRPC_PORT" || e2e_die "no gRPC listener on $GRPC_PORT"

# The integer value of "NAME": in the client's JSON (one object, flat enough for grep).
json_int() {
    grep -o "\"$1\": [0-9]*" "$2" | head -n 1 | grep -o '[0-9]*$'
}

"$LOAD_BIN" --target "127.0.0.1:$GRPC_PORT" --key-file "$E2E_TMP/key" --concurrency 16 \
    --seconds 1 >"$E2E_TMP/allowed.json" 2>"$E2E_TMP/allowed.err"
e2e_expect_eq "the client exits 0" 0 "$?"
cat "$E2E_TMP/allowed.json"
requests=$(json_int requests "$E2E_TMP/allowed.json")
e2e_expect_match "requests > 0" '^[1-9][0-9]*$' "$requests"
e2e_expect_eq "errors == 0" 0 "$(json_int errors "$E2E_TMP/allowed.json")"
e2e_expect_eq "every call answered gRPC OK" "$requests" "$(json_int OK "$E2E_TMP/allowed.json")"
e2e_expect_eq "every CheckResponse allowed (status code 0)" "$requests" \
    "$(json_int 0 "$E2E_TMP/allowed.json")"
e2e_expect_match "latency percentiles present" '"p99": [1-9]' "$(cat "$E2E_TMP/allowed.json")"
e2e_check "the key is never printed" test "$(grep -c -F -f "$E2E_TMP/key" "$E2E_TMP/allowed.json" \
    "$E2E_TMP/allowed.err" | awk -F: '{s += $NF} END {print s}')" -eq 0

# An unknown key: denied decisions are errors for a client that expects allowed ones...
"$LOAD_BIN" --target "127.0.0.1:$GRPC_PORT" --key-file "$E2E_TMP/unknown-key" --concurrency 4 \
    --seconds 0.3 >"$E2E_TMP/unknown.json" 2>/dev/null
unknown_requests=$(json_int requests "$E2E_TMP/unknown.json")
e2e_expect_match "unknown key: requests > 0" '^[1-9][0-9]*$' "$unknown_requests"
e2e_expect_eq "unknown key: every call is an error" "$unknown_requests" \
    "$(json_int errors "$E2E_TMP/unknown.json")"
e2e_expect_eq "unknown key: CheckResponse status 16 (UNAUTHENTICATED)" "$unknown_requests" \
    "$(json_int 16 "$E2E_TMP/unknown.json")"
# ... and none with --expect-code 16.
"$LOAD_BIN" --target "127.0.0.1:$GRPC_PORT" --key-file "$E2E_TMP/unknown-key" --concurrency 4 \
    --seconds 0.3 --expect-code 16 >"$E2E_TMP/unknown16.json" 2>/dev/null
e2e_expect_eq "unknown key, --expect-code 16: errors == 0" 0 \
    "$(json_int errors "$E2E_TMP/unknown16.json")"

# Nothing listens: the client fails instead of printing figures.
e2e_pick_port
"$LOAD_BIN" --target "127.0.0.1:$E2E_PORT" --key-file "$E2E_TMP/key" --seconds 0.2 \
    >/dev/null 2>"$E2E_TMP/noserver.err"
e2e_expect_eq "no server: exit 1" 1 "$?"

# keygate audits every Check the client counted (stop it first: the writer flushes).
e2e_stop_spawned "$KEYGATE_PID"
audited=$(grep -c '"event":"auth"' "$E2E_TMP/audit.log")
total=$((requests + unknown_requests + $(json_int requests "$E2E_TMP/unknown16.json")))
e2e_expect_eq "audit: one auth line per call counted" "$total" "$audited"

e2e_finish
