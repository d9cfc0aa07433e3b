#!/usr/bin/env bash
# Instructions per /auth/nginx request, counted by callgrind: a figure that does not depend on
# the machine's load (wall-clock and CPU-time figures on a shared machine are noise).
#
#   bench/callgrind_auth.sh [BUILD_DIR] [N]      (defaults: build, 20000)
#
# keygate serve runs under `valgrind --tool=callgrind` with a key file like bench.py's `auth`
# bench (one benchmark key using every field, rate limit included, plus 1 000 filler keys)
# and the audit log going to a file. Once it is ready, the counters are zeroed
# (callgrind_control -z), one keep-alive client sends N requests as wrk does (Host,
# X-API-Key, X-Original-URI, X-Original-Method, X-Real-IP), the counters are dumped
# (callgrind_control -d), and the next case follows: allowed (the benchmark key), denied
# (an unknown key of the same format: 401), and idle (no request, for as long as the
# allowed run took, to show what the loop, the audit writer and the watcher cost without
# requests). Instructions per request = the dump's total (all threads) / N, also split into
# the loop thread (deterministic to a few instructions) and the others (mostly the audit
# writer, whose batch sizes, and so its cost per line, depend on scheduling: +-1 %).
# Prints one line per case; the dumps stay in the work directory (KEEP=1 keeps it) for
# callgrind_annotate.
set -euo pipefail

build=${1:-build}
n=${2:-20000}
binary=$(realpath "$build/keygate")
work=$(mktemp -d /tmp/keygate-callgrind.XXXXXX)
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
cg_key_file "$binary" "$work" # sets allowed, denied

port=$(cg_free_port)
env -u KEYGATE_LISTEN KEYGATE_AUDIT_LOG="$work/audit.log" KEYGATE_LOG_LEVEL=warn \
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/callgrind.out.%p" \
    "$binary" serve --config "$work/keys/keys.yaml" --listen "127.0.0.1:$port" \
    2>"$work/keygate.log" &
pid=$!

# The client: N keep-alive requests on one connection, as wrk sends them.
client() { # KEY COUNT
    CG_KEY=$1 cg_client "$port" "$2" "GET /auth/nginx HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nX-API-Key: {key}\r\nX-Original-URI: /v1/datasets/orders/rows?limit=10\r\nX-Original-Method: GET\r\nX-Real-IP: 127.0.0.1"
}

cg_wait_ready "$port" "$pid" "$work/keygate.log"
client "$allowed" 200 >/dev/null # warm up: first-use allocations, the rate limiter's state

dumps=0
total_of() { # the dump's summary line: instructions of every thread
    awk '/^summary:/ { print $2 }' "$1"
}
measure() { # NAME KEY COUNT
    callgrind_control -z "$pid" >/dev/null 2>&1
    local started statuses
    started=$(date +%s.%N)
    if [[ $3 -gt 0 ]]; then statuses=$(client "$2" "$3"); else sleep "$idle_seconds"; statuses=-; fi
    seconds=$(echo "$(date +%s.%N) - $started" | bc)
    callgrind_control -d "$1" "$pid" >/dev/null 2>&1
    dumps=$((dumps + 1))
    # One file per thread (--separate-threads): -01 is the main thread, which runs the
    # event loop (and every decision); the others are the audit writer, the reloader...
    local total=0 loop=0 file
    for file in "$work/callgrind.out.$pid.$dumps"-*; do
        local count
        count=$(total_of "$file")
        total=$((total + count))
        [[ $file == *-01 ]] && loop=$count
        mv "$file" "$work/$1${file##*"$pid.$dumps"}.callgrind"
    done
    if [[ $3 -gt 0 ]]; then
        printf '%-8s %6d requests (%s) in %5.1f s: %12d instructions, %6.0f per request (loop thread %6.0f, other threads %4.0f)\n' \
            "$1" "$3" "$statuses" "$seconds" "$total" "$(echo "$total / $3" | bc -l)" \
            "$(echo "$loop / $3" | bc -l)" "$(echo "($total - $loop) / $3" | bc -l)"
    else
        printf '%-8s no request for %5.1f s: %12d instructions (%.0f per second)\n' \
            "$1" "$seconds" "$total" "$(echo "$total / $seconds" | bc -l)"
    fi
}

measure allowed "$allowed" "$n"
idle_seconds=$seconds
measure denied "$denied" "$n"
measure idle "" 0
echo "dumps: $work/{allowed,denied,idle}-NN.callgrind, one per thread (-01: the loop; callgrind_annotate --inclusive=yes FILE)"
