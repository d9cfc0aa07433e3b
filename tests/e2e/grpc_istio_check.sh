#!/usr/bin/env bash
# keygate's gRPC ext_authz answers the CheckRequests Istio's sidecar sends for an
# envoyExtAuthzGrpc provider (examples/istio/mesh-config.yaml): with the fields keygate's
# proto leaves out (mTLS principals, destination, context extensions, metadata, TLS
# session) as unknown fields, and Istio's own headers (x-forwarded-client-cert, ...). It
# allows and strips the key and forged X-Auth-* headers, denies with a 401
# DeniedHttpResponse, and takes the client address from attributes.source.address, never
# from a client's X-Forwarded-For (tests/e2e/mesh_examples_check.py istio-grpc).
#
# Usage: bash grpc_istio_check.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3-grpcio, python3-protobuf, protoc (protobuf-compiler).
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
KEYGATE_BIN=$1
SOURCE_DIR=$2
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"

PYTHON=/usr/bin/python3
e2e_require_commands "$PYTHON" protoc
"$PYTHON" -c 'import grpc, google.protobuf, yaml' 2>/dev/null ||
    e2e_die "python3-grpcio, python3-protobuf and python3-yaml are required"
e2e_init

"$PYTHON" "$SOURCE_DIR/tests/e2e/grpc_check_driver.py" write-keys "$E2E_TMP/keys.yaml" "$E2E_TMP/keys.json" ||
    e2e_die "cannot write the key file"
e2e_pick_port
GRPC_PORT=$E2E_PORT
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_GRPC_LISTEN="127.0.0.1:$GRPC_PORT"

"$PYTHON" "$SOURCE_DIR/tests/e2e/mesh_examples_check.py" istio-grpc --grpc "127.0.0.1:$GRPC_PORT" \
    --keys "$E2E_TMP/keys.json" --proto "$SOURCE_DIR/proto" --work "$E2E_TMP/gen" >"$E2E_TMP/istio.out" 2>&1
rc=$?
cat "$E2E_TMP/istio.out"
e2e_check "Istio's CheckRequests get keygate's decisions ($(tail -n 1 "$E2E_TMP/istio.out"))" test "$rc" -eq 0
e2e_check_not "audit: no full key in the audit log" \
    grep -c -F -f <("$PYTHON" -c 'import json,sys
print("\n".join(json.load(open(sys.argv[1])).values()))' "$E2E_TMP/keys.json") "$E2E_TMP/audit.log"
e2e_finish
