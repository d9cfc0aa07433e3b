#!/usr/bin/env bash
# Instructions per gRPC Authorization/Check, counted by callgrind (a figure that does not
# depend on the machine's load), beside the same decision over /auth/envoy.
#
#   bench/callgrind_grpc.sh [BUILD_DIR] [N]      (defaults: build-bench, 20000)
#
# BUILD_DIR needs keygate and bench/grpc_check_load (-DKEYGATE_BUILD_BENCH=ON). keygate serve
# runs under callgrind with one benchmark key (the key of bench/callgrind_auth.sh) and serves
# HTTP and gRPC at once. After a warm-up, the counters are zeroed, grpc_check_load sends N
# Checks over one channel with 16 in flight (bench.py's `grpc` client), and the counters are
# dumped: instructions per Check = the dump's total over every thread / N. Then the same for
# N keep-alive GET /auth/envoy requests from one connection, for the HTTP figure in the same
# process. The dumps stay in the work directory with KEEP=1 (callgrind_annotate).
set -euo pipefail

build=${1:-build-bench}
n=${2:-20000}
binary=$(realpath "$build/keygate")
load=$(realpath "$build/bench/grpc_check_load")
work=$(mktemp -d /tmp/keygate-callgrind-grpc.XXXXXX)
cleanup() {
    if [[ -n ${pid:-} ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || true
    fi
    if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

# shellcheck source=bench/callgrind_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/callgrind_lib.sh"
cg_key_file "$binary" "$work" # sets allowed (and denied)
(umask 077 && printf '%s\n' "$allowed" >"$work/key")

port=$(cg_free_port)
grpc_port=$(cg_free_port)
env -u KEYGATE_LISTEN KEYGATE_AUDIT_LOG="$work/audit.log" KEYGATE_LOG_LEVEL=warn \
    KEYGATE_GRPC_LISTEN="127.0.0.1:$grpc_port" \
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
    "$binary" serve --config "$work/keys/keys.yaml" --listen "127.0.0.1:$port" \
    2>"$work/keygate.log" &
pid=$!
cg_wait_ready "$port" "$pid" "$work/keygate.log"

checks() { # COUNT: prints grpc_check_load's JSON
    "$load" --target "127.0.0.1:$grpc_port" --key-file "$work/key" --requests "$1" --seconds 600
}
http_requests() { # COUNT: the same request over /auth/envoy, one keep-alive connection
    CG_KEY=$allowed cg_client "$port" "$1" "GET /auth/envoy/v1/datasets/orders/rows?limit=10 HTTP/1.1\r\nHost: api.example.com\r\nX-API-Key: {key}\r\nAccept: */*\r\nUser-Agent: PowerBI/2.0\r\nX-Real-IP: 127.0.0.1"
}
checks 500 >/dev/null # warm up: the channel, first-use allocations
http_requests 200 >/dev/null

dumps=0
measure() { # NAME COUNT COMMAND...
    local name=$1 count=$2
    shift 2
    callgrind_control -z "$pid" >/dev/null 2>&1
    local result
    result=$("$@" "$count")
    callgrind_control -d "$name" "$pid" >/dev/null 2>&1
    dumps=$((dumps + 1))
    local file="$work/callgrind.out.$pid.$dumps"
    local total
    total=$(awk '/^summary:/ { print $2 }' "$file")
    mv "$file" "$work/$name.callgrind"
    printf '%-5s %6d calls: %12d instructions, %6.0f per call   (%s)\n' "$name" "$count" \
        "$total" "$(echo "$total / $count" | bc -l)" "$(echo "$result" | tr -d '\n' | cut -c1-90)"
}
measure grpc "$n" checks
measure http "$n" http_requests
echo "dumps: $work/{grpc,http}.callgrind (callgrind_annotate --inclusive=yes FILE)"
