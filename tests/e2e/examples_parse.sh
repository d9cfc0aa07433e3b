#!/usr/bin/env bash
# The proxy, Kubernetes and GitOps examples parse and say what the docs promise. Neither
# Traefik nor Envoy is a Debian package, so their configurations are checked as data:
#   - every YAML file under examples/ (but nginx, another format) parses, and so do
#     .pre-commit-hooks.yaml and examples/gitops/gitleaks.toml (TOML);
#   - Traefik (file provider and Kubernetes CRD): ForwardAuth to keygate's /auth/forward,
#     passing keygate exactly the request headers it needs (authRequestHeaders: never
#     X-Original-*), copying exactly the eight X-Auth-* headers of an allowed answer,
#     trustForwardHeader off;
#   - Envoy: ext_authz HTTP service with path_prefix /auth/envoy, the key headers allowed,
#     the X-Auth-* headers passed upstream and removed from client requests before the
#     check, the error and rate-limit headers passed to the client, failing closed;
#   - ingress-nginx: auth-url on /auth/nginx, auth-method GET, the X-Auth-* headers;
#   - the Python query-service example compiles and imports nothing outside the standard
#     library.
# examples_proxies.sh checks the same header lists against a running keygate.
#
# Usage: bash examples_parse.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs python3 with PyYAML (Debian: python3-yaml). Prints "N passed, N failed" last.
set -uo pipefail

if (($# != 2)); then
    echo "usage: $0 PATH_TO_KEYGATE SOURCE_DIR" >&2
    exit 2
fi
SOURCE_DIR=$2

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import yaml' 2>/dev/null; then
    echo "FATAL: python3 with the 'yaml' module is required (Debian: apt-get install python3-yaml)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

exec python3 - "$SOURCE_DIR" <<'PYTHON'
import ast
import glob
import os
import re
import sys
import tomllib

import yaml

source = sys.argv[1]
examples = os.path.join(source, "examples")
passed = failed = 0

AUTH_HEADERS = ["X-Auth-Key-Id", "X-Auth-Tenant", "X-Auth-Role", "X-Auth-Permissions",
                "X-Auth-Datasets", "X-Auth-Datasets-Denied", "X-Auth-RLS",
                "X-Auth-Key-Grace-Until"]
# What keygate reads from a ForwardAuth request: the key (X-API-Key or Bearer), the method
# and URI Traefik sets, the client address, the dataset, and what the audit log records.
TRAEFIK_REQUEST_HEADERS = ["X-API-Key", "Authorization", "X-Forwarded-Method", "X-Forwarded-Uri",
                           "X-Forwarded-For", "X-Real-Ip", "X-Dataset", "User-Agent",
                           "X-Request-Id", "traceparent", "Content-Type"]


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


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# --- everything parses ---------------------------------------------------------------------
parsed = {}
yaml_files = [p for p in glob.glob(os.path.join(examples, "**", "*.y*ml"), recursive=True)
              if os.sep + "templates" + os.sep not in p  # Helm templates are not YAML yet
              and not p.startswith(os.path.join(examples, "nginx") + os.sep)]
yaml_files.append(os.path.join(source, ".pre-commit-hooks.yaml"))
check("there are YAML examples", len(yaml_files) >= 8, yaml_files)
for path in sorted(yaml_files):
    try:
        parsed[path] = load_all(path)
        check(f"{rel(path)} parses", bool(parsed[path]))
    except (OSError, yaml.YAMLError) as e:
        check(f"{rel(path)} parses", False, e)
        parsed[path] = []


def doc(*parts, index=0):
    docs = parsed.get(os.path.join(examples, *parts)) or [{}]
    return docs[index] if index < len(docs) else {}


# --- Traefik ---------------------------------------------------------------------------------
def check_forward_auth(where, fa, address):
    check(f"{where}: ForwardAuth to {address}", fa.get("address") == address, fa.get("address"))
    check(f"{where}: ForwardAuth asks /auth/forward (X-Forwarded-Method/-Uri only)",
          str(fa.get("address", "")).endswith("/auth/forward"), fa.get("address"))
    request_headers = fa.get("authRequestHeaders")
    check(f"{where}: authRequestHeaders is set (else every client header reaches keygate)",
          isinstance(request_headers, list) and bool(request_headers), request_headers)
    names = [str(h).lower() for h in (request_headers or [])]
    leaked = [h for h in names if h.startswith("x-original-") or h.startswith("x-auth-")]
    check(f"{where}: authRequestHeaders lets no X-Original-* (or X-Auth-*) through", not leaked, leaked)
    check(f"{where}: authRequestHeaders are exactly the headers keygate needs",
          sorted(names) == sorted(h.lower() for h in TRAEFIK_REQUEST_HEADERS)
          and len(set(names)) == len(names), request_headers)
    check(f"{where}: copies exactly the eight X-Auth-* headers",
          fa.get("authResponseHeaders") == AUTH_HEADERS, fa.get("authResponseHeaders"))
    check(f"{where}: does not trust the client's X-Forwarded-* headers",
          fa.get("trustForwardHeader") is False)


dynamic = doc("traefik", "dynamic.yml")
http = dynamic.get("http", {})
check_forward_auth("traefik/dynamic.yml", http.get("middlewares", {}).get("keygate", {}).get("forwardAuth", {}),
                   "http://keygate:8090/auth/forward")
routers = http.get("routers", {})
check("traefik/dynamic.yml: every router uses the keygate middleware",
      routers and all("keygate" in r.get("middlewares", []) for r in routers.values()), routers)
static = doc("traefik", "traefik.yml")
check("traefik/traefik.yml: reads the file provider",
      static.get("providers", {}).get("file", {}).get("filename", "").endswith("dynamic.yml"))
# Every container path the comments name is one Traefik reads: the --configFile or the file
# provider's filename, and each maps (through the documented mount) to a file of the example.
static_text = open(os.path.join(examples, "traefik", "traefik.yml"), encoding="utf-8").read()
comments = "\n".join(l.split("#", 1)[1] for l in static_text.splitlines() if "#" in l)
mount = re.search(r'-v "\$PWD/examples/traefik:(/[^:"]+)(:ro)?"', comments)
config_file = re.search(r"--configFile=(\S+)", comments)
named = set(re.findall(r"(/etc/traefik/[\w.-]+)", comments))
read_paths = {static.get("providers", {}).get("file", {}).get("filename", "")}
read_paths.add(config_file.group(1) if config_file else "")
check("traefik/traefik.yml: the comments mount the example directory and name its --configFile",
      mount is not None and config_file is not None and config_file.group(1).startswith(mount.group(1) + "/"))
check("traefik/traefik.yml: every file the comments name is one Traefik reads",
      named and named <= read_paths, f"named {sorted(named)}, read {sorted(read_paths)}")
check("traefik/traefik.yml: and each is a file of examples/traefik behind that mount",
      mount is not None and all(os.path.isfile(os.path.join(examples, "traefik", p[len(mount.group(1)) + 1:]))
                                for p in read_paths if p.startswith(mount.group(1) + "/")))
crds = parsed.get(os.path.join(examples, "traefik", "kubernetes", "middleware.yaml"), [])
middleware = next((d for d in crds if d.get("kind") == "Middleware"), {})
check("traefik/kubernetes: a traefik.io/v1alpha1 Middleware",
      middleware.get("apiVersion") == "traefik.io/v1alpha1")
check_forward_auth("traefik/kubernetes/middleware.yaml", middleware.get("spec", {}).get("forwardAuth", {}),
                   "http://keygate.data.svc.cluster.local:8090/auth/forward")
# Any other ForwardAuth in the examples (a new file, a second middleware) follows the same rules.
def forward_auths(node, trail=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "forwardAuth" and isinstance(v, dict):
                yield trail, v
            else:
                yield from forward_auths(v, f"{trail}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from forward_auths(v, f"{trail}[{i}]")


found = [(rel(path), trail, fa) for path, ds in sorted(parsed.items()) for d in ds
         for trail, fa in forward_auths(d)]
check("the examples hold the two ForwardAuth middlewares checked above", len(found) >= 2, found)
for where, trail, fa in found:
    names = [str(h).lower() for h in (fa.get("authRequestHeaders") or [])]
    check(f"{where}{trail}: asks /auth/forward, with authRequestHeaders and no X-Original-*",
          str(fa.get("address", "")).endswith("/auth/forward") and bool(names)
          and not any(h.startswith("x-original-") for h in names), fa)

route = next((d for d in crds if d.get("kind") == "IngressRoute"), {})
check("traefik/kubernetes: the IngressRoute uses the Middleware",
      any(m.get("name") == "keygate" for r in route.get("spec", {}).get("routes", [])
          for m in r.get("middlewares", [])))

# --- Envoy -----------------------------------------------------------------------------------
envoy = doc("envoy", "envoy.yaml")
listeners = envoy.get("static_resources", {}).get("listeners", [])
hcm = {}
for listener in listeners:
    for chain in listener.get("filter_chains", []):
        for f in chain.get("filters", []):
            if f.get("name") == "envoy.filters.network.http_connection_manager":
                hcm = f.get("typed_config", {})
filters = hcm.get("http_filters", [])
names = [f.get("name") for f in filters]
check("envoy: header_mutation, then ext_authz, then the router",
      names == ["envoy.filters.http.header_mutation", "envoy.filters.http.ext_authz",
                "envoy.filters.http.router"], names)
ext = next((f.get("typed_config", {}) for f in filters if f.get("name") == "envoy.filters.http.ext_authz"), {})
service = ext.get("http_service", {})
check("envoy: ext_authz HTTP service with path_prefix /auth/envoy",
      service.get("path_prefix") == "/auth/envoy")
check("envoy: ext_authz asks the keygate cluster",
      service.get("server_uri", {}).get("cluster") == "keygate"
      and any(c.get("name") == "keygate" for c in envoy.get("static_resources", {}).get("clusters", [])))
check("envoy: fails closed", ext.get("failure_mode_allow") is False)


def exact_names(matcher):
    return {p.get("exact", "").lower() for p in (matcher or {}).get("patterns", []) if "exact" in p}


def prefixes(matcher):
    return {p.get("prefix", "").lower() for p in (matcher or {}).get("patterns", []) if "prefix" in p}


allowed = exact_names(ext.get("allowed_headers"))
for header in ("x-api-key", "authorization", "x-dataset", "x-forwarded-for"):
    check(f"envoy: allowed_headers sends {header} to keygate", header in allowed, sorted(allowed))
response = service.get("authorization_response", {})
upstream = exact_names(response.get("allowed_upstream_headers"))
check("envoy: allowed_upstream_headers pass exactly the eight X-Auth-* headers",
      upstream == {h.lower() for h in AUTH_HEADERS}, sorted(upstream))
client = exact_names(response.get("allowed_client_headers"))
for header in ("www-authenticate", "retry-after", "x-auth-error-code", "x-auth-error-detail",
               "ratelimit", "ratelimit-policy", "content-type"):
    check(f"envoy: allowed_client_headers pass {header} on a denial", header in client, sorted(client))
check("envoy: X-RateLimit-* reach the client on a denial",
      "x-ratelimit-" in prefixes(response.get("allowed_client_headers")))
on_success = exact_names(response.get("allowed_client_headers_on_success"))
check("envoy: Sunset and RateLimit reach the client on success",
      {"sunset", "ratelimit", "ratelimit-policy"} <= on_success, sorted(on_success))
mutation = next((f.get("typed_config", {}) for f in filters
                 if f.get("name") == "envoy.filters.http.header_mutation"), {})
removed = {m.get("remove", "").lower() for m in mutation.get("mutations", {}).get("request_mutations", [])}
check("envoy: client X-Auth-* headers are removed before the check",
      removed == {h.lower() for h in AUTH_HEADERS}, sorted(removed))
check("envoy: headers with underscores are refused",
      hcm.get("common_http_protocol_options", {}).get("headers_with_underscores_action") == "REJECT_REQUEST")

# --- ingress-nginx ---------------------------------------------------------------------------
ingress = doc("kubernetes", "ingress-nginx.yaml")
annotations = ingress.get("metadata", {}).get("annotations", {})
check("ingress-nginx: auth-url is keygate's /auth/nginx",
      annotations.get("nginx.ingress.kubernetes.io/auth-url", "").endswith(":8090/auth/nginx"))
check("ingress-nginx: auth-method GET (so X-Original-URI is sent)",
      annotations.get("nginx.ingress.kubernetes.io/auth-method") == "GET")
check("ingress-nginx: auth-response-headers are the eight X-Auth-* headers",
      annotations.get("nginx.ingress.kubernetes.io/auth-response-headers", "").split(",") == AUTH_HEADERS)

# --- GitOps ----------------------------------------------------------------------------------
with open(os.path.join(examples, "gitops", "gitleaks.toml"), "rb") as f:
    try:
        gitleaks = tomllib.load(f)
        check("gitops/gitleaks.toml parses", True)
    except tomllib.TOMLDecodeError as e:
        gitleaks = {}
        check("gitops/gitleaks.toml parses", False, e)
rule = next((r for r in gitleaks.get("rules", []) if r.get("id") == "keygate-api-key"), {})
check("gitops/gitleaks.toml has the keygate-api-key rule with a regex", bool(rule.get("regex")))
hooks = parsed.get(os.path.join(source, ".pre-commit-hooks.yaml"), [[]])[0]
hook = next((h for h in hooks if h.get("id") == "keygate-validate"), {})
check(".pre-commit-hooks.yaml defines keygate-validate running validate --strict",
      "keygate validate --strict" in hook.get("entry", "") and hook.get("language") == "system")
workflow = doc("gitops", "github-actions.yml")
steps = [s for job in workflow.get("jobs", {}).values() for s in job.get("steps", [])]
check("gitops/github-actions.yml runs keygate validate --strict",
      any("keygate validate --strict" in s.get("run", "") for s in steps))
check("gitops/github-actions.yml builds keygate without its tests",
      any("-DKEYGATE_BUILD_TESTS=OFF" in s.get("run", "") for s in steps))

# --- the Python example ----------------------------------------------------------------------
STDLIB = set(sys.stdlib_module_names) | {"keygate_client", "__future__"}
for path in sorted(glob.glob(os.path.join(examples, "query-service", "*.py"))):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        tree = ast.parse(text, path)
        compile(tree, path, "exec")
        check(f"{rel(path)} compiles", True)
    except SyntaxError as e:
        check(f"{rel(path)} compiles", False, e)
        continue
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    check(f"{rel(path)} uses the standard library only", imported <= STDLIB,
          sorted(imported - STDLIB))

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
PYTHON
