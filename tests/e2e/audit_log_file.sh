#!/usr/bin/env bash
# keygate's audit log in a file (CONTRACT §7, §10):
#   - SIGTERM after N requests: keygate exits 0 and the file holds exactly N auth lines, each
#     valid JSON with a masked key, and no line split or merged;
#   - rotation with the shipped examples/logrotate/keygate run by real logrotate: lines sent
#     before and after the rotation are all found, in the rotated and the new file, none
#     twice; SIGUSR1 reopens the path.
#
# Usage: bash audit_log_file.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs curl, python3 and logrotate. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
e2e_require_commands curl python3
[[ -x $LOGROTATE ]] || e2e_die "'logrotate' is required (Debian: apt-get install logrotate)"
e2e_init

# Obviously fake test keys.
KEY_GOOD=pk_audit_exampleTestAUDITGOOD00000000000001
KEY_LIMITED=pk_audit_exampleTestAUDITLIMIT0000000000002
cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: audit-good, key: "$KEY_GOOD", tenant: acme, role: viewer}
  - {id: audit-limited, key: "$KEY_LIMITED", tenant: acme, role: viewer, rate_limit: 5}
YAML

# Sends N requests numbered from START (default 0) over keep-alive connections from 4
# threads, a mix of allowed, unknown, missing and rate-limited keys; prints how many got an
# answer. Usage: send_requests N [START]
send_requests() {
    python3 - "$KEYGATE_PORT" "$1" "$KEY_GOOD" "$KEY_LIMITED" "${2:-0}" <<'PYTHON'
import http.client, sys, threading
port, total, good, limited = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
start = int(sys.argv[5])
keys = [good, "pk_audit_unknownTestKey000000000000009", None, limited]
answered = [0] * 4
def worker(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(n, total, 4):
        key = keys[i % len(keys)]
        headers = {"X-Original-URI": "/v1/query", "X-Request-Id": f"req-{start + i}"}
        if key:
            headers["X-API-Key"] = key
        conn.request("GET", "/auth/nginx", headers=headers)
        conn.getresponse().read()
        answered[n] += 1
threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(answered))
PYTHON
}

# Checks every line of the files: JSON, masked keys only. Prints "<auth lines> <distinct request ids> <bad lines>".
audit_summary() {
    python3 - "$KEY_GOOD" "$KEY_LIMITED" "$@" <<'PYTHON'
import json, sys
good, limited, files = sys.argv[1], sys.argv[2], sys.argv[3:]
auth, seen, bad = 0, set(), 0
for name in files:
    with open(name, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                bad += 1
                continue
            if good.encode() in raw or limited.encode() in raw:
                bad += 1
            try:
                event = json.loads(raw)
            except ValueError:
                bad += 1
                continue
            if event.get("event") == "auth":
                auth += 1
                seen.add(event.get("request_id"))
print(auth, len(seen), bad)
PYTHON
}

# --- SIGTERM after N requests leaves exactly N auth lines -----------------------------------
N=2000
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
answered=$(send_requests "$N")
e2e_expect_eq "all $N requests answered" "$N" "$answered"
kill -TERM "$KEYGATE_PID"
status=0
wait "$KEYGATE_PID" || status=$?
e2e_stop_spawned "$KEYGATE_PID"
e2e_expect_eq "SIGTERM: exit status 0" 0 "$status"
read -r auth_lines _ bad_lines < <(audit_summary "$E2E_TMP/audit.log")
e2e_expect_eq "SIGTERM after $N requests: exactly $N auth lines" "$N" "$auth_lines"
e2e_expect_eq "every line whole, valid JSON, no full key" 0 "$bad_lines"
e2e_check "a rate-limited decision was logged" grep -q '"code":"RATE_LIMITED"' "$E2E_TMP/audit.log"
e2e_check "keys are masked" grep -q '"api_key":"pk_audit_\*\*\*"' "$E2E_TMP/audit.log"

# --- rotation with the shipped logrotate example --------------------------------------------
mkdir -p "$E2E_TMP/logs"
AUDIT=$E2E_TMP/logs/audit.log
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_AUDIT_LOG="$AUDIT"
# The example as shipped, pointed at this run's file and process (instead of the unit's reload,
# which has no systemd here).
sed -e "s|/var/log/keygate/audit.log|$AUDIT|" \
    -e "s|systemctl reload keygate.service|kill -USR1 $KEYGATE_PID|" \
    "$SOURCE_DIR/examples/logrotate/keygate" >"$E2E_TMP/logrotate.conf"
e2e_check "the example names the path and the signal" grep -q "kill -USR1 $KEYGATE_PID" "$E2E_TMP/logrotate.conf"
before=$(send_requests 300)
"$LOGROTATE" --force --state "$E2E_TMP/logrotate.state" "$E2E_TMP/logrotate.conf" \
    >"$E2E_TMP/logrotate.out" 2>&1
e2e_expect_eq "logrotate ran" 0 "$?"
e2e_check "the rotated file exists" test -s "$AUDIT.1"
# keygate reopens on SIGUSR1: the path exists again once it did.
e2e_check "keygate created a new file at the path" e2e_wait_until 5 test -e "$AUDIT"
after=$(send_requests 300 300)
e2e_expect_eq "requests around the rotation answered" 600 "$((before + after))"
kill -TERM "$KEYGATE_PID"
wait "$KEYGATE_PID"
e2e_stop_spawned "$KEYGATE_PID"
read -r auth_lines distinct bad_lines < <(audit_summary "$AUDIT.1" "$AUDIT")
e2e_expect_eq "rotated + new file: 600 auth lines" 600 "$auth_lines"
e2e_expect_eq "no line lost or doubled" 600 "$distinct"
e2e_expect_eq "every line whole and valid JSON" 0 "$bad_lines"
read -r new_lines _ _ < <(audit_summary "$AUDIT")
e2e_check "lines after the rotation went to the new file" test "$new_lines" -ge 300

e2e_finish
