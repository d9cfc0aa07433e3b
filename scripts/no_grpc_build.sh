#!/usr/bin/env bash
# The build without gRPC (-DKEYGATE_WITH_GRPC=OFF), as CI runs it after ./scripts/test.sh:
# configures build-nogrpc/ with warnings as errors and the tests on, builds it, checks that no
# compile reached a gRPC, protobuf or Abseil header (the compilers' dependency lists) and that
# nothing links a gRPC, protobuf or Abseil library (the link lines and ldd), then runs that
# build's whole test suite through ctest: the suite minus the gRPC tests (unit/test_grpc_*,
# e2e/grpc_*), plus e2e/no_grpc_build.sh (--grpc-listen refused, `keygate version`).
#
#   ./scripts/no_grpc_build.sh [CTEST ARGS...]   e.g. -R no_grpc
#   KEYGATE_JOBS=1 ./scripts/no_grpc_build.sh    parallelism of the build and ctest (nproc)
#   KEYGATE_NO_GRPC_DIR=DIR                      another build directory
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
dir=${KEYGATE_NO_GRPC_DIR:-build-nogrpc}
jobs=${KEYGATE_JOBS:-$(nproc)}
start=$SECONDS

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DKEYGATE_WITH_GRPC=OFF -DKEYGATE_WERROR=ON \
    -DKEYGATE_BUILD_TESTS=ON >/dev/null
cmake --build "$dir" -j"$jobs"
built=$SECONDS

fail() {
    echo "no-grpc: $*" >&2
    exit 1
}

# What every compile included: the Makefile generator's depfiles (*.o.d) or Ninja's log.
if [[ -f $dir/build.ninja ]]; then
    includes=$(ninja -C "$dir" -t deps)
else
    mapfile -t depfiles < <(find "$dir" -name '*.o.d')
    ((${#depfiles[@]} > 0)) || fail "no dependency files (*.o.d) in $dir to check"
    includes=$(cat "${depfiles[@]}")
fi
grpc_headers=$(grep -oE '[^ ]*(/include/(grpc|grpcpp|grpc\+\+|absl)/|google/protobuf/|/src/grpc/|\.pb\.h)[^ ]*' \
    <<<"$includes" | sort -u || true)
[[ -z $grpc_headers ]] || fail "the build without gRPC includes gRPC headers: $grpc_headers"

# What every target links: the link lines, and what the loader maps.
if [[ -f $dir/build.ninja ]]; then
    link_lines=$(grep -E '^ *LINK_(LIBRARIES|FLAGS) =' "$dir/build.ninja" || true)
else
    mapfile -t link_files < <(find "$dir" -name link.txt)
    ((${#link_files[@]} > 0)) || fail "no link lines (link.txt) in $dir to check"
    link_lines=$(cat "${link_files[@]}")
fi
grpc_libraries=$(grep -oE '[^ ]*(lib(grpc|gpr|protobuf|absl|upb|address_sorting)[^ /]*|-l(grpc|gpr|protobuf|absl)[^ ]*)' \
    <<<"$link_lines" | sort -u || true)
[[ -z $grpc_libraries ]] || fail "the build without gRPC links gRPC libraries: $grpc_libraries"
for binary in "$dir/keygate" "$dir/tests/unit_tests" "$dir/tests/integration_tests"; do
    [[ -x $binary ]] || fail "$binary was not built"
    mapped=$(ldd "$binary" | grep -cE 'lib(grpc|gpr|protobuf|absl|upb)' || true)
    ((mapped == 0)) || fail "$binary maps gRPC libraries: $(ldd "$binary")"
done
echo "no-grpc: no gRPC, protobuf or Abseil header compiled or library linked"

# The e2e scripts use Debian's python3, as in scripts/test.sh.
export PATH="/usr/bin:$PATH"
status=0
(cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$dir/ctest.log" || status=$?
echo "no-grpc: configure and build took $((built - start)) s, the tests $((SECONDS - built)) s"
exit "$status"
