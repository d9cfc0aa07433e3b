#!/usr/bin/env bash
# The operational log as data (KEYGATE_LOG_FORMAT=json, KEYGATE_LOG_LEVEL=debug), from the
# real binary:
#   - every line on stderr is one JSON object with timestamp, level and message, the level
#     spelt as KEYGATE_LOG_LEVEL spells it (warn, never warning);
#   - the start-up line carries `listen`, `path`, `keys`, `generation` as keys of their own;
#   - a reload carries `path`, `generation`, `keys`, `duration_ms`; debug adds one timing
#     line per attempt (an unchanged one too) with `result` and `duration_ms`;
#   - a request the front end refuses is a debug line with `peer`, `status`, `reason`;
#   - KEYGATE_LOG_LEVEL=warning is refused (exit 2) with the spelling to use.
#
# Usage: bash log_json.sh PATH_TO_KEYGATE SOURCE_DIR. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"
e2e_require_commands curl python3
e2e_init

# Obviously fake test keys.
KEY_ADMIN=pk_logs_exampleTestLOGSADMIN000000000000001
write_keys() {
    cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: logs-admin, key: "$KEY_ADMIN", role: admin}
$1
YAML
}
write_keys ""

e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml" KEYGATE_LOG_FORMAT=json \
    KEYGATE_LOG_LEVEL=debug

# Whitespace before a header's colon: refused with 400 before any handler.
python3 - "$KEYGATE_PORT" <<'PYTHON'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /auth HTTP/1.1\r\nHost: x\r\nX-Bad : 1\r\n\r\n")
s.recv(4096)
s.close()
PYTHON
e2e_request -X POST -H "X-API-Key: $KEY_ADMIN" "http://127.0.0.1:$KEYGATE_PORT/v1/reload"
e2e_expect_eq "POST /v1/reload answers 200" 200 "$E2E_STATUS"
write_keys "  - {id: logs-viewer, key: pk_logs_exampleTestLOGSVIEW0000000000000002, tenant: t, role: viewer}"
kill -HUP "$KEYGATE_PID"
reloaded() { grep -c '"generation":2' "$E2E_TMP/keygate.log" >/dev/null; }
e2e_check "the SIGHUP reload is logged" e2e_wait_until 10 reloaded
e2e_stop_spawned "$KEYGATE_PID"

python3 - "$E2E_TMP/keygate.log" "$KEYGATE_PORT" "$E2E_TMP/keys.yaml" <<'PYTHON'
import json, sys
path, port, keys = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l]
passed = failed = 0
def check(what, ok, shown=None):
    global passed, failed
    if ok:
        passed += 1; print("ok   -", what)
    else:
        failed += 1; print("FAIL -", what, "" if shown is None else f"\n       {shown}")
records = []
for line in lines:
    try:
        records.append(json.loads(line))
    except ValueError:
        check("a line is JSON", False, line)
check("the log has lines, all JSON", records and len(records) == len(lines), len(lines))
levels = {"trace", "debug", "info", "warn", "error", "critical"}
check("every line has timestamp, level, message",
      all({"timestamp", "level", "message"} <= r.keys() for r in records))
check("levels are spelt trace/debug/info/warn/error/critical",
      all(r["level"] in levels for r in records), sorted({r["level"] for r in records}))
def find(pred):
    return next((r for r in records if pred(r)), None)
start = find(lambda r: r["message"].startswith("listening on"))
check("the start-up line carries listen, path, keys, generation",
      start is not None and start.get("listen") == f"127.0.0.1:{port}"
      and start.get("path") == keys and start.get("keys") == 1 and start.get("generation") == 1,
      start)
reload = find(lambda r: r["level"] == "info" and r["message"].startswith("reloaded "))
check("a reload carries path, generation, keys, duration_ms, trigger",
      reload is not None and reload.get("path") == keys and reload.get("generation") == 2
      and reload.get("keys") == 2 and isinstance(reload.get("duration_ms"), int)
      # the edit is seen by inotify or by SIGHUP, whichever comes first
      and reload.get("trigger") in ("sighup", "inotify"), reload)
unchanged = find(lambda r: r["level"] == "debug" and r.get("result") == "unchanged"
                 and r.get("trigger") == "api")
check("debug times an unchanged reload (trigger api)",
      unchanged is not None and unchanged.get("trigger") == "api"
      and isinstance(unchanged.get("duration_ms"), (int, float))
      and isinstance(unchanged.get("read_ms"), (int, float)), unchanged)
timed = find(lambda r: r["level"] == "debug" and r.get("result") == "success")
check("debug times the successful reload too", timed is not None and timed.get("generation") == 2,
      timed)
rejected = find(lambda r: r["level"] == "debug" and "reason" in r)
check("a refused request is a debug line with peer, status, reason",
      rejected is not None and rejected.get("peer") == "127.0.0.1"
      and rejected.get("status") == 400 and rejected["reason"], rejected)
check("no line holds the admin key", all("TestLOGSADMIN" not in l for l in lines))
print(f"PYTHON {passed} {failed}")
sys.exit(1 if failed else 0)
PYTHON
e2e_check "the JSON log lines carry their fields" test $? -eq 0

env -u KEYGATE_LOG_FORMAT KEYGATE_LOG_LEVEL=warning "$KEYGATE_BIN" serve \
    --config "$E2E_TMP/keys.yaml" --listen 127.0.0.1:0 >"$E2E_TMP/out" 2>"$E2E_TMP/err"
e2e_expect_eq "KEYGATE_LOG_LEVEL=warning is a usage error" 2 "$?"
e2e_check "... that names the spelling to use" grep -qF "the level is spelt 'warn'" "$E2E_TMP/err"

e2e_finish
