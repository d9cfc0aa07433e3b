#!/usr/bin/env bash
# examples/istio/ and examples/envoy-gateway/, checked without Istio or Envoy Gateway (Debian
# packages neither) by tests/e2e/mesh_examples_check.py:
#   - every YAML document parses; every object's apiVersion/kind is known and every field is
#     one of the published schema (Istio's mesh config.proto and CRDs, Envoy Gateway's
#     SecurityPolicy CRD, Gateway API's HTTPRoute; tests/e2e/mesh_schemas.py), with the value
#     shapes (protobuf Duration "0.5s" for Istio, Gateway API Duration "500ms" for Envoy
#     Gateway); a self-test shows that a misspelled field fails;
#   - the keygate chart values pass values.schema.json;
#   - the providers' and backendRefs' service and port are the chart's rendered Service
#     (port `grpc` with appProtocol grpc, port `http`), the ServiceEntry of the sidecar
#     variant points where the chart's sidecar listens (127.0.0.1:grpc.port);
#   - the AuthorizationPolicy is CUSTOM with a provider of the mesh config, and its workloads
#     may reach keygate's gRPC port through the chart's NetworkPolicy;
#   - the header lists hold what keygate reads (key, Authorization, X-Dataset, audit headers)
#     and every X-Auth-* header its sources set; the HTTP variants ask /auth/envoy.
# tests/e2e/grpc_istio_check.sh sends keygate the CheckRequests Istio's sidecar sends.
#
# Usage: bash examples_mesh.sh PATH_TO_KEYGATE SOURCE_DIR (the binary is not used)
# Needs python3 with PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema).
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
SOURCE_DIR=$2
# shellcheck source=tests/e2e/lib.sh
source "$SOURCE_DIR/tests/e2e/lib.sh"

PYTHON=/usr/bin/python3
e2e_require_commands "$PYTHON"
"$PYTHON" -c 'import yaml, jsonschema' 2>/dev/null ||
    e2e_die "python3 modules 'yaml' and 'jsonschema' are required (Debian: python3-yaml python3-jsonschema)"
e2e_init

"$PYTHON" "$SOURCE_DIR/tests/e2e/mesh_examples_check.py" static "$SOURCE_DIR" >"$E2E_TMP/static.out" 2>&1
rc=$?
cat "$E2E_TMP/static.out"
summary=$(tail -n 1 "$E2E_TMP/static.out")
e2e_check "the Istio and Envoy Gateway examples pass every check ($summary)" test "$rc" -eq 0
[[ $summary =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] && ((BASH_REMATCH[1] >= 60))
e2e_check "the checks ran to the end (at least 60 of them)" test "$?" -eq 0
e2e_finish
