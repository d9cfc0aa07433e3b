#!/usr/bin/env bash
# A keygate built with gRPC (-DKEYGATE_WITH_GRPC=ON, the default; tests/CMakeLists.txt leaves
# e2e/grpc_*.sh out of the OFF build, whose counterpart is tests/e2e/no_grpc_build.sh):
#   - the binary links libgrpc++ and libprotobuf;
#   - `keygate version` says "grpc: on".
# (grpc_ext_authz.sh and grpc_istio_check.sh test what the gRPC listener serves.)
#
# Usage: bash grpc_build.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands ldd
e2e_init

ldd "$KEYGATE_BIN" >"$E2E_TMP/ldd.out" 2>&1 || e2e_die "ldd $KEYGATE_BIN failed"
e2e_check "the binary links libgrpc++" grep -qE 'libgrpc\+\+\.so' "$E2E_TMP/ldd.out"
e2e_check "the binary links libprotobuf" grep -qE 'libprotobuf\.so' "$E2E_TMP/ldd.out"

"$KEYGATE_BIN" version >"$E2E_TMP/version.out" 2>&1
e2e_expect_eq "keygate version exits 0" 0 "$?"
e2e_expect_eq "keygate version says gRPC is built in" "grpc: on" \
    "$(sed -n 2p "$E2E_TMP/version.out")"

e2e_finish
