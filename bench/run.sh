#!/usr/bin/env bash
# Builds keygate (Release, with bench/decide_bench and bench/grpc_check_load) in its own
# build directory and runs the benchmarks against their baselines in one run. See
# bench/README.md.
#
# Usage: bench/run.sh [--no-build] [--build-dir DIR] [BENCH...] [-- bench.py options]
#   BENCH: auth grpc e2e fastapi decide reload idle timing (default: all), or soak
#   (bench/soak/soak.py, 10 minutes; pass --minutes N after --).
# Needs: cmake, g++, wrk, nginx, curl, taskset, libbenchmark-dev, python3-fastapi,
# python3-uvicorn, python3-yaml (Debian 12 packages); grpc needs libgrpc++-dev.
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$SOURCE_DIR/build-bench
BUILD=1
BENCHES=()
PASS=()
while (($#)); do
    case $1 in
    --no-build) BUILD=0 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    --) shift; PASS=("$@"); break ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) BENCHES+=("$1") ;;
    esac
    shift
done

# Debian's python3 has fastapi/uvicorn/yaml; a pyenv python first on PATH may not.
PYTHON=/usr/bin/python3

if ((BUILD)); then
    cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DKEYGATE_BUILD_BENCH=ON \
        >/dev/null
    targets=(keygate)
    [[ -f /usr/include/benchmark/benchmark.h ]] && targets+=(decide_bench)
    # The gRPC load client exists when keygate is built with gRPC (KEYGATE_WITH_GRPC, default ON).
    grep -q '^KEYGATE_WITH_GRPC:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" && targets+=(grpc_check_load)
    cmake --build "$BUILD_DIR" -j2 --target "${targets[@]}"
fi

if ((${#BENCHES[@]} == 1)) && [[ ${BENCHES[0]} == soak ]]; then
    exec "$PYTHON" "$SOURCE_DIR/bench/soak/soak.py" --build-dir "$BUILD_DIR" "${PASS[@]}"
fi
exec "$PYTHON" "$SOURCE_DIR/bench/bench.py" --build-dir "$BUILD_DIR" "${BENCHES[@]}" "${PASS[@]}"
