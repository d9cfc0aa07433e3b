#!/usr/bin/env bash
# Installs what is missing, builds keygate and its tests into build/ with warnings as
# errors, and runs every test (unit, integration, end-to-end with real nginx) through ctest.
# The last line is ctest's summary: "N% tests passed, N tests failed out of N".
# Extra arguments go to ctest (e.g. ./scripts/test.sh -R rotate).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
build_type=${KEYGATE_BUILD_TYPE:-Release}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" -DKEYGATE_WERROR=ON -DKEYGATE_BUILD_TESTS=ON
cmake --build build -j2

# The end-to-end scripts use Debian's python3 (with python3-yaml and python3-jsonschema from
# deps.sh), not whatever interpreter a version manager puts first on PATH.
export PATH="/usr/bin:$PATH"

log=build/ctest.log
status=0
(cd build && ctest --output-on-failure -j2 "$@") 2>&1 | tee "$log" || status=$?
# On failure ctest lists the failed tests after its summary: repeat the summary last, so the
# closing line always says how many passed.
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
if [[ -n $summary ]]; then
    echo
    echo "$summary"
fi
exit "$status"
