#!/usr/bin/env bash
# ThreadSanitizer build of the concurrent parts — reload (watcher, reloader, snapshot swap),
# audit writer, usage and rate-limit state, alerts — and their unit tests. Builds into
# build-tsan/. Not yet part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYGATE_SANITIZERS=thread \
    -DKEYGATE_BUILD_TESTS=ON >/dev/null
# Only unit tests: Debian's cpp-httplib is an uninstrumented shared library, and server
# tests built on it crash under TSan before they test anything.
cmake --build build-tsan -j2 --target unit_tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
build-tsan/tests/unit_tests "[reload],[watcher],[audit],[usage],[rate],[alerts],[grace]"
