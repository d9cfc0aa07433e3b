#!/usr/bin/env bash
# ThreadSanitizer run of the concurrent parts (reload, file watcher, key-set swap, audit writer,
# usage and rate-limit state, alerts, the connection task queue), including a test that
# decides, counts, audits and scrapes from five threads while the file is reloaded 100 times
# (tests/unit/test_concurrency.cpp). Builds tests/concurrency_tests in build-tsan/.
# Any data race fails the run. CI runs it (scripts/sanitizers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
    -DKEYGATE_SANITIZERS=thread -DKEYGATE_BUILD_TESTS=ON >/dev/null
# Only these tests: Debian's cpp-httplib is an uninstrumented shared library, and server
# tests built on it report false races inside it before they test anything.
cmake --build build-tsan -j2 --target concurrency_tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
build-tsan/tests/concurrency_tests
