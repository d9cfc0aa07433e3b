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

# A key file: one key of the benchmark's shape, 1 000 fillers nobody holds.
mkdir -p "$work/keys"
allowed=$("$binary" generate --tenant acme_corp | sed -n 2p)
denied=$("$binary" generate --tenant acme_corp | sed -n 2p)
hash=$(printf '%s' "$allowed" | sha256sum | cut -d' ' -f1)
{
    printf 'version: 1\napi_keys:\n'
    printf '  - key_hash: "sha256:%s"\n    id: bench-client\n    tenant: acme_corp\n' "$hash"
    printf '    role: analyst\n    description: "benchmark key"\n'
    printf '    allowed_datasets: [orders, "cust*"]\n    denied_datasets: [orders_raw]\n'
    printf '    permissions: [read]\n    enabled: true\n'
    printf '    not_before: 2025-01-01T00:00:00Z\n    expires_at: 2099-12-31T23:59:59Z\n'
    printf '    rate_limit: 60000000\n    daily_limit: 100000000000\n'
    printf '    ip_allowlist: [127.0.0.0/8, 10.0.0.0/8]\n'
    for i in $(seq 1 1000); do
        printf '  - key_hash: "sha256:%s"\n    id: filler-%d\n    tenant: acme_corp\n    role: analyst\n' \
            "$(printf 'filler-%d' "$i" | sha256sum | cut -d' ' -f1)" "$i"
    done
} >"$work/keys/keys.yaml"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env -u KEYGATE_LISTEN KEYGATE_AUDIT_LOG="$work/audit.log" KEYGATE_LOG_LEVEL=warn \
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/callgrind.out.%p" \
    "$binary" serve --config "$work/keys/keys.yaml" --listen "127.0.0.1:$port" \
    2>"$work/keygate.log" &
pid=$!

# The client: N keep-alive requests on one connection, each answer read whole.
client() { # KEY COUNT
    python3 - "$port" "$1" "$2" <<'PY'
import socket, sys
port, key, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
request = (f"GET /auth/nginx HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {key}\r\n"
           "X-Original-URI: /v1/datasets/orders/rows?limit=10\r\nX-Original-Method: GET\r\n"
           "X-Real-IP: 127.0.0.1\r\n\r\n").encode()
statuses = {}
with socket.create_connection(("127.0.0.1", port)) as s:
    buf = b""
    for _ in range(count):
        s.sendall(request)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, buf = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < length:
            buf += s.recv(65536)
        buf = buf[length:]
        status = int(head.split(b" ")[1])
        statuses[status] = statuses.get(status, 0) + 1
print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))
PY
}

for _ in $(seq 1 600); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/keygate.log" >&2; exit 1; }
    sleep 0.1
done
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
