#!/usr/bin/env bash
# A keygate built with -DKEYGATE_WITH_GRPC=OFF (tests/CMakeLists.txt registers this script in
# that build only; tests/e2e/grpc_build.sh is its counterpart in the default build):
#   - the binary links no gRPC, protobuf or Abseil library;
#   - `keygate version` says "grpc: off (built with -DKEYGATE_WITH_GRPC=OFF)";
#   - `serve` with --grpc-listen or KEYGATE_GRPC_LISTEN (TCP or unix:) refuses to start: exit 1,
#     one line on stderr naming the flag, the variable and the build option (no "listening"
#     line), before the key file is read (a missing key file still gets the gRPC message) and
#     before the audit log is opened;
#   - an empty KEYGATE_GRPC_LISTEN means off (as in every build), and this build serves:
#     /auth/nginx 200 with a key, 401 without, /readyz 200, and SIGTERM exits 0.
#
# Usage: bash no_grpc_build.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl ldd
e2e_init

# --- what the binary links -------------------------------------------------------------------
ldd "$KEYGATE_BIN" >"$E2E_TMP/ldd.out" 2>&1 || e2e_die "ldd $KEYGATE_BIN failed"
grpc_libraries=$(grep -c -E 'lib(grpc|gpr|protobuf|absl|upb|address_sorting)' "$E2E_TMP/ldd.out")
e2e_expect_eq "the binary links no gRPC, protobuf or Abseil library" 0 "$grpc_libraries"
e2e_check "  ...and does link what it needs (ldd lists libcrypto)" \
    grep -qF libcrypto.so "$E2E_TMP/ldd.out"

# --- keygate version --------------------------------------------------------------------------
"$KEYGATE_BIN" version >"$E2E_TMP/version.out" 2>&1
e2e_expect_eq "keygate version exits 0" 0 "$?"
e2e_expect_eq "keygate version says gRPC is not built in" \
    "grpc: off (built with -DKEYGATE_WITH_GRPC=OFF)" "$(sed -n 2p "$E2E_TMP/version.out")"

# --- --grpc-listen / KEYGATE_GRPC_LISTEN are refused at start --------------------------------
generated=$("$KEYGATE_BIN" generate --tenant acme) || e2e_die "keygate generate failed"
KEY=$(grep -m1 -E '^pk_acme_' <<<"$generated") || e2e_die "keygate generate printed no key"
cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: acme-analysts, key_hash: "$("$KEYGATE_BIN" hash <<<"$KEY")", tenant: acme, role: analyst}
YAML

REFUSAL="keygate serve: --grpc-listen / KEYGATE_GRPC_LISTEN is set, but this keygate was built \
without gRPC (-DKEYGATE_WITH_GRPC=OFF): unset it, or use a build with -DKEYGATE_WITH_GRPC=ON"

# Runs `keygate serve --config CONFIG` on port 0 with VAR=value in its environment and
# FLAGs after the others, and checks the refusal.
# Usage: expect_refused CASE CONFIG [VAR=value...] -- [FLAG...]
expect_refused() {
    local name=$1 config=$2 env_args=()
    shift 2
    while (($# > 0)) && [[ $1 != -- ]]; do
        env_args+=("$1")
        shift
    done
    shift
    env -u KEYGATE_GRPC_LISTEN -u KEYGATE_LISTEN KEYGATE_AUDIT_LOG="$E2E_TMP/audit.log" \
        "${env_args[@]}" timeout 20 "$KEYGATE_BIN" serve --config "$config" \
        --listen 127.0.0.1:0 "$@" >"$E2E_TMP/refused.out" 2>"$E2E_TMP/refused.err" </dev/null
    e2e_expect_eq "$name: serve exits 1" 1 "$?"
    e2e_expect_eq "$name: stderr is the one line naming KEYGATE_WITH_GRPC" "$REFUSAL" \
        "$(cat "$E2E_TMP/refused.err")"
    e2e_expect_eq "$name: nothing on stdout" "" "$(cat "$E2E_TMP/refused.out")"
}

e2e_pick_port
expect_refused "--grpc-listen HOST:PORT" "$E2E_TMP/keys.yaml" \
    -- --grpc-listen "127.0.0.1:$E2E_PORT"
e2e_pick_port
expect_refused "KEYGATE_GRPC_LISTEN=HOST:PORT" "$E2E_TMP/keys.yaml" \
    KEYGATE_GRPC_LISTEN="127.0.0.1:$E2E_PORT" --
expect_refused "KEYGATE_GRPC_LISTEN=unix:PATH" "$E2E_TMP/keys.yaml" \
    KEYGATE_GRPC_LISTEN="unix:$E2E_TMP/grpc.sock" --
expect_refused "--grpc-listen with KEYGATE_GRPC_LISTEN empty" "$E2E_TMP/keys.yaml" \
    KEYGATE_GRPC_LISTEN= \
    -- --grpc-listen "unix:$E2E_TMP/grpc.sock"
expect_refused "--grpc-listen with a missing key file" "$E2E_TMP/missing.yaml" \
    -- --grpc-listen 127.0.0.1:1
e2e_check_not "none of them opened the audit log (KEYGATE_AUDIT_LOG)" test -e "$E2E_TMP/audit.log"

# A bad address is still a usage error (exit 2), as in the default build.
"$KEYGATE_BIN" serve --config "$E2E_TMP/keys.yaml" --grpc-listen nowhere \
    >/dev/null 2>"$E2E_TMP/bad.err" </dev/null
e2e_expect_eq "a bad --grpc-listen is a usage error (exit 2)" 2 "$?"
e2e_expect_match "  ...naming the flag" "^keygate serve: --grpc-listen: " \
    "$(head -n 1 "$E2E_TMP/bad.err")"

# --- serving without gRPC ---------------------------------------------------------------------
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_GRPC_LISTEN=
BASE=http://127.0.0.1:$KEYGATE_PORT
e2e_request "$BASE/readyz"
e2e_expect_eq "with KEYGATE_GRPC_LISTEN empty it serves: /readyz 200" 200 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY" -H "X-Original-URI: /v1/datasets/orders/rows" \
    "$BASE/auth/nginx"
e2e_expect_eq "/auth/nginx with the key: 200" 200 "$E2E_STATUS"
e2e_expect_eq "  ...for its tenant" acme "$(e2e_header X-Auth-Tenant)"
e2e_request -H "X-Original-URI: /v1/datasets/orders/rows" "$BASE/auth/nginx"
e2e_expect_eq "/auth/nginx without a key: 401" 401 "$E2E_STATUS"
e2e_check_not "the start-up log announces no gRPC listener" \
    grep -qF "serving gRPC" "$E2E_TMP/keygate.log"
kill -TERM "$KEYGATE_PID"
wait "$KEYGATE_PID"
e2e_expect_eq "SIGTERM: exit 0" 0 "$?"

e2e_finish
