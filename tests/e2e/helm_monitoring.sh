#!/usr/bin/env bash
# The chart's monitoring pieces against Prometheus' own tools and a running keygate:
#   - helm/keygate/files/prometheus-rules.yaml passes `promtool check rules`, and its unit
#     tests (tests/data/prometheus/keygate-rules.test.yaml) pass with `promtool test rules`;
#     the tests are sensitive: each alert changed to never fire, or to always fire, fails them;
#   - the rules are those docs/audit-and-metrics.md shows;
#   - the Grafana dashboard (files/grafana-dashboard.json) is well-formed (unique panel ids,
#     a Prometheus datasource variable, a query in each panel) and every query is valid
#     PromQL (promtool checks it as a recording rule);
#   - every metric name and label the rules and the dashboard use is on the /metrics page
#     of a running keygate (after traffic of every kind), so a renamed metric breaks this test.
#
# Usage: bash helm_monitoring.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs promtool (Debian: prometheus), python3 with PyYAML, curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands promtool python3 curl
python3 -c 'import yaml' 2>/dev/null || e2e_die "python3 module 'yaml' is required (Debian: python3-yaml)"
e2e_init
RULES=$SOURCE_DIR/helm/keygate/files/prometheus-rules.yaml
RULE_TESTS=$SOURCE_DIR/tests/data/prometheus/keygate-rules.test.yaml
DASHBOARD=$SOURCE_DIR/helm/keygate/files/grafana-dashboard.json

# --- the rules -------------------------------------------------------------------------------
e2e_check "promtool check rules accepts the rule file" promtool check rules "$RULES" >/dev/null
promtool test rules "$RULE_TESTS" >"$E2E_TMP/test-rules.out" 2>&1
rc=$?
e2e_expect_eq "promtool test rules: every alert fires and stays silent as the tests expect" 0 "$rc"
((rc == 0)) || cat "$E2E_TMP/test-rules.out" >&2

# Each alert broken two ways (never fires, always fires): the unit tests must notice.
mapfile -t alerts < <(python3 -c '
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(r["alert"])' "$RULES")
e2e_check "the rule file has the five documented alerts" test "${#alerts[@]}" -eq 5
for alert in "${alerts[@]}"; do
    for broken in "vector(0) > 1" "vector(1)"; do
        dir=$E2E_TMP/mutant-$alert-${#broken}
        mkdir -p "$dir"
        python3 - "$RULES" "$alert" "$broken" "$dir/rules.yaml" <<'PYTHON'
import sys, yaml
rules, alert, expr, out = sys.argv[1:]
doc = yaml.safe_load(open(rules))
for g in doc["groups"]:
    for r in g["rules"]:
        if r["alert"] == alert:
            r["expr"] = expr
yaml.safe_dump(doc, open(out, "w"))
PYTHON
        sed "s|^  - \.\./\.\./\.\./helm/keygate/files/prometheus-rules\.yaml$|  - rules.yaml|" \
            "$RULE_TESTS" >"$dir/test.yaml"
        grep -qx '  - rules.yaml' "$dir/test.yaml" || e2e_die "the rule test does not name the rule file"
        e2e_check_not "the unit tests catch $alert with expr '$broken'" \
            promtool test rules "$dir/test.yaml" >/dev/null 2>&1
    done
done

e2e_check "docs/audit-and-metrics.md shows exactly these rules" python3 - "$RULES" \
    "$SOURCE_DIR/docs/audit-and-metrics.md" <<'PYTHON'
import re, sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
doc = open(sys.argv[2]).read()
blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if "groups:" in b]
assert blocks == [rules], blocks
PYTHON

# --- the dashboard ---------------------------------------------------------------------------
python3 - "$DASHBOARD" "$RULES" "$E2E_TMP" <<'PYTHON' >"$E2E_TMP/dashboard.out" 2>&1
import json, sys, yaml
dashboard = json.load(open(sys.argv[1]))
rules = yaml.safe_load(open(sys.argv[2]))
tmp = sys.argv[3]
ids = [p["id"] for p in dashboard["panels"]]
assert len(ids) == len(set(ids)), f"duplicate panel ids {ids}"
assert dashboard.get("uid") == "keygate" and dashboard.get("title") == "keygate"
variables = {v["name"]: v for v in dashboard["templating"]["list"]}
assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
exprs = []
for p in dashboard["panels"]:
    assert p["datasource"]["uid"] == "${datasource}", p["title"]
    assert p["targets"], p["title"]
    exprs += [t["expr"] for t in p["targets"]]
exprs += [v["query"]["query"] for v in variables.values() if v["type"] == "query"]
# Grafana's variables, as Grafana substitutes them, so promtool can parse each query.
def concrete(e):
    e = e.replace("$__rate_interval", "5m").replace("$job", ".*").replace("$instance", ".*")
    if e.startswith("label_values("):  # a Grafana function: check its selector only
        e = e[len("label_values("):].rsplit(",", 1)[0]
    return e
records = [{"record": f"dashboard:query{i}", "expr": concrete(e)} for i, e in enumerate(exprs)]
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}, open(f"{tmp}/dashboard-rules.yaml", "w"))
with open(f"{tmp}/queries", "w") as f:
    for e in exprs + [r["expr"] for g in rules["groups"] for r in g["rules"]]:
        f.write(concrete(e) + "\n")
print(f"{len(dashboard['panels'])} panels, {len(exprs)} queries")
PYTHON
dash_rc=$?
e2e_expect_eq "the dashboard is well-formed" 0 "$dash_rc"
((dash_rc == 0)) || cat "$E2E_TMP/dashboard.out" >&2
e2e_check "every dashboard query is valid PromQL (promtool check rules)" \
    promtool check rules "$E2E_TMP/dashboard-rules.yaml" >/dev/null

# --- names against a running keygate ---------------------------------------------------------
# Obviously fake test keys.
KEY_GOOD=pk_mon_exampleTestMONGOOD00000000000000001
KEY_LIMITED=pk_mon_exampleTestMONLIMIT0000000000000002
cat >"$E2E_TMP/keys.yaml" <<YAML
api_keys:
  - {id: mon-good, key: "$KEY_GOOD", tenant: acme, role: viewer, allowed_datasets: [orders]}
  - {id: mon-limited, key: "$KEY_LIMITED", tenant: acme, role: viewer, rate_limit: 1}
YAML
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
URL=http://127.0.0.1:$KEYGATE_PORT
e2e_request -H "X-API-Key: $KEY_GOOD" "$URL/auth"
e2e_request "$URL/auth/nginx"
e2e_request -H "X-API-Key: $KEY_GOOD" -H "X-Dataset: secrets" "$URL/auth"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$URL/auth"
e2e_request -H "X-API-Key: $KEY_LIMITED" "$URL/auth"
e2e_expect_eq "traffic of every kind sent (the last one rate limited)" 429 "$E2E_STATUS"
curl --silent --noproxy '*' "$URL/metrics" >"$E2E_TMP/metrics.txt"
e2e_check "the metrics page was scraped" grep -q '^# TYPE keygate_requests_total counter' "$E2E_TMP/metrics.txt"

python3 - "$E2E_TMP/metrics.txt" "$E2E_TMP/queries" >"$E2E_TMP/names.out" 2>&1 <<'PYTHON'
import re, sys
page = open(sys.argv[1]).read()
labels_of = {}  # sample name -> label names seen
for line in page.splitlines():
    if not line or line.startswith("#"):
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
    name, body = m.group(1), m.group(3) or ""
    labels_of.setdefault(name, set()).update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', body))
promql_words = {"sum", "by", "rate", "increase", "histogram_quantile", "max", "min", "le", "without"}
problems, used = [], set()
for query in open(sys.argv[2]).read().splitlines():
    for name in set(re.findall(r"\b(?:keygate|process)_[a-z_]+", query)):
        used.add(name)
        if name not in labels_of:
            problems.append(f"{name}: not on the metrics page ({query})")
            continue
        # Label names in this metric's selector and in the query's by (...) clauses.
        wanted = set()
        for selector in re.findall(re.escape(name) + r"\{([^}]*)\}", query):
            wanted |= set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!=|!~|=)", selector))
        for clause in re.findall(r"\bby\s*\(([^)]*)\)", query):
            wanted |= {w.strip() for w in clause.split(",") if w.strip()}
        wanted -= {"job", "instance"}  # Prometheus adds them at scrape time
        if "le" in wanted and not name.endswith("_bucket"):
            wanted.discard("le")
        missing = wanted - labels_of[name]
        # A by-label may come from another metric of the same query (a ratio): accept it there.
        missing = {l for l in missing
                   if not any(l in labels_of.get(n, set()) for n in re.findall(r"\b(?:keygate|process)_[a-z_]+", query))}
        if missing:
            problems.append(f"{name}: labels {sorted(missing)} not on the page ({query})")
for p in problems:
    print(p)
print(f"{len(used)} metric names checked")
sys.exit(1 if problems else 0)
PYTHON
names_rc=$?
e2e_expect_eq "every metric name and label of the rules and the dashboard is on keygate's page" 0 "$names_rc"
cat "$E2E_TMP/names.out" >&2

e2e_finish
