#!/usr/bin/env bash
# The test suite under sanitizers (CI runs both after ./scripts/test.sh):
#   ./scripts/sanitizers.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer: every test
#                                  (unit, integration, end-to-end with real nginx, fuzz corpus
#                                  replays) in build-asan/
#   ./scripts/sanitizers.sh tsan   ThreadSanitizer: the concurrent parts (reload, watcher,
#                                  audit writer, usage, rate limits, alerts, grace) in
#                                  build-tsan/ (scripts/tsan.sh)
#   ./scripts/sanitizers.sh        both
# Any report fails the run (-fno-sanitize-recover=all, halt_on_error=1).
set -euo pipefail
cd "$(dirname "$0")/.."

run_asan() {
    ./scripts/deps.sh
    # -O1: fast enough to run every test, and ASan's reports stay readable; no debug info
    # beyond line tables, to keep CI's compile time down.
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
        -DKEYGATE_SANITIZERS="address;undefined" -DKEYGATE_BUILD_TESTS=ON >/dev/null
    cmake --build build-asan -j2
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    export PATH="/usr/bin:$PATH"
    (cd build-asan && ctest --output-on-failure -j2)
}

case ${1:-all} in
asan) run_asan ;;
tsan) ./scripts/tsan.sh ;;
all)
    run_asan
    ./scripts/tsan.sh
    ;;
*)
    echo "usage: $0 [asan|tsan|all]" >&2
    exit 2
    ;;
esac
