#!/usr/bin/env bash
# keygate out of descriptors (issue 13: "EMFILE/ENFILE on accept logs once per second at
# most and counts in keygate_accept_errors_total"): the real binary runs with a descriptor
# limit of 64 (prlimit); 150 clients connect and hold their connections for 3 s, so accept()
# fails with EMFILE again and again. Then:
#   - the operational log says so, at most once a second (3-5 lines for ~3 s, not hundreds);
#   - /metrics counts the failures in keygate_accept_errors_total;
#   - once the clients are gone keygate serves again, and it never crashed.
#
# Usage: bash accept_emfile.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs curl, python3 and prlimit (util-linux). Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl python3 prlimit
e2e_init

cp "$SOURCE_DIR/tests/data/e2e/keys.yaml" "$E2E_TMP/keys.yaml"
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" prlimit --nofile=64:64 --
e2e_log "keygate ready on 127.0.0.1:$KEYGATE_PORT (descriptor limit 64)"

# 150 connections held for 3 s: the first ~50 are accepted, the rest wait in the backlog
# while accept() fails with EMFILE.
python3 - "$KEYGATE_PORT" <<'PYTHON'
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(150):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        held.append(s)
    except OSError:
        s.close()
time.sleep(3)
for s in held:
    s.close()
PYTHON

e2e_wait_until 10 e2e_port_open "$KEYGATE_PORT"
ok=0
for _ in $(seq 50); do
    e2e_request "http://127.0.0.1:$KEYGATE_PORT/healthz"
    [[ $E2E_STATUS == 200 ]] && { ok=1; break; }
    sleep 0.1
done
e2e_expect_eq "serves again once the connections are gone" 1 "$ok"
e2e_check "keygate is still running" kill -0 "$KEYGATE_PID"

e2e_request "http://127.0.0.1:$KEYGATE_PORT/metrics"
errors=$(printf '%s\n' "$E2E_BODY" | awk '$1 == "keygate_accept_errors_total" {print $2}')
e2e_expect_match "keygate_accept_errors_total counts the EMFILE failures" '^[1-9][0-9]*$' "$errors"

warnings=$(grep -c 'accept failed' "$E2E_TMP/keygate.log" || true)
e2e_expect_match "the failure is logged" '^[1-9][0-9]*$' "$warnings"
e2e_check "at most one accept warning a second (got $warnings in ~3 s)" test "$warnings" -le 5
e2e_check "the warning names the cause" grep -q 'Too many open files' "$E2E_TMP/keygate.log"

e2e_finish
