#!/usr/bin/env bash
# /metrics against Prometheus itself (CONTRACT §8):
#   - `promtool check metrics` finds no problem in the page (after traffic of every kind,
#     so that every family has samples);
#   - a real Prometheus server on loopback scrapes keygate: the target is up, and the
#     counters it stored agree with the traffic sent.
#
# Usage: bash prometheus_scrape.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs curl, python3 and Debian's prometheus package (prometheus, promtool).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl python3 promtool prometheus
e2e_init

# Obviously fake test keys.
KEY_GOOD=pk_prom_exampleTestPROMGOOD000000000000001
KEY_LIMITED=pk_prom_exampleTestPROMLIMIT00000000000002
cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: prom-good, key: "$KEY_GOOD", tenant: acme, role: viewer, allowed_datasets: [orders]}
  - {id: prom-limited, key: "$KEY_LIMITED", tenant: acme, role: viewer, rate_limit: 1}
  - {id: prom-off, key_hash: "sha256:$(printf 'x%.0s' {1..64} | tr x 0)", role: admin, enabled: false}
  - {id: prom-soon, key_hash: "sha256:$(printf 'x%.0s' {1..64} | tr x 1)", role: admin, expires_at: $(date -u -d '+3 days' +%Y-%m-%dT%H:%M:%SZ)}
YAML
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
URL=http://127.0.0.1:$KEYGATE_PORT

# Traffic of every kind: allowed, missing, unknown, forbidden dataset, rate limited.
for _ in 1 2 3; do e2e_request -H "X-API-Key: $KEY_GOOD" "$URL/auth"; done
e2e_expect_eq "allowed" 200 "$E2E_STATUS"
e2e_request "$URL/auth/nginx"
e2e_expect_eq "missing key" 401 "$E2E_STATUS"
e2e_request -H "X-API-Key: pk_prom_unknownTestKey0000000000000009" "$URL/auth"
e2e_expect_eq "unknown key" 401 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_GOOD" -H "X-Dataset: secrets" "$URL/auth"
e2e_expect_eq "forbidden dataset" 403 "$E2E_STATUS"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$URL/auth"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$URL/auth"
e2e_expect_eq "rate limited" 429 "$E2E_STATUS"

# --- promtool -------------------------------------------------------------------------------
curl --silent --noproxy '*' "$URL/metrics" >"$E2E_TMP/metrics.txt"
promtool check metrics <"$E2E_TMP/metrics.txt" >"$E2E_TMP/promtool.out" 2>&1
e2e_expect_eq "promtool check metrics: no problem" 0 "$?"
e2e_expect_eq "promtool printed nothing" "" "$(cat "$E2E_TMP/promtool.out")"
e2e_check "the page has every family" python3 - "$E2E_TMP/metrics.txt" <<'PYTHON'
import sys
text = open(sys.argv[1]).read()
for name in ["keygate_requests_total", "keygate_request_duration_seconds", "keygate_keys",
             "keygate_config_last_reload_successful",
             "keygate_config_last_reload_success_timestamp_seconds",
             "keygate_config_reloads_total", "keygate_config_generation",
             "keygate_audit_events_total", "keygate_audit_write_failures_total",
             "keygate_audit_queue_depth", "keygate_audit_blocked_seconds_total",
             "keygate_connections", "keygate_accept_errors_total",
             "keygate_connection_timeouts_total", "keygate_requests_refused_total",
             "keygate_rate_limited_total", "keygate_alerts_total", "keygate_keys_expiring",
             "keygate_build_info", "process_cpu_seconds_total", "process_resident_memory_bytes",
             "process_open_fds", "process_max_fds", "process_start_time_seconds"]:
    assert f"# TYPE {name} " in text, name
PYTHON
e2e_check "keygate_build_info has version and a commit (or unknown), value 1" python3 - \
    "$E2E_TMP/metrics.txt" <<'PYTHON'
import re, sys, time
text = open(sys.argv[1]).read()
assert re.search(r'^keygate_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+",commit="([0-9a-f]{12}|unknown)"\} 1$',
                 text, re.M), "build_info"
def value(name):
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))
assert value("process_resident_memory_bytes") > 1e6
assert value("process_open_fds") >= 4
assert 0 <= value("process_cpu_seconds_total") < 3600
assert time.time() - 3600 < value("process_start_time_seconds") <= time.time() + 1
PYTHON

# --- a real Prometheus scrape ---------------------------------------------------------------
cat >"$E2E_TMP/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: keygate
    static_configs: [{targets: ["127.0.0.1:$KEYGATE_PORT"]}]
YAML
promtool check config "$E2E_TMP/prometheus.yml" >"$E2E_TMP/promtool-config.out" 2>&1 ||
    e2e_die "promtool check config failed: $(cat "$E2E_TMP/promtool-config.out")"
started=0
for attempt in 1 2 3; do
    e2e_pick_port
    PROM_PORT=$E2E_PORT
    e2e_spawn "$E2E_TMP/prometheus.out" "$E2E_TMP/prometheus.log" \
        prometheus --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/tsdb" \
        --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
    PROM_PID=$E2E_SPAWNED_PID
    if e2e_wait_until 30 curl --silent --fail --noproxy '*' --output /dev/null \
        "http://127.0.0.1:$PROM_PORT/-/ready"; then
        started=1
        break
    fi
    e2e_stop_spawned "$PROM_PID"
    e2e_log "prometheus did not start (attempt $attempt)"
    e2e_show_log "$E2E_TMP/prometheus.log" 10
done
((started)) || e2e_die "prometheus did not start"

# Prints the value of the first sample of an instant query ("" when there is none).
prom_value() {
    curl --silent --noproxy '*' --get --data-urlencode "query=$1" \
        "http://127.0.0.1:$PROM_PORT/api/v1/query" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
prom_equals() { [[ $(prom_value "$1") == "$2" ]]; }

e2e_check "prometheus scraped keygate: up == 1" e2e_wait_until 30 prom_equals 'up{job="keygate"}' 1
e2e_check "the scrape stored every sample (no scrape error)" \
    e2e_wait_until 10 prom_equals 'scrape_samples_scraped{job="keygate"} > 0' \
    "$(grep -c '^[a-z]' "$E2E_TMP/metrics.txt")"  # keygate_* and process_* samples
# 3 with the good key, 1 with the limited key before its limit.
e2e_expect_eq "allowed decisions as sent" 4 \
    "$(prom_value 'keygate_requests_total{endpoint="/auth",decision="allow",code="OK"}')"
e2e_expect_eq "missing keys on /auth/nginx" 1 \
    "$(prom_value 'keygate_requests_total{endpoint="/auth/nginx",code="MISSING_KEY"}')"
e2e_expect_eq "rate-limited requests" 1 "$(prom_value 'keygate_rate_limited_total')"
e2e_expect_eq "keys by state: disabled" 1 "$(prom_value 'keygate_keys{state="disabled"}')"
e2e_expect_eq "keys expiring within 7d" 1 "$(prom_value 'keygate_keys_expiring{window="7d"}')"
e2e_expect_eq "keys expiring within 30d" 1 "$(prom_value 'keygate_keys_expiring{window="30d"}')"
e2e_expect_eq "histogram count = decisions" 8 "$(prom_value 'keygate_request_duration_seconds_count')"
e2e_expect_eq "reload state" 1 "$(prom_value 'keygate_config_last_reload_successful')"
# The success timestamp is a Unix time, not rounded to 6 digits.
since=$(prom_value 'time() - keygate_config_last_reload_success_timestamp_seconds')
e2e_expect_match "last reload success is a Unix time of the last minute" '^[0-9]{1,2}(\.[0-9]+)?$' "$since"
e2e_check "prometheus logged no scrape warning" \
    bash -c "! grep -qi 'keygate' '$E2E_TMP/prometheus.log'"

e2e_finish
