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

mkdir -p "$work/keys"
allowed=$("$binary" generate --tenant acme_corp | sed -n 2p)
printf '%s\n' "$allowed" >"$work/key"
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
} >"$work/keys/keys.yaml"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
grpc_port=$(free_port)
env -u KEYGATE_LISTEN KEYGATE_AUDIT_LOG="$work/audit.log" KEYGATE_LOG_LEVEL=warn \
    KEYGATE_GRPC_LISTEN="127.0.0.1:$grpc_port" \
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
    "$binary" serve --config "$work/keys/keys.yaml" --listen "127.0.0.1:$port" \
    2>"$work/keygate.log" &
pid=$!
for _ in $(seq 1 600); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/keygate.log" >&2; exit 1; }
    sleep 0.1
done

checks() { # COUNT: prints grpc_check_load's JSON
    "$load" --target "127.0.0.1:$grpc_port" --key-file "$work/key" --requests "$1" --seconds 600
}
http_requests() { # COUNT: the same request over /auth/envoy, one keep-alive connection
    python3 - "$port" "$allowed" "$1" <<'PY'
import socket, sys
port, key, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
request = (f"GET /auth/envoy/v1/datasets/orders/rows?limit=10 HTTP/1.1\r\n"
           f"Host: api.example.com\r\nX-API-Key: {key}\r\nAccept: */*\r\n"
           "User-Agent: PowerBI/2.0\r\nX-Real-IP: 127.0.0.1\r\n\r\n").encode()
ok = 0
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
        ok += head.split(b" ")[1] == b"200"
print(f"{ok} of {count} allowed")
PY
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
