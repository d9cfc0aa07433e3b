#!/usr/bin/env bash
# A blocked audit log under load (CONTRACT §7, §10; issue 13 "faults are visible"), with the
# real binary. The audit log is a FIFO this script holds open and never reads, while 16
# keep-alive clients send decisions as fast as they are answered:
#   - once the 65 536-line queue is full, decisions wait for room (nothing is decided
#     unaudited), but /metrics, /v1/status and the
#     probes still answer within 1 s: /readyz 503, /healthz 200, and /metrics shows the
#     blocked seconds and the queue that waits;
#   - SIGTERM: keygate gives the blocked log up (an error line, the lines counted as write
#     failures) and exits 0 within the delay + 10 s, although the log never unblocks.
#
# Usage: bash audit_blocked_load.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed".
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"
e2e_require_commands curl python3
e2e_init

# Obviously fake test keys.
KEY_VIEWER=pk_block_exampleTestBLOCKVIEW000000000001
KEY_ADMIN=pk_block_exampleTestBLOCKADMIN00000000002
cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: block-viewer, key: "$KEY_VIEWER", tenant: acme, role: viewer}
  - {id: block-admin, key: "$KEY_ADMIN", role: admin}
YAML

FIFO=$E2E_TMP/audit.fifo
mkfifo "$FIFO"
exec 7<>"$FIFO" # a reader that never reads: writes block once the pipe is full

e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_AUDIT_LOG="$FIFO"

# 16 keep-alive connections, each sending pipelined /auth/nginx requests as fast as keygate
# reads them (a Python client waiting for each answer would take a minute to fill the
# 65 536-line queue), and draining the answers.
python3 - "$KEYGATE_PORT" "$KEY_VIEWER" >"$E2E_TMP/load.out" 2>&1 <<'PYTHON' &
import socket, sys, threading
port, key = int(sys.argv[1]), sys.argv[2]
request = ("GET /auth/nginx HTTP/1.1\r\nHost: keygate\r\nX-API-Key: " + key +
           "\r\nX-Original-URI: /v1/datasets/orders/rows\r\nX-Original-Method: GET\r\n\r\n")
batch = (request * 200).encode()
def connection():
    try:
        s = socket.create_connection(("127.0.0.1", port))
    except OSError:
        return
    def drain():
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
    threading.Thread(target=drain, daemon=True).start()
    try:
        while True:
            s.sendall(batch)
    except OSError:
        pass
threads = [threading.Thread(target=connection, daemon=True) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
PYTHON
LOAD_PID=$!

blocked() {
    curl -s --max-time 1 "http://127.0.0.1:$KEYGATE_PORT/metrics" >"$E2E_TMP/metrics.txt" &&
        python3 - "$E2E_TMP/metrics.txt" <<'PYTHON'
import re, sys
text = open(sys.argv[1]).read()
value = lambda name: float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))
# Blocked, and the queue full: decisions now wait for room.
sys.exit(0 if value("keygate_audit_blocked_seconds_total") > 0.5 and
         value("keygate_audit_queue_depth") >= 65536 else 1)
PYTHON
}
e2e_wait_until 30 blocked || e2e_log "the audit queue did not fill within 30 s"

# Each admin request in a fresh connection, timed: the probes and /metrics must not queue
# behind the decisions that wait for the audit log.
timed() { # timed NAME URL [CURL ARGS...]: prints "STATUS SECONDS"
    local url=$2
    shift 2
    curl -s -o "$E2E_TMP/answer.txt" -w '%{http_code} %{time_total}' --max-time 5 "$@" "$url"
}
for round in 1 2 3; do
    read -r status seconds < <(timed metrics "http://127.0.0.1:$KEYGATE_PORT/metrics")
    e2e_check "round $round: /metrics answers 200 while decisions wait ($seconds s)" \
        test "$status" = 200
    e2e_check "round $round: /metrics within 1 s" python3 -c "import sys; sys.exit(float('$seconds') >= 1)"
    e2e_check "round $round: /metrics shows the lines that wait" \
        python3 -c "
import re, sys
text = open('$E2E_TMP/answer.txt').read()
sys.exit(float(re.search(r'^keygate_audit_queue_depth (\S+)$', text, re.M).group(1)) < 1000)"
    read -r status seconds < <(timed status "http://127.0.0.1:$KEYGATE_PORT/v1/status" \
        -H "X-API-Key: $KEY_ADMIN")
    e2e_check "round $round: /v1/status 200 within 1 s ($seconds s)" \
        python3 -c "import sys; sys.exit(not ('$status' == '200' and float('$seconds') < 1))"
    read -r status seconds < <(timed readyz "http://127.0.0.1:$KEYGATE_PORT/readyz")
    e2e_check "round $round: /readyz 503 (audit blocked) within 1 s ($seconds s)" \
        python3 -c "import sys; sys.exit(not ('$status' == '503' and float('$seconds') < 1))"
    read -r status seconds < <(timed healthz "http://127.0.0.1:$KEYGATE_PORT/healthz")
    e2e_check "round $round: /healthz 200 within 1 s" test "$status" = 200
    sleep 0.5
done

# SIGTERM with the log still blocked: out within 10 s (delay 0), exit 0.
started=$(date +%s.%N)
kill -TERM "$KEYGATE_PID"
gone() { # gone PID: exited (a zombie not yet waited for counts)
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    [[ $stat == *") Z "* ]]
}
e2e_wait_until 15 gone "$KEYGATE_PID"
wait "$KEYGATE_PID" 2>/dev/null
code=$?
ended=$(date +%s.%N)
took=$(python3 -c "print(f'{$ended - $started:.1f}')")
e2e_check "SIGTERM with the audit log blocked: keygate exits within 10 s ($took s)" \
    python3 -c "import sys; sys.exit($ended - $started >= 10)"
e2e_expect_eq "and exits 0" 0 "$code"
e2e_check "the log says the blocked audit log was given up" \
    grep -q "still blocks at shutdown" "$E2E_TMP/keygate.log"
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
exec 7>&-
e2e_finish
