#!/usr/bin/env bash
# ThreadSanitizer build of the concurrent parts — reload (watcher, reloader, snapshot swap
# under client load), audit writer, usage and rate-limit state, alerts — and their tests.
# Builds into build-tsan/. Used by CI after the main test run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYGATE_SANITIZERS=thread \
    -DKEYGATE_BUILD_TESTS=ON >/dev/null
cmake --build build-tsan -j2 --target unit_tests integration_tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
build-tsan/tests/unit_tests "[reload],[watcher],[audit],[usage],[rate],[alerts],[grace]"
build-tsan/tests/integration_tests "[reload]"
