#!/usr/bin/env bash
# The Helm chart (helm/keygate) and the example chart that includes it as a sidecar
# (examples/kubernetes/query-service-chart), checked without helm (which Debian does not
# package):
#   - Chart.yaml, values.yaml, ci/*.yaml and the example chart's YAML files parse;
#   - values.schema.json is a valid schema, values.yaml and every ci/*.yaml (merged over
#     values.yaml, as helm does) pass it, and typical mistakes fail it;
#   - image.tag is Chart.yaml's appVersion;
#   - every template's {{ }} actions are closed and its if/range/with/define blocks are
#     balanced (else only inside them), every included template is defined, and every
#     .Values path a template reads exists in values.yaml;
#   - no manifest mounts anything with subPath (the key file would never update);
#   - the Traefik Middleware, rendered with values.yaml (a small renderer that knows only
#     that template's actions and fails on any other), asks /auth/forward and passes keygate
#     exactly the headers it needs (authRequestHeaders, with traefikMiddleware.keyHeader;
#     never X-Original-*);
#   - the container template sets what CONTRACT §4 and the chart promise (serve only,
#     KEYGATE_CONFIG, KEYGATE_LISTEN, audit to stdout, probes, hardening); no template has
#     a preStop hook or a shell (tests/e2e/helm_rendered.sh renders the objects and runs
#     the sidecar's `keygate probe` commands against keygate).
#
# Usage: bash helm_chart.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema), curl.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands python3 curl bash
python3 -c 'import yaml, jsonschema' 2>/dev/null ||
    e2e_die "python3 modules 'yaml' and 'jsonschema' are required (Debian: apt-get install python3-yaml python3-jsonschema)"
e2e_init

# --- static checks (python prints ok/FAIL lines, then "COUNTS passed failed") --------------
python3 - "$SOURCE_DIR" "$E2E_TMP" >"$E2E_TMP/static.out" 2>&1 <<'PYTHON'
import copy
import glob
import json
import os
import re
import sys

import jsonschema
import yaml

source, tmp = sys.argv[1], sys.argv[2]
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
        for line in str(detail).splitlines():
            print(f"       {line}")


def rel(path):
    return os.path.relpath(path, source)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def merge(base, override):
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


# --- plain YAML files parse --------------------------------------------------------------
plain = [os.path.join(chart, "Chart.yaml"), os.path.join(chart, "values.yaml")]
plain += sorted(glob.glob(os.path.join(chart, "ci", "*.yaml")))
plain += [os.path.join(example, "Chart.yaml"), os.path.join(example, "values.yaml")]
docs = {}
for path in plain:
    try:
        docs[path] = load_yaml(path)
        check(f"{rel(path)} parses", isinstance(docs[path], dict))
    except (OSError, yaml.YAMLError) as e:
        check(f"{rel(path)} parses", False, e)
        docs[path] = {}

meta = docs[os.path.join(chart, "Chart.yaml")]
values = docs[os.path.join(chart, "values.yaml")]
check("Chart.yaml: apiVersion v2, name keygate, a version and an appVersion",
      meta.get("apiVersion") == "v2" and meta.get("name") == "keygate"
      and meta.get("version") and meta.get("appVersion"))
check("values.yaml image.tag equals Chart.yaml appVersion",
      str(values.get("image", {}).get("tag")) == str(meta.get("appVersion")),
      f"{values.get('image', {}).get('tag')} != {meta.get('appVersion')}")

# --- values.schema.json ------------------------------------------------------------------
with open(os.path.join(chart, "values.schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
try:
    jsonschema.Draft7Validator.check_schema(schema)
    check("values.schema.json is a valid draft-07 schema", True)
except jsonschema.exceptions.SchemaError as e:
    check("values.schema.json is a valid draft-07 schema", False, e.message)
validator = jsonschema.Draft7Validator(schema)


def errors_of(v):
    return "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(v))


check("values.yaml passes values.schema.json", not errors_of(values), errors_of(values))
ci_files = sorted(glob.glob(os.path.join(chart, "ci", "*.yaml")))
check("there are ci/*.yaml values files", len(ci_files) >= 2)
for path in ci_files:
    merged = merge(values, docs[path])
    check(f"{rel(path)} (over values.yaml) passes values.schema.json", not errors_of(merged),
          errors_of(merged))
example_values = docs[os.path.join(example, "values.yaml")].get("keygate", {})
merged = merge(values, example_values)
check("the example chart's keygate values pass values.schema.json", not errors_of(merged),
      errors_of(merged))
check("the example chart runs keygate as a sidecar", example_values.get("mode") == "sidecar")

BAD = [
    ("an unknown mode", {"mode": "daemonset"}),
    ("a typo'd top-level value", {"replicas": 3}),
    ("an unknown keys.source", {"keys": {"source": "file"}}),
    ("existingSecret without a name", {"keys": {"source": "existingSecret"}}),
    ("existingConfigMap without a name", {"keys": {"source": "existingConfigMap", "existingConfigMap": ""}}),
    ("a blank key file", {"keys": {"content": "  \n"}}),
    ("a relative mountPath", {"keys": {"mountPath": "etc/keygate"}}),
    ("port 0", {"port": 0}),
    ("a port as a string", {"port": "8090"}),
    ("a bad grace period", {"gracePeriod": "5 minutes"}),
    ("a bad shutdown delay", {"shutdownDelay": "5"}),
    ("a relative unix socket directory", {"sidecar": {"unixSocket": {"enabled": True, "mountPath": "run/keygate"}}}),
    ("an empty shutdown delay", {"shutdownDelay": ""}),
    ("a bad log level", {"log": {"level": "verbose"}}),
    ("a relative audit log path", {"auditLog": "audit.log"}),
    ("a sidecar listening on a pod IP", {"sidecar": {"listenHost": "10.0.0.5"}}),
    ("a trusted proxy list with a hostname", {"trustedProxies": "ingress.local"}),
    ("terminationGracePeriodSeconds below keygate's 10 s", {"terminationGracePeriodSeconds": 5}),
    ("a Traefik key header that is not a header name", {"traefikMiddleware": {"keyHeader": "X API Key"}}),
    ("an extra volume without a name", {"extraVolumes": [{"emptyDir": {}}]}),
    ("an extra volume mount at a relative path", {"extraVolumeMounts": [{"name": "x", "mountPath": "x"}]}),
    ("an extra volume mount without a mountPath", {"extraVolumeMounts": [{"name": "x"}]}),
    ("a metrics port as a string", {"metrics": {"port": "9100"}}),
    ("a gRPC port as a string", {"grpc": {"port": "9191"}}),
    ("a gRPC port 0", {"grpc": {"port": 0}}),
    ("a typo'd gRPC value", {"grpc": {"enable": True}}),
    ("grpc.enabled as a string", {"grpc": {"enabled": "true"}}),
    ("a metrics port above 65535", {"metrics": {"port": 70000}}),
    ("a typo'd PrometheusRule value", {"metrics": {"prometheusRule": {"enable": True}}}),
    ("a Grafana dashboard label that is not a string", {"metrics": {"grafanaDashboard": {"labels": {"grafana_dashboard": 1}}}}),
    ("a startup probe with period 0", {"probes": {"startup": {"periodSeconds": 0}}}),
]
for description, override in BAD:
    check(f"values.schema.json rejects {description}", bool(errors_of(merge(values, override))))

# --- security defaults -------------------------------------------------------------------
sc = values.get("securityContext", {})
psc = values.get("podSecurityContext", {})
check("securityContext: non-root, read-only root, no privilege escalation, drop ALL",
      sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True
      and sc.get("allowPrivilegeEscalation") is False
      and "ALL" in sc.get("capabilities", {}).get("drop", []), sc)
check("podSecurityContext: non-root uid 65532 with RuntimeDefault seccomp",
      psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532
      and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", psc)
check("resources: requests and a memory limit",
      values.get("resources", {}).get("requests") and values["resources"].get("limits", {}).get("memory"))
check("audit log to stdout by default", values.get("auditLog") == "stdout")
check("the service account token is not mounted", values.get("automountServiceAccountToken") is False)

# --- templates: actions and blocks -------------------------------------------------------
ACTION = re.compile(r"\{\{")


def actions(text):
    """The text of every {{ }} action (strings, raw strings and comments skipped when looking
    for the closing braces), or raises ValueError at an unclosed one."""
    out = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            return out
        i = start + 2
        while True:
            if i >= len(text):
                line = text.count("\n", 0, start) + 1
                raise ValueError(f"unclosed '{{{{' at line {line}")
            c = text[i]
            if text.startswith("/*", i):
                end = text.find("*/", i + 2)
                if end < 0:
                    raise ValueError("unclosed comment")
                i = end + 2
            elif c == '"':
                i += 1
                while i < len(text) and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                i += 1
            elif c == "`":
                end = text.find("`", i + 1)
                if end < 0:
                    raise ValueError("unclosed raw string")
                i = end + 1
            elif text.startswith("}}", i):
                out.append((text.count("\n", 0, start) + 1, text[start + 2:i]))
                pos = i + 2
                break
            else:
                i += 1


def block_problems(text):
    problems = []
    stack = []
    try:
        acts = actions(text)
    except ValueError as e:
        return [str(e)]
    stray = text
    for line, body in acts:
        word = body.strip().lstrip("-").strip()
        if word.startswith("/*"):
            continue
        keyword = re.match(r"(if|range|with|define|block|else|end)\b", word)
        if not keyword:
            continue
        k = keyword.group(1)
        if k in ("if", "range", "with", "define", "block"):
            stack.append((k, line))
        elif k == "else":
            if not stack or stack[-1][0] not in ("if", "range", "with"):
                problems.append(f"line {line}: else outside if/range/with")
        elif k == "end":
            if not stack:
                problems.append(f"line {line}: end without a block")
            else:
                stack.pop()
    for k, line in stack:
        problems.append(f"line {line}: '{k}' never ended")
    # Closing braces with no opening ones ("}}" left over once every action is removed).
    for _, body in acts:
        stray = stray.replace("{{" + body + "}}", "", 1)
    if "}}" in stray:
        line = stray[:stray.index("}}")].count("\n") + 1
        problems.append(f"a '}}}}' with no '{{{{' (near line {line} of the text without actions)")
    return problems


templates = sorted(glob.glob(os.path.join(chart, "templates", "*")))
templates += sorted(glob.glob(os.path.join(example, "templates", "*")))
check("the chart has its templates", len(templates) >= 8, templates)
texts = {}
for path in templates:
    with open(path, encoding="utf-8") as f:
        texts[path] = f.read()
    problems = block_problems(texts[path])
    check(f"{rel(path)}: actions closed, blocks balanced", not problems, "\n".join(problems))

defined = set()
for path, text in texts.items():
    for _, body in actions(text):
        m = re.match(r'\s*-?\s*define\s+"([^"]+)"', body)
        if m:
            defined.add(m.group(1))
included = {}
for path, text in texts.items():
    for m in re.finditer(r'(?:include|template)\s+"([^"]+)"', text):
        included.setdefault(m.group(1), rel(path))
undefined = {name: where for name, where in included.items() if name not in defined}
check("every included template is defined", not undefined, undefined)
check("keygate.sidecar and keygate.sidecarVolumes are defined",
      {"keygate.sidecar", "keygate.sidecarVolumes"} <= defined)


def has_path(tree, dotted):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# .Values.a.b in any template, and $v.a.b (the container template's alias of the values).
missing = []
for path, text in texts.items():
    in_example = path.startswith(example)
    tree = docs[os.path.join(example, "values.yaml")] if in_example else values
    # .Values.x, .ctx.Values.x, $ctx.Values.x; not $in.Values.x (a parent chart's values).
    # Only inside actions, without their comments and string literals.
    code = " ".join(re.sub(r'/\*.*?\*/|"(?:[^"\\]|\\.)*"|`[^`]*`', " ", body, flags=re.S)
                    for _, body in actions(text))
    refs = re.findall(r"(?:(?<![\w$])|(?<=\.ctx)|(?<=\$ctx))\.Values\.([A-Za-z_][A-Za-z0-9_.]*)", code)
    refs += [] if in_example else re.findall(r"\$v\.([A-Za-z_][A-Za-z0-9_.]*)", code)
    for ref in refs:
        ref = ref.rstrip(".")
        if in_example and ref.startswith("keygate."):
            ok = has_path(values, ref[len("keygate."):]) or has_path(tree, ref)
        else:
            ok = has_path(tree, ref)
        if not ok:
            missing.append(f"{rel(path)}: .Values.{ref}")
check("every .Values path a template reads exists in values.yaml", not missing,
      "\n".join(sorted(set(missing))))

# --- no subPath ----------------------------------------------------------------------------
offenders = []
for root in (chart, example, os.path.join(source, "examples", "kubernetes")):
    for path in glob.glob(os.path.join(root, "**", "*"), recursive=True):
        if os.path.isfile(path) and not path.endswith(".md"):
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    code = re.sub(r"(^|\s)#.*$", "", line)  # comments may explain why not
                    if re.search(r"\bsubPath(Expr)?\s*:", code):
                        offenders.append(f"{rel(path)}:{n}: {line.strip()}")
check("no subPath mount anywhere in the chart or the Kubernetes examples", not offenders,
      "\n".join(sorted(set(offenders))))

# --- what the container template promises ------------------------------------------------
helpers = texts[os.path.join(chart, "templates", "_helpers.tpl")]
for description, needle in [
    ("runs only 'serve' (flags would win over the environment)", 'args: ["serve"]'),
    ("sets KEYGATE_CONFIG", "name: KEYGATE_CONFIG"),
    ("sets KEYGATE_LISTEN", "name: KEYGATE_LISTEN"),
    ("sets KEYGATE_AUDIT_LOG", "name: KEYGATE_AUDIT_LOG"),
    ("sets KEYGATE_SHUTDOWN_DELAY", "name: KEYGATE_SHUTDOWN_DELAY"),
    ("can set KEYGATE_TRUSTED_PROXIES", "name: KEYGATE_TRUSTED_PROXIES"),
    ("can set KEYGATE_STATE_DIR", "name: KEYGATE_STATE_DIR"),
    ("can take API_KEY_ADMIN from a Secret", "name: API_KEY_ADMIN"),
    ("can take KEYGATE_HASH_PEPPER from a Secret", "name: KEYGATE_HASH_PEPPER"),
    ("startup, liveness and readiness probes", 'list "startup" "liveness" "readiness"'),
    ("liveness on /healthz, startup and readiness on /readyz", 'ternary "/healthz" "/readyz" (eq $kind "liveness")'),
    ("httpGet probes on the keygate port", "httpGet:\n    path: {{ $path }}\n    port: keygate"),
    ("exec probes with `keygate probe` (no shell in the image needed)", 'list "keygate" "probe" "--url"'),
    ("can move /metrics to metrics.port (KEYGATE_ADMIN_LISTEN)", "name: KEYGATE_ADMIN_LISTEN"),
    ("adds extraVolumeMounts", "$v.extraVolumeMounts"),
    ("adds extraVolumes", ".Values.extraVolumes"),
    ("listens on 0.0.0.0 standalone", '"0.0.0.0"'),
    ("mounts the key directory read-only", "readOnly: true"),
    ("the state dir is an emptyDir", "emptyDir:"),
    ("can listen on a Unix socket (sidecar.unixSocket)", 'printf "unix:%s"'),
    ("shares the socket in the emptyDir keygate-socket", "- name: keygate-socket"),
    ("probes over the Unix socket by exec (httpGet cannot)", 'printf "unix:%s:%s"'),
]:
    check(f"container template {description}", needle in helpers)
for path, text in texts.items():
    check(f"{rel(path)}: no preStop hook (the drain is KEYGATE_SHUTDOWN_DELAY)", "preStop" not in text)
    code = "".join(body for _, body in actions(text))
    check(f"{rel(path)}: no shell in any command", '"bash"' not in code and '"sh"' not in code)
check("values.yaml: a 5s shutdown delay by default", values.get("shutdownDelay") == "5s")
check("values.yaml: terminationGracePeriodSeconds above shutdownDelay + 10 s",
      values.get("terminationGracePeriodSeconds", 0) > 5 + 10)
check("values.yaml: the sidecar listens on 127.0.0.1 by default",
      values.get("sidecar", {}).get("listenHost") == "127.0.0.1")
deployment = texts[os.path.join(chart, "templates", "deployment.yaml")]
check("the Deployment has prometheus.io annotations",
      all(a in deployment for a in ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path")))
check("no checksum annotation restarts pods on a key change", "checksum/" not in deployment)
for name in ("servicemonitor.yaml", "networkpolicy.yaml", "service.yaml", "configmap.yaml",
             "secret.yaml", "traefik-middleware.yaml", "prometheusrule.yaml", "grafana-dashboard.yaml"):
    check(f"templates/{name} exists", os.path.join(chart, "templates", name) in texts)
middleware = texts.get(os.path.join(chart, "templates", "traefik-middleware.yaml"), "")
for header in ("X-Auth-Key-Id", "X-Auth-Tenant", "X-Auth-Role", "X-Auth-Permissions",
               "X-Auth-Datasets", "X-Auth-Datasets-Denied", "X-Auth-RLS", "X-Auth-Key-Grace-Until"):
    check(f"the Traefik Middleware copies {header}", f"- {header}\n" in middleware)



# The Middleware as helm would render it (release "kg" in namespace "data", values.yaml with
# traefikMiddleware.enabled and a renamed key header). Only the actions this template uses
# are known; any other one fails the check, so a changed template is rendered or refused,
# never guessed.
def render_middleware(text, vals, release="kg", namespace="data"):
    fullname = f"{release}-keygate"
    tm = vals.get("traefikMiddleware", {})
    unknown = []

    def action(m):
        body = m.group(1).strip().strip("-").strip()
        if re.fullmatch(r'if and \(eq \.Values\.mode "standalone"\) \.Values\.traefikMiddleware\.enabled', body):
            return "" if vals.get("mode") == "standalone" and tm.get("enabled") else "\0SKIP"
        if body == "end":
            return ""
        if body == 'default (include "keygate.fullname" .) .Values.traefikMiddleware.name':
            return tm.get("name") or fullname
        if body == ".Release.Namespace":
            return namespace
        if body == 'include "keygate.labels" . | nindent 4':
            return "\n    app.kubernetes.io/name: keygate"
        if body == ".Values.traefikMiddleware.keyHeader | quote":
            return json.dumps(str(tm.get("keyHeader")))
        pm = re.fullmatch(r'printf "([^"]*)" \(include "keygate\.fullname" \.\) \.Release\.Namespace '
                          r'\(int \.Values\.service\.port\) \| quote', body)
        if pm:
            return json.dumps(pm.group(1) % (fullname, namespace, int(vals["service"]["port"])))
        unknown.append(body)
        return ""

    out = re.sub(r"\{\{(.*?)\}\}", action, text, flags=re.S)
    if "\0SKIP" in out:
        return None, unknown
    return out, unknown


middleware_values = merge(values, {"traefikMiddleware": {"enabled": True, "keyHeader": "X-Data-Key"}})
rendered, unknown = render_middleware(middleware, middleware_values)
check("the Traefik Middleware template uses only actions the test can render", not unknown, unknown)
try:
    mw = yaml.safe_load(rendered) if rendered else {}
    check("the rendered Traefik Middleware parses", isinstance(mw, dict) and mw.get("kind") == "Middleware", rendered)
except yaml.YAMLError as e:
    mw = {}
    check("the rendered Traefik Middleware parses", False, f"{e}\n{rendered}")
fa = (mw or {}).get("spec", {}).get("forwardAuth", {})
check("the rendered Middleware asks the release's Service at /auth/forward",
      fa.get("address") == "http://kg-keygate.data.svc:8090/auth/forward", fa.get("address"))
check("the rendered Middleware does not trust the client's X-Forwarded-*", fa.get("trustForwardHeader") is False)
request_headers = [str(h).lower() for h in (fa.get("authRequestHeaders") or [])]
check("the rendered Middleware has authRequestHeaders (else every client header reaches keygate)",
      bool(request_headers), fa)
check("the rendered Middleware lets no X-Original-* through",
      not [h for h in request_headers if h.startswith("x-original-")], request_headers)
check("the rendered Middleware passes exactly the headers keygate needs, with traefikMiddleware.keyHeader",
      sorted(request_headers) == sorted(h.lower() for h in [
          "X-Data-Key", "Authorization", "X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-For",
          "X-Real-Ip", "X-Dataset", "User-Agent", "X-Request-Id", "traceparent", "Content-Type"]),
      request_headers)
check("the rendered Middleware copies exactly the eight X-Auth-* headers",
      fa.get("authResponseHeaders") == ["X-Auth-Key-Id", "X-Auth-Tenant", "X-Auth-Role",
                                        "X-Auth-Permissions", "X-Auth-Datasets", "X-Auth-Datasets-Denied",
                                        "X-Auth-RLS", "X-Auth-Key-Grace-Until"], fa.get("authResponseHeaders"))
check("values.yaml: the Middleware's key header defaults to X-API-Key",
      values.get("traefikMiddleware", {}).get("keyHeader") == "X-API-Key")
disabled, _ = render_middleware(middleware, values)
check("no Middleware unless traefikMiddleware.enabled", disabled is None)

readme = open(os.path.join(chart, "README.md"), encoding="utf-8").read()
check("README.md explains why subPath never updates", "subPath" in readme and "..data" in readme)
check("README.md shows helm lint and helm template", "helm lint" in readme and "helm template" in readme)
check("README.md shows the sidecar include", 'include "keygate.sidecar"' in readme)

print(f"COUNTS {passed} {failed}")
PYTHON
grep -v '^COUNTS ' "$E2E_TMP/static.out"
counts=$(grep '^COUNTS ' "$E2E_TMP/static.out" | tail -n 1)
if [[ $counts =~ ^COUNTS\ ([0-9]+)\ ([0-9]+)$ ]]; then
    E2E_PASSED=$((E2E_PASSED + BASH_REMATCH[1]))
    E2E_FAILED=$((E2E_FAILED + BASH_REMATCH[2]))
else
    e2e_die "the static checks did not finish"
fi

e2e_finish
