# shellcheck shell=bash
# Shared by bench/callgrind_auth.sh and bench/callgrind_grpc.sh (source it): the benchmark's
# key file, a free port, waiting for keygate, and the keep-alive HTTP client. Every function
# leaves `set -euo pipefail` to the caller.

# cg_key_file BINARY DIR: writes DIR/keys/keys.yaml, one key of the benchmark's shape (every
# field, rate limit included) and 1 000 fillers nobody holds; sets `allowed` (that key's
# secret) and `denied` (a key of the same format that is in no file).
cg_key_file() {
    local binary=$1 dir=$2 hash i
    mkdir -p "$dir/keys"
    allowed=$("$binary" generate --tenant acme_corp | sed -n 2p)
    # shellcheck disable=SC2034 # read by the scripts that source this
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
    } >"$dir/keys/keys.yaml"
}

# cg_free_port: prints a TCP port that is free on 127.0.0.1.
cg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cg_wait_ready PORT PID LOG: waits (up to 60 s) until keygate on PORT answers /readyz; exits
# with its log when the process PID ended first.
cg_wait_ready() {
    local i
    for i in $(seq 1 600); do
        if curl -fs "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; then return 0; fi
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; exit 1; }
        sleep 0.1
    done
    echo "keygate on port $1 is not ready after 60 s" >&2
    exit 1
}

# cg_client PORT COUNT HEAD: COUNT keep-alive requests on one connection, each answer read
# whole, as wrk sends them; HEAD is the request's head without its final blank line, its line
# breaks written as the four characters \r\n, with {key} where the key goes (the key comes from the environment variable CG_KEY, never from
# the command line). Prints the statuses counted, e.g. "200x20000".
cg_client() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, socket, sys
port, count, head = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
head = head.replace("\\r\\n", "\r\n").replace("{key}", os.environ["CG_KEY"])
request = (head + "\r\n\r\n").encode()
statuses = {}
with socket.create_connection(("127.0.0.1", port)) as s:
    buf = b""
    for _ in range(count):
        s.sendall(request)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        answer, _, buf = buf.partition(b"\r\n\r\n")
        length = 0
        for line in answer.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buf) < length:
            buf += s.recv(65536)
        buf = buf[length:]
        status = int(answer.split(b" ")[1])
        statuses[status] = statuses.get(status, 0) + 1
print(" ".join(f"{k}x{v}" for k, v in sorted(statuses.items())))
PY
}
