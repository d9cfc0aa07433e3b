#!/usr/bin/env bash
# The Helm chart rendered (tests/e2e/helm_render.py: Go template syntax and the functions the
# chart uses, nothing guessed), without helm (which Debian does not package):
#   - the Deployment: startup, liveness and readiness probes, no preStop hook (the drain is
#     KEYGATE_SHUTDOWN_DELAY), extraVolumes/extraVolumeMounts, metrics.port
#     (KEYGATE_ADMIN_LISTEN, container port `metrics`, the scrape annotation), and a refusal
#     when metrics.port equals port;
#   - Service and ServiceMonitor on the metrics port when there is one;
#   - the NetworkPolicy refuses to render without peers, and opens each port to its peers;
#   - grpc.enabled: KEYGATE_GRPC_LISTEN (0.0.0.0, 127.0.0.1 or a Unix socket), the container
#     port and Service port `grpc` (appProtocol: grpc), the NetworkPolicy's `from` peers, and
#     a refusal when grpc.port equals port or metrics.port;
#   - the PrometheusRule and the Grafana dashboard ConfigMap carry files/ as they are;
#   - with metrics.port, a real keygate started with the rendered KEYGATE_ADMIN_LISTEN answers
#     /metrics on the scrape annotation's port (404 on the main one) and the probes on the main
#     port; NOTES.txt points /metrics and the admin API at the metrics port;
#   - the example sidecar chart's exec probes (`keygate probe`, no shell) pass against a
#     running keygate on 127.0.0.1 and on a Unix socket, and fail when it is gone.
#
# Usage: bash helm_rendered.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML, curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands python3 curl
python3 -c 'import yaml' 2>/dev/null || e2e_die "python3 module 'yaml' is required (Debian: python3-yaml)"
e2e_init

python3 - "$SOURCE_DIR" "$E2E_TMP" >"$E2E_TMP/render.out" 2>&1 <<'PYTHON'
import copy
import json
import os
import sys

import yaml

source, tmp = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(source, "tests", "e2e"))
import helm_render  # noqa: E402

chart = os.path.join(source, "helm", "keygate")
example = os.path.join(source, "examples", "kubernetes", "query-service-chart")
passed = failed = 0


def check(description, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {description}")
    else:
        failed += 1
        print(f"FAIL - {description}")
        for line in str(detail).splitlines()[:40]:
            print(f"       {line}")


def merge(base, override):
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


values = yaml.safe_load(read(os.path.join(chart, "values.yaml")))
helpers = read(os.path.join(chart, "templates", "_helpers.tpl"))
files = {name: read(os.path.join(chart, name))
         for name in ("files/prometheus-rules.yaml", "files/grafana-dashboard.json")}


def render(template, override=None, directory=chart, vals=None):
    """(parsed YAML document or None, text, error): error is the template's fail message."""
    text = read(os.path.join(directory, "templates", template))
    try:
        out = helm_render.render(text, vals if vals is not None else merge(values, override),
                                 helpers, files)
    except helm_render.TemplateFail as e:
        return None, "", str(e)
    return yaml.safe_load(out), out, None


def container_of(deployment, name="keygate"):
    spec = deployment["spec"]["template"]["spec"]
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        if c["name"] == name:
            return c
    return {}


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# --- every template with values.yaml and each ci/*.yaml ------------------------------------
import glob  # noqa: E402
for values_file in [None] + sorted(glob.glob(os.path.join(chart, "ci", "*.yaml"))):
    override = yaml.safe_load(read(values_file)) if values_file else {}
    name = os.path.relpath(values_file, source) if values_file else "values.yaml"
    problems = []
    rendered_kinds = []
    for template in sorted(glob.glob(os.path.join(chart, "templates", "*.yaml"))):
        try:
            doc, _, err = render(os.path.basename(template), override)
            if err:
                problems.append(f"{os.path.basename(template)}: fail: {err}")
            elif doc is not None:
                rendered_kinds.append(doc.get("kind"))
        except (helm_render.UnknownAction, yaml.YAMLError, KeyError, TypeError) as e:
            problems.append(f"{os.path.basename(template)}: {type(e).__name__}: {e}")
    check(f"every template renders to valid YAML with {name} ({', '.join(sorted(set(filter(None, rendered_kinds))))})",
          not problems, "\n".join(problems))
    if values_file and values_file.endswith("standalone-values.yaml"):
        check("ci/standalone-values.yaml renders every optional object",
              {"Deployment", "Service", "ServiceMonitor", "NetworkPolicy", "PrometheusRule", "ConfigMap",
               "PodDisruptionBudget", "Middleware", "ServiceAccount"} <= set(rendered_kinds), rendered_kinds)

# --- the Deployment ---------------------------------------------------------------------
dep, text, err = render("deployment.yaml")
check("the Deployment renders with values.yaml", dep and dep.get("kind") == "Deployment", err)
c = container_of(dep or {"spec": {"template": {"spec": {}}}})
check("startupProbe: httpGet /readyz on the keygate port, 60 s to load",
      c.get("startupProbe", {}).get("httpGet") == {"path": "/readyz", "port": "keygate"}
      and c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] == 60,
      c.get("startupProbe"))
check("livenessProbe: httpGet /healthz", c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz")
check("readinessProbe: httpGet /readyz", c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz")
check("no preStop hook (nor any lifecycle): the drain is KEYGATE_SHUTDOWN_DELAY",
      "lifecycle" not in c and "preStop" not in text, c.get("lifecycle"))
check("KEYGATE_SHUTDOWN_DELAY is shutdownDelay", env_of(c).get("KEYGATE_SHUTDOWN_DELAY") == "5s")
check("no KEYGATE_ADMIN_LISTEN and one port without metrics.port",
      "KEYGATE_ADMIN_LISTEN" not in env_of(c) and [p["name"] for p in c.get("ports", [])] == ["keygate"])
annotations = dep["spec"]["template"]["metadata"].get("annotations", {}) if dep else {}
check("the scrape annotation names the main port without metrics.port",
      annotations.get("prometheus.io/port") == "8090", annotations)

extra = {"extraVolumes": [{"name": "admin-key", "secret": {"secretName": "kg-admin"}}],
         "extraVolumeMounts": [{"name": "admin-key", "mountPath": "/run/secrets/keygate", "readOnly": True}],
         "metrics": {"port": 9100}}
dep, text, err = render("deployment.yaml", extra)
c = container_of(dep) if dep else {}
volumes = dep["spec"]["template"]["spec"]["volumes"] if dep else []
check("extraVolumes are added to the pod's volumes, after the key volume",
      [v["name"] for v in volumes] == ["kg-keygate-keys", "admin-key"]
      and volumes[1].get("secret") == {"secretName": "kg-admin"}, volumes)
check("extraVolumeMounts are added to the container's mounts",
      {"name": "admin-key", "mountPath": "/run/secrets/keygate", "readOnly": True} in c.get("volumeMounts", []),
      c.get("volumeMounts"))
check("metrics.port sets KEYGATE_ADMIN_LISTEN=0.0.0.0:PORT",
      env_of(c).get("KEYGATE_ADMIN_LISTEN") == "0.0.0.0:9100", env_of(c))
check("metrics.port is the container port `metrics`",
      {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in c.get("ports", []), c.get("ports"))
annotations = dep["spec"]["template"]["metadata"].get("annotations", {}) if dep else {}
check("the scrape annotation names metrics.port", annotations.get("prometheus.io/port") == "9100", annotations)
_, _, err = render("deployment.yaml", {"metrics": {"port": 8090}})
check("metrics.port equal to port is refused", err and "metrics.port must differ from port" in err, err)
# What the real binary is checked against below: the admin address, the port Prometheus
# scrapes (the annotation's, which is the container port `metrics`), and the probes' port.
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
probe_ports = {c.get(f"{kind}Probe", {}).get("httpGet", {}).get("port") for kind in ("startup", "liveness", "readiness")}
check("with metrics.port the probes stay on the main port `keygate`", probe_ports == {"keygate"}, probe_ports)
check("the scrape annotation's port is the admin listener's",
      annotations.get("prometheus.io/port") == str(ports.get("metrics"))
      and env_of(c).get("KEYGATE_ADMIN_LISTEN", "").endswith(f":{ports.get('metrics')}"), (annotations, ports))
with open(os.path.join(tmp, "metrics-wiring"), "w", encoding="utf-8") as f:
    f.write("\t".join([env_of(c).get("KEYGATE_ADMIN_LISTEN", ""), annotations.get("prometheus.io/path", ""),
                       c["readinessProbe"]["httpGet"]["path"], c["livenessProbe"]["httpGet"]["path"]]) + "\n")


def notes_text(override):
    return helm_render.render(read(os.path.join(chart, "templates", "NOTES.txt")), merge(values, override),
                              helpers, files)


text = notes_text({"metrics": {"port": 9100}})
check("with metrics.port, NOTES.txt sends /metrics and /v1/status to the metrics port",
      "port-forward svc/kg-keygate 9100:9100" in text and "http://127.0.0.1:9100/metrics" in text
      and "http://127.0.0.1:9100/v1/status" in text, text)
check("without metrics.port, NOTES.txt does not mention KEYGATE_ADMIN_LISTEN",
      "KEYGATE_ADMIN_LISTEN" not in notes_text({}))

# --- Service and ServiceMonitor --------------------------------------------------------
svc, _, _ = render("service.yaml")
check("the Service has only `http` without metrics.port",
      [p["name"] for p in svc["spec"]["ports"]] == ["http"], svc["spec"]["ports"])
svc, _, _ = render("service.yaml", {"metrics": {"port": 9100}})
check("the Service has port `metrics` to the container port `metrics`",
      {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"} in svc["spec"]["ports"],
      svc["spec"]["ports"])
sm, _, _ = render("servicemonitor.yaml", {"metrics": {"serviceMonitor": {"enabled": True}}})
check("the ServiceMonitor scrapes the Service port http by default",
      sm["spec"]["endpoints"][0]["port"] == "http" and sm["spec"]["endpoints"][0]["path"] == "/metrics")
sm, _, _ = render("servicemonitor.yaml", {"metrics": {"port": 9100, "serviceMonitor": {"enabled": True}}})
check("the ServiceMonitor scrapes port `metrics` with metrics.port", sm["spec"]["endpoints"][0]["port"] == "metrics")
sm, _, _ = render("servicemonitor.yaml")
check("no ServiceMonitor unless enabled", sm is None)

# --- NetworkPolicy ----------------------------------------------------------------------
_, _, err = render("networkpolicy.yaml", {"networkPolicy": {"enabled": True}})
check("a NetworkPolicy without peers refuses to render, and says why",
      err and "needs at least one peer" in err, err)
ingress_nginx = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
np, _, err = render("networkpolicy.yaml", {"networkPolicy": {"enabled": True, "from": [ingress_nginx]}})
check("`from` peers reach the keygate port",
      np and np["spec"]["ingress"] == [{"from": [ingress_nginx], "ports": [{"port": "keygate", "protocol": "TCP"}]}],
      np and np["spec"]["ingress"])
check("egress is denied by default", np and np["spec"]["egress"] == [] and "Egress" in np["spec"]["policyTypes"])
np, _, _ = render("networkpolicy.yaml", {"networkPolicy": {"enabled": True, "from": [ingress_nginx],
                                                           "metricsFrom": [prometheus]}, "metrics": {"port": 9100}})
check("with metrics.port, `metricsFrom` peers reach only the metrics port",
      np["spec"]["ingress"] == [{"from": [ingress_nginx], "ports": [{"port": "keygate", "protocol": "TCP"}]},
                                {"from": [prometheus], "ports": [{"port": "metrics", "protocol": "TCP"}]}],
      np["spec"]["ingress"])
np, _, _ = render("networkpolicy.yaml", {"networkPolicy": {"enabled": True, "metricsFrom": [prometheus]}})
check("without metrics.port, `metricsFrom` peers reach the main port",
      np["spec"]["ingress"] == [{"from": [prometheus], "ports": [{"port": "keygate", "protocol": "TCP"}]}],
      np["spec"]["ingress"])
np, _, _ = render("networkpolicy.yaml")
check("no NetworkPolicy unless enabled", np is None)

# --- grpc.enabled: KEYGATE_GRPC_LISTEN, container port, Service port, NetworkPolicy ---------
dep, _, _ = render("deployment.yaml")
c = container_of(dep)
check("without grpc.enabled: no KEYGATE_GRPC_LISTEN, no grpc port",
      "KEYGATE_GRPC_LISTEN" not in env_of(c) and "grpc" not in [p["name"] for p in c.get("ports", [])])
grpc_on = {"grpc": {"enabled": True, "port": 9191}}
dep, _, err = render("deployment.yaml", grpc_on)
c = container_of(dep) if dep else {}
check("grpc.enabled sets KEYGATE_GRPC_LISTEN=0.0.0.0:PORT standalone",
      env_of(c).get("KEYGATE_GRPC_LISTEN") == "0.0.0.0:9191", err or env_of(c))
check("grpc.enabled adds the container port `grpc` after `keygate`",
      c.get("ports") == [{"name": "keygate", "containerPort": 8090, "protocol": "TCP"},
                         {"name": "grpc", "containerPort": 9191, "protocol": "TCP"}], c.get("ports"))
dep, _, _ = render("deployment.yaml", {"grpc": {"enabled": True, "port": 9292}})
check("grpc.port moves KEYGATE_GRPC_LISTEN and the container port",
      dep and env_of(container_of(dep)).get("KEYGATE_GRPC_LISTEN") == "0.0.0.0:9292"
      and {"name": "grpc", "containerPort": 9292, "protocol": "TCP"} in container_of(dep).get("ports", []))
_, _, err = render("deployment.yaml", {"grpc": {"enabled": True, "port": 8090}})
check("grpc.port equal to port is refused", err and "grpc.port must differ" in err, err)
_, _, err = render("deployment.yaml", {"grpc": {"enabled": True, "port": 9100}, "metrics": {"port": 9100}})
check("grpc.port equal to metrics.port is refused", err and "grpc.port must differ" in err, err)
svc, _, _ = render("service.yaml", grpc_on)
check("grpc.enabled adds the Service port `grpc` (appProtocol: grpc) to the container port `grpc`",
      svc and {"name": "grpc", "port": 9191, "targetPort": "grpc", "protocol": "TCP",
               "appProtocol": "grpc"} in svc["spec"]["ports"], svc and svc["spec"]["ports"])
svc, _, _ = render("service.yaml")
check("no Service port `grpc` without grpc.enabled", "grpc" not in [p["name"] for p in svc["spec"]["ports"]])
np, _, _ = render("networkpolicy.yaml", merge(grpc_on, {"networkPolicy": {
    "enabled": True, "from": [ingress_nginx], "metricsFrom": [prometheus]}, "metrics": {"port": 9100}}))
check("with grpc.enabled, `from` peers reach the gRPC port too, `metricsFrom` peers only metrics",
      np and np["spec"]["ingress"] == [
          {"from": [ingress_nginx], "ports": [{"port": "keygate", "protocol": "TCP"}, {"port": "grpc", "protocol": "TCP"}]},
          {"from": [prometheus], "ports": [{"port": "metrics", "protocol": "TCP"}]}], np and np["spec"]["ingress"])
notes = helm_render.render(read(os.path.join(chart, "templates", "NOTES.txt")), merge(values, grpc_on), helpers, files)
check("with grpc.enabled, NOTES.txt names the gRPC Service address and port",
      "kg-keygate.data.svc.cluster.local port 9191 (Service port grpc)" in notes, notes)
notes = helm_render.render(read(os.path.join(chart, "templates", "NOTES.txt")), values, helpers, files)
check("without grpc.enabled, NOTES.txt says nothing of gRPC", "gRPC" not in notes)

# --- PrometheusRule and the dashboard ---------------------------------------------------
rules = yaml.safe_load(files["files/prometheus-rules.yaml"])
pr, _, _ = render("prometheusrule.yaml", {"metrics": {"prometheusRule": {"enabled": True,
                                                                         "labels": {"release": "kps"}}}})
check("the PrometheusRule carries files/prometheus-rules.yaml's groups as they are",
      pr and pr["kind"] == "PrometheusRule" and pr["apiVersion"] == "monitoring.coreos.com/v1"
      and pr["spec"] == rules, pr)
check("the PrometheusRule has the release's labels and metrics.prometheusRule.labels",
      pr and pr["metadata"]["labels"].get("release") == "kps"
      and pr["metadata"]["labels"].get("app.kubernetes.io/instance") == "kg")
pr, _, _ = render("prometheusrule.yaml")
check("no PrometheusRule unless enabled", pr is None)
dashboard = json.loads(files["files/grafana-dashboard.json"])
cm, _, _ = render("grafana-dashboard.yaml", {"metrics": {"grafanaDashboard": {"enabled": True}}})
check("the dashboard ConfigMap has the label grafana_dashboard: \"1\"",
      cm and cm["kind"] == "ConfigMap" and cm["metadata"]["labels"].get("grafana_dashboard") == "1", cm and cm["metadata"])
check("the dashboard ConfigMap holds files/grafana-dashboard.json as it is",
      cm and json.loads(cm["data"]["keygate.json"]) == dashboard)
check("the dashboard ConfigMap is in the release's namespace by default", cm and cm["metadata"]["namespace"] == "data")
cm, _, _ = render("grafana-dashboard.yaml", {"metrics": {"grafanaDashboard": {"enabled": True, "namespace": "monitoring"}}})
check("metrics.grafanaDashboard.namespace moves it", cm and cm["metadata"]["namespace"] == "monitoring")
cm, _, _ = render("grafana-dashboard.yaml")
check("no dashboard ConfigMap unless enabled", cm is None)

# --- the example sidecar chart ----------------------------------------------------------
example_values = yaml.safe_load(read(os.path.join(example, "values.yaml")))


def sidecar(keygate_override):
    vals = copy.deepcopy(example_values)
    vals["keygate"] = merge(merge(values, example_values["keygate"]), keygate_override)
    doc, text, err = render("deployment.yaml", directory=example, vals=vals)
    return (container_of(doc) if doc else {}), err


c, err = sidecar({})
check("the example chart's Deployment renders with the keygate sidecar", c.get("name") == "keygate", err)
commands = {kind: c.get(f"{kind}Probe", {}).get("exec", {}).get("command") for kind in ("startup", "liveness", "readiness")}
check("the sidecar's probes are exec `keygate probe` (no shell)",
      all(cmd and cmd[:3] == ["keygate", "probe", "--url"] for cmd in commands.values()), commands)
check("the sidecar asks 127.0.0.1:PORT/readyz (startup, readiness) and /healthz (liveness)",
      commands["readiness"][3] == "http://127.0.0.1:8090/readyz"
      and commands["startup"][3] == "http://127.0.0.1:8090/readyz"
      and commands["liveness"][3] == "http://127.0.0.1:8090/healthz", commands)
check("the probe's own timeout is the probe's timeoutSeconds",
      commands["readiness"][4:] == ["--timeout", "3s"], commands["readiness"])
c_metrics, _ = sidecar({"metrics": {"port": 9100}})
check("a sidecar with metrics.port keeps its main listener on 127.0.0.1 and scrapes on 0.0.0.0:PORT",
      env_of(c_metrics).get("KEYGATE_LISTEN") == "127.0.0.1:8090"
      and env_of(c_metrics).get("KEYGATE_ADMIN_LISTEN") == "0.0.0.0:9100"
      and [p["name"] for p in c_metrics.get("ports", [])] == ["keygate", "metrics"], c_metrics.get("env"))
c_unix, _ = sidecar({"sidecar": {"unixSocket": {"enabled": True, "mountPath": tmp + "/sock"}}})
unix_cmd = c_unix.get("readinessProbe", {}).get("exec", {}).get("command")
check("a Unix-socket sidecar's probe asks /readyz over the socket",
      unix_cmd and unix_cmd[3] == f"unix:{tmp}/sock/keygate.sock:/readyz", unix_cmd)
check("a Unix-socket sidecar without metrics.port has no ports", "ports" not in c_unix)
c_grpc, _ = sidecar(grpc_on)
check("a sidecar with grpc.enabled listens for gRPC on 127.0.0.1:PORT (container port `grpc`)",
      env_of(c_grpc).get("KEYGATE_GRPC_LISTEN") == "127.0.0.1:9191"
      and [p["name"] for p in c_grpc.get("ports", [])] == ["keygate", "grpc"], c_grpc.get("env"))
c_grpc_unix, _ = sidecar(merge(grpc_on, {"sidecar": {"unixSocket": {"enabled": True, "mountPath": "/run/keygate/"}}}))
check("a Unix-socket sidecar with grpc.enabled serves gRPC on keygate-grpc.sock, with no port",
      env_of(c_grpc_unix).get("KEYGATE_GRPC_LISTEN") == "unix:/run/keygate/keygate-grpc.sock"
      and "ports" not in c_grpc_unix, c_grpc_unix.get("env"))
with open(os.path.join(tmp, "probes"), "w", encoding="utf-8") as f:
    for cmd in (commands["readiness"], commands["liveness"], unix_cmd or []):
        f.write("\t".join(cmd) + "\n")
print(f"COUNTS {passed} {failed}")
PYTHON
grep -v '^COUNTS ' "$E2E_TMP/render.out"
counts=$(grep '^COUNTS ' "$E2E_TMP/render.out" | tail -n 1)
if [[ $counts =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)$ ]]; then
    E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
    E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))
else
    e2e_die "the rendering checks did not finish"
fi

# --- the rendered exec probes against a real keygate ----------------------------------------
mapfile -t probes <"$E2E_TMP/probes"
((${#probes[@]} == 3)) || e2e_die "no probe commands rendered"
run_probe() { # LINE PORT: a rendered command (tab-separated), with the built binary and PORT
    local argv
    IFS=$'\t' read -r -a argv <<<"$1"
    argv[0]=$KEYGATE_BIN
    "${argv[@]//127.0.0.1:8090/127.0.0.1:$2}"
}
e2e_start_keygate "$KEYGATE_BIN" "$SOURCE_DIR/tests/data/valid/minimal.yaml"
e2e_check "the sidecar readiness probe passes against a ready keygate" run_probe "${probes[0]}" "$KEYGATE_PORT"
e2e_check "the sidecar liveness probe passes against a live keygate" run_probe "${probes[1]}" "$KEYGATE_PORT"
e2e_stop_spawned "$KEYGATE_PID"
e2e_check_not "the readiness probe fails when nothing listens" run_probe "${probes[0]}" "$KEYGATE_PORT" 2>/dev/null

# --- metrics.port against a real keygate: what the chart wires up answers ------------------
IFS=$'\t' read -r admin_listen scrape_path readiness_path liveness_path <"$E2E_TMP/metrics-wiring"
[[ $admin_listen == *:9100 ]] || e2e_die "no KEYGATE_ADMIN_LISTEN rendered with metrics.port"
e2e_pick_port
SCRAPE_PORT=$E2E_PORT
e2e_start_keygate "$KEYGATE_BIN" "$SOURCE_DIR/tests/data/valid/minimal.yaml" \
    KEYGATE_ADMIN_LISTEN="${admin_listen%:9100}:$SCRAPE_PORT"
e2e_request "http://127.0.0.1:$SCRAPE_PORT$scrape_path"
e2e_expect_eq "metrics.port: Prometheus' target (annotation port and path) answers 200" 200 "$E2E_STATUS"
e2e_expect_match "  ...with the metrics page" '# TYPE keygate_requests_total counter' "$E2E_BODY"
e2e_request "http://127.0.0.1:$KEYGATE_PORT$scrape_path"
e2e_expect_eq "metrics.port: /metrics is gone from the main port" 404 "$E2E_STATUS"
e2e_request "http://127.0.0.1:$KEYGATE_PORT$readiness_path"
e2e_expect_eq "metrics.port: the readiness probe on the main port passes" 200 "$E2E_STATUS"
e2e_request "http://127.0.0.1:$KEYGATE_PORT$liveness_path"
e2e_expect_eq "metrics.port: the liveness probe on the main port passes" 200 "$E2E_STATUS"
e2e_stop_spawned "$KEYGATE_PID"

mkdir -p "$E2E_TMP/sock"
e2e_spawn "$E2E_TMP/unix.out" "$E2E_TMP/unix.log" env -u KEYGATE_LISTEN -u KEYGATE_CONFIG \
    KEYGATE_AUDIT_LOG="$E2E_TMP/audit-unix.log" \
    "$KEYGATE_BIN" serve --config "$SOURCE_DIR/tests/data/valid/minimal.yaml" --listen "unix:$E2E_TMP/sock/keygate.sock"
UNIX_PID=$E2E_SPAWNED_PID
e2e_wait_until 20 test -S "$E2E_TMP/sock/keygate.sock" || e2e_die "keygate did not create its socket"
e2e_check "the Unix-socket readiness probe passes against keygate on the socket" \
    e2e_wait_until 10 run_probe "${probes[2]}" 0
e2e_stop_spawned "$UNIX_PID"
e2e_check_not "the Unix-socket probe fails once keygate is gone" run_probe "${probes[2]}" 0 2>/dev/null

e2e_finish
