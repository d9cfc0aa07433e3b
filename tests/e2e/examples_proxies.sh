#!/usr/bin/env bash
# The Traefik, Envoy and ingress-nginx examples fit what keygate really answers. The
# proxies are not Debian packages, so this test plays their part with curl, sending what
# each one sends, and compares keygate's answers with the header lists of the examples:
#   - Traefik ForwardAuth (the example's address, /auth/forward, with the client headers its
#     authRequestHeaders let through, then X-Forwarded-Method/-Uri, X-Real-Ip as Traefik
#     sets them): the decision uses them, a client's X-Original-* changes nothing (filtered
#     out, and not read by /auth/forward even when sent), and every X-Auth-* header of an
#     allowed answer is in authResponseHeaders (and every listed header occurs in some
#     answer);
#   - Envoy ext_authz (/auth/envoy/<path>, the original method): every X-Auth-* header of an
#     allowed answer passes allowed_upstream_headers, its rate-limit headers and Sunset pass
#     allowed_client_headers_on_success, and every header of a denial (401, 403, 429) that
#     is not about the connection passes allowed_client_headers;
#   - ingress-nginx (/auth/nginx, GET with X-Original-Method/-URI): only 200/401/403, and the
#     auth-response-headers cover the allowed answer's X-Auth-* headers.
#
# Usage: bash examples_proxies.sh PATH_TO_KEYGATE SOURCE_DIR
# Needs curl and python3 with PyYAML. Prints "N passed, N failed" last.
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_args "$@"

e2e_require_commands curl python3
python3 -c 'import yaml' 2>/dev/null ||
    e2e_die "python3 module 'yaml' is required (Debian: apt-get install python3-yaml)"
[[ -x $KEYGATE_BIN ]] || e2e_die "keygate binary '$KEYGATE_BIN' not found or not executable"
e2e_init

# --- the examples' header lists, one lower-case name (or "prefix*") per line ---------------
python3 - "$SOURCE_DIR" "$E2E_TMP" <<'PYTHON' || e2e_die "cannot read the examples"
import os, sys, yaml
source, out = sys.argv[1], sys.argv[2]
ex = os.path.join(source, "examples")

def write(name, names):
    with open(os.path.join(out, name), "w") as f:
        f.write("".join(n.lower() + "\n" for n in names))

traefik = yaml.safe_load(open(os.path.join(ex, "traefik", "dynamic.yml")))
forward_auth = traefik["http"]["middlewares"]["keygate"]["forwardAuth"]
write("traefik.list", forward_auth["authResponseHeaders"])
write("traefik-request.list", forward_auth.get("authRequestHeaders") or [])
from urllib.parse import urlsplit
with open(os.path.join(out, "traefik.endpoint"), "w") as f:
    f.write(urlsplit(forward_auth["address"]).path)

envoy = yaml.safe_load(open(os.path.join(ex, "envoy", "envoy.yaml")))
hcm = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
ext = next(f["typed_config"] for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.ext_authz")
response = ext["http_service"]["authorization_response"]

def patterns(matcher):
    return [p["exact"] if "exact" in p else p["prefix"] + "*" for p in matcher["patterns"]]

write("envoy-upstream.list", patterns(response["allowed_upstream_headers"]))
write("envoy-client.list", patterns(response["allowed_client_headers"]))
write("envoy-client-success.list", patterns(response["allowed_client_headers_on_success"]))

ingress = yaml.safe_load(open(os.path.join(ex, "kubernetes", "ingress-nginx.yaml")))
write("ingress.list", ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-response-headers"].split(","))
PYTHON

# True if header NAME is matched by LIST (exact names and "prefix*" lines, any case).
covered() {
    local name=${1,,} pattern
    while IFS= read -r pattern; do
        [[ -n $pattern ]] || continue
        if [[ $pattern == *'*' ]]; then
            [[ $name == "${pattern%\*}"* ]] && return 0
        else
            [[ $name == "$pattern" ]] && return 0
        fi
    done <"$E2E_TMP/$2"
    return 1
}

# The header names of the last response, lower-case, one per line.
response_header_names() {
    tr -d '\r' <"$E2E_TMP/last.headers" | sed -n 's/^\([A-Za-z0-9-]*\):.*/\1/p' | tr '[:upper:]' '[:lower:]' | sort -u
}

# Headers about the connection or the message framing, which every proxy handles itself.
transport_header() {
    case $1 in
    content-length | keep-alive | connection | date | transfer-encoding) return 0 ;;
    esac
    return 1
}

# Checks that every header of the last response passes LIST (except transport headers, and
# only those matching FILTER when one is given, e.g. "x-auth-*").
expect_headers_covered() { # DESCRIPTION LIST [FILTER]
    local description=$1 list=$2 filter=${3:-*} name missing=()
    while IFS= read -r name; do
        transport_header "$name" && continue
        # shellcheck disable=SC2053 # the filter is a glob
        [[ $name == $filter ]] || continue
        covered "$name" "$list" || missing+=("$name")
    done < <(response_header_names)
    e2e_expect_eq "$description" "" "${missing[*]}"
}

# --- the Traefik example's comments name the files it reads ------------------------------------
# traefik.yml says where to mount examples/traefik and which file its file provider reads:
# every /etc/traefik/ path its comments name must be a file of examples/traefik, and the
# provider must read one of them.
e2e_check "traefik.yml: the paths its comments name exist and the provider reads one" \
    python3 - "$SOURCE_DIR/examples/traefik" <<'PYTHON'
import os, re, sys, yaml
ex = sys.argv[1]
text = open(os.path.join(ex, "traefik.yml")).read()
comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
named = set(re.findall(r"/etc/traefik/([A-Za-z0-9_./-]+\.ya?ml)", comments))
assert named, "no path named"
for name in named:
    assert os.path.isfile(os.path.join(ex, name)), name
provider = yaml.safe_load(text)["providers"]["file"]["filename"]
assert provider.startswith("/etc/traefik/"), provider
assert provider[len("/etc/traefik/"):] in named, (provider, named)
PYTHON

# --- keygate with test keys (obviously fake) ---------------------------------------------
KEY_VIEWER=pk_acme_corp_exampleTestVIEWER00000000000001
KEY_ROTATED=pk_acme_corp_exampleTestROTATED0000000000002
KEY_OLD=pk_acme_corp_exampleTestOLDSECRET000000000003
KEY_LIMITED=pk_acme_corp_exampleTestLIMITED0000000000004
KEY_OFFICE=pk_acme_corp_exampleTestOFFICE00000000000005
KEY_ADMIN=pk_ops_exampleTestADMIN0006
old_hash=$(printf '%s' "$KEY_OLD" | "$KEYGATE_BIN" hash) || e2e_die "keygate hash failed"

cat >"$E2E_TMP/keys.yaml" <<EOF
version: 1
tenants:
  acme_corp: {allowed_datasets: [orders, customers, "sales_*"], denied_datasets: [orders_raw]}
api_keys:
  - {id: ex-viewer, key: "$KEY_VIEWER", tenant: acme_corp, role: viewer, denied_datasets: [customers]}
  - id: ex-rotated
    key: "$KEY_ROTATED"
    tenant: acme_corp
    role: viewer
    previous_keys:
      - {key_hash: "$old_hash", expires_at: 2099-01-01T00:00:00Z}
  - {id: ex-limited, key: "$KEY_LIMITED", tenant: acme_corp, role: viewer, rate_limit: 1}
  - {id: ex-office, key: "$KEY_OFFICE", tenant: acme_corp, role: viewer, ip_allowlist: [203.0.113.7]}
  - {id: ex-admin, key: "$KEY_ADMIN", role: admin}
EOF
e2e_start_keygate "$KEYGATE_BIN" "$E2E_TMP/keys.yaml"
K=http://127.0.0.1:$KEYGATE_PORT
all_auth_headers=()

record_auth_headers() {
    local name
    while IFS= read -r name; do
        [[ $name == x-auth-* ]] && all_auth_headers+=("$name")
    done < <(response_header_names)
}

# --- Traefik ForwardAuth --------------------------------------------------------------------
TRAEFIK_ENDPOINT=$(<"$E2E_TMP/traefik.endpoint")
e2e_expect_eq "traefik: the example's ForwardAuth asks /auth/forward" /auth/forward "$TRAEFIK_ENDPOINT"
e2e_check "traefik: the example has authRequestHeaders" test -s "$E2E_TMP/traefik-request.list"

# KEY METHOD URI [CLIENT HEADER...]: what Traefik's ForwardAuth sends keygate: of the
# client's headers only those in authRequestHeaders, then the X-Forwarded-* headers Traefik
# sets itself (its entry point sets X-Real-Ip; TRAEFIK_CLIENT_IP is the client's address).
traefik() {
    local key=$1 method=$2 uri=$3 header ip=${TRAEFIK_CLIENT_IP:-198.51.100.20}
    shift 3
    local client=("$@") args=(-H "Accept:" -H "User-Agent:")
    [[ -n $key ]] && client=("X-API-Key: $key" "${client[@]}")
    client+=("User-Agent: PowerBI/2.0" "X-Real-Ip: $ip")
    for header in "${client[@]}"; do
        covered "${header%%:*}" traefik-request.list && args+=(-H "$header")
    done
    e2e_request "${args[@]}" -H "X-Forwarded-Method: $method" -H "X-Forwarded-Uri: $uri" \
        -H "X-Forwarded-Proto: https" -H "X-Forwarded-Host: data.example.com" \
        -H "X-Forwarded-For: $ip" "$K$TRAEFIK_ENDPOINT"
}

traefik "$KEY_VIEWER" GET "/v1/datasets/orders/rows?limit=5"
e2e_expect_eq "traefik: a viewer reads orders" 200 "$E2E_STATUS"
e2e_expect_eq "traefik: with its tenant" acme_corp "$(e2e_header X-Auth-Tenant)"
e2e_expect_eq "traefik: and its denied datasets" "customers,orders_raw" "$(e2e_header X-Auth-Datasets-Denied)"
expect_headers_covered "traefik: authResponseHeaders copy every X-Auth-* header (viewer)" traefik.list "x-auth-*"
record_auth_headers

traefik "$KEY_OLD" GET /v1/datasets/orders/rows
e2e_expect_eq "traefik: a rotated-out secret still works" 200 "$E2E_STATUS"
e2e_expect_eq "traefik: with X-Auth-Key-Grace-Until" 2099-01-01T00:00:00Z "$(e2e_header X-Auth-Key-Grace-Until)"
expect_headers_covered "traefik: authResponseHeaders copy every X-Auth-* header (grace)" traefik.list "x-auth-*"
record_auth_headers

traefik "$KEY_ADMIN" DELETE /admin/cache
e2e_expect_eq "traefik: an admin may use /admin" 200 "$E2E_STATUS"
e2e_expect_eq "traefik: an admin has no X-Auth-Tenant" "" "$(e2e_header X-Auth-Tenant)"
expect_headers_covered "traefik: authResponseHeaders copy every X-Auth-* header (admin)" traefik.list "x-auth-*"
record_auth_headers

listed_but_never_sent=()
while IFS= read -r name; do
    e2e_in_list "$name" "${all_auth_headers[@]}" || listed_but_never_sent+=("$name")
done <"$E2E_TMP/traefik.list"
e2e_expect_eq "traefik: every header in authResponseHeaders is one keygate sends" "" "${listed_but_never_sent[*]}"

traefik "$KEY_VIEWER" POST /v1/datasets/orders/rows
e2e_expect_eq "traefik: X-Forwarded-Method counts (a viewer may not write)" 403 "$E2E_STATUS"
e2e_expect_eq "traefik: INSUFFICIENT_PERMISSION" INSUFFICIENT_PERMISSION "$(e2e_header X-Auth-Error-Code)"
traefik "$KEY_VIEWER" GET /v1/datasets/customers/rows
e2e_expect_eq "traefik: X-Forwarded-Uri counts (the dataset in the path)" \
    "Not authorized for dataset 'customers'" "$(e2e_header X-Auth-Error-Detail)"
TRAEFIK_CLIENT_IP=203.0.113.7 traefik "$KEY_OFFICE" GET /v1/datasets/orders/rows
e2e_expect_eq "traefik: X-Real-Ip from a trusted Traefik is the client address" 200 "$E2E_STATUS"
traefik "$KEY_OFFICE" GET /v1/datasets/orders/rows
e2e_expect_eq "traefik: another client address is refused" IP_NOT_ALLOWED "$(e2e_header X-Auth-Error-Code)"
traefik "$KEY_VIEWER" GET /v1/datasets/customers/rows "X-Original-URI: /v1/datasets/orders/rows" \
    "X-Original-Method: GET"
e2e_expect_eq "traefik: a client's X-Original-URI does not get it customers" \
    "Not authorized for dataset 'customers'" "$(e2e_header X-Auth-Error-Detail)"
traefik "$KEY_VIEWER" POST /v1/datasets/orders/rows "X-Original-Method: GET"
e2e_expect_eq "traefik: a client's X-Original-Method does not make a write a read" \
    INSUFFICIENT_PERMISSION "$(e2e_header X-Auth-Error-Code)"
e2e_check_not "traefik: authRequestHeaders let no X-Original-* through" \
    grep -qi '^x-original-' "$E2E_TMP/traefik-request.list"
# A Traefik without authRequestHeaders passes the client's X-Original-* on: /auth/forward
# still decides from X-Forwarded-Method/-Uri alone.
e2e_request -H "X-API-Key: $KEY_VIEWER" -H "X-Original-URI: /v1/datasets/orders/rows" \
    -H "X-Original-Method: GET" -H "X-Forwarded-Method: GET" \
    -H "X-Forwarded-Uri: /v1/datasets/customers/rows" "$K$TRAEFIK_ENDPOINT"
e2e_expect_eq "traefik: /auth/forward reads no X-Original-URI even when it arrives" \
    DATASET_FORBIDDEN "$(e2e_header X-Auth-Error-Code)"
traefik "" GET /v1/query
e2e_expect_eq "traefik: no key is 401 with the JSON body Traefik passes on" \
    '401 {"detail":"API key required","code":"MISSING_KEY"}' "$E2E_STATUS $E2E_BODY"

# --- Envoy ext_authz (HTTP service, path_prefix /auth/envoy) ---------------------------------
envoy() { # KEY METHOD PATH [CURL ARGS...]: what Envoy sends (original method, prefixed path)
    local key=$1 method=$2 path=$3
    shift 3
    local auth=()
    [[ -n $key ]] && auth=(-H "X-API-Key: $key")
    e2e_request -X "$method" "${auth[@]}" -H "X-Forwarded-For: 198.51.100.20" \
        -H "X-Request-Id: 0d6e4079-e8a5-4f8a-9d0b-1c2b3c4d5e6f" -A "PowerBI/2.0" "$@" \
        "$K/auth/envoy$path"
}

envoy "$KEY_OLD" GET "/v1/datasets/orders/rows?limit=5"
e2e_expect_eq "envoy: a rotated-out secret reads orders" 200 "$E2E_STATUS"
expect_headers_covered "envoy: allowed_upstream_headers pass every X-Auth-* header" envoy-upstream.list "x-auth-*"
e2e_check "envoy: allowed_client_headers_on_success pass sunset" covered sunset envoy-client-success.list

envoy "$KEY_LIMITED" GET /v1/datasets/orders/rows
e2e_expect_eq "envoy: a limited key's first request" 200 "$E2E_STATUS"
expect_headers_covered "envoy: allowed_upstream_headers pass every X-Auth-* header (limited)" envoy-upstream.list "x-auth-*"
expect_headers_covered "envoy: allowed_client_headers_on_success pass the rate-limit headers" \
    envoy-client-success.list "*ratelimit*"

envoy "$KEY_LIMITED" GET /v1/datasets/orders/rows
e2e_expect_eq "envoy: over the limit is 429" 429 "$E2E_STATUS"
e2e_check "envoy: with Retry-After" test -n "$(e2e_header Retry-After)"
expect_headers_covered "envoy: allowed_client_headers pass every header of a 429" envoy-client.list

envoy "" GET /v1/query
e2e_expect_eq "envoy: no key is 401" 401 "$E2E_STATUS"
expect_headers_covered "envoy: allowed_client_headers pass every header of a 401" envoy-client.list

envoy "$KEY_VIEWER" DELETE /v1/datasets/orders/rows
e2e_expect_eq "envoy: the original method counts (a viewer may not delete)" 403 "$E2E_STATUS"
expect_headers_covered "envoy: allowed_client_headers pass every header of a 403" envoy-client.list

envoy "$KEY_VIEWER" GET /v1/datasets/orders_raw/rows -H "X-Original-URI: /v1/datasets/orders/rows"
e2e_expect_eq "envoy: the path after the prefix counts, never X-Original-URI" DATASET_FORBIDDEN "$(e2e_header X-Auth-Error-Code)"

# --- ingress-nginx (auth-url /auth/nginx, auth-method GET) -----------------------------------
ingress() { # KEY METHOD URI
    e2e_request -H "X-API-Key: $1" -H "X-Original-Method: $2" -H "X-Original-URI: $3" \
        -H "X-Original-URL: https://data.example.com$3" -H "X-Real-IP: 198.51.100.20" \
        -H "X-Sent-From: nginx-ingress-controller" "$K/auth/nginx"
}
ingress "$KEY_ROTATED" GET /v1/datasets/orders/rows
e2e_expect_eq "ingress-nginx: allowed" 200 "$E2E_STATUS"
expect_headers_covered "ingress-nginx: auth-response-headers cover every X-Auth-* header" ingress.list "x-auth-*"
ingress "$KEY_VIEWER" PUT /v1/datasets/orders/rows
e2e_expect_eq "ingress-nginx: X-Original-Method counts" 403 "$E2E_STATUS"
ingress "$KEY_LIMITED" GET /v1/datasets/orders/rows
e2e_expect_eq "ingress-nginx: rate limited is 403 (nginx turns 429 into 500)" 403 "$E2E_STATUS"
e2e_expect_eq "ingress-nginx: with code RATE_LIMITED" RATE_LIMITED "$(e2e_header X-Auth-Error-Code)"

e2e_finish
