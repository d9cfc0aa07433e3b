"""Allow-lists of the fields examples/istio/ and examples/envoy-gateway/ may use, taken from
the published schemas: Istio's mesh/v1alpha1/config.proto (MeshConfig.ExtensionProvider,
JSON names) and its CRDs (security.istio.io/v1 AuthorizationPolicy, networking.istio.io/v1
ServiceEntry), Envoy Gateway's gateway.envoyproxy.io_securitypolicies CRD (api/v1alpha1/
ext_auth_types.go) and Gateway API's HTTPRoute CRD (v1), as published in istio/api at
b8f8791 (2026-07-21), envoyproxy/gateway at d32f282 (2026-08-21, after v1.9.0; extAuth.timeout
since v1.6.0, extAuth.statusOnError since v1.8.0) and Gateway API v1.6.1 (the bundle Envoy Gateway ships). At each object level every field
of the published schema is listed, so a misspelled field is unknown and fails; a subtree the
examples do not use is ANY (any value).

A spec is: a type or tuple of types (a leaf), ANY, Pattern(regex), OneOf(values),
Obj({field: spec}), ListOf(spec) or MapOf(spec).
"""
import re


class Spec:
    pass


class _Any(Spec):
    def problems(self, value, where):
        return []


ANY = _Any()


class Leaf(Spec):
    def __init__(self, *types):
        self.types = types

    def problems(self, value, where):
        # bool is an int in Python: an integer field never takes true/false.
        if isinstance(value, bool) and bool not in self.types:
            return [f"{where}: {value!r} is not {self._names()}"]
        if not isinstance(value, self.types):
            return [f"{where}: {value!r} is not {self._names()}"]
        return []

    def _names(self):
        return " or ".join(t.__name__ for t in self.types)


STR, INT, BOOL = Leaf(str), Leaf(int), Leaf(bool)


class Pattern(Spec):
    def __init__(self, regex, meaning):
        self.regex, self.meaning = re.compile(regex), meaning

    def problems(self, value, where):
        if not isinstance(value, str) or not self.regex.fullmatch(value):
            return [f"{where}: {value!r} is not {self.meaning}"]
        return []


class OneOf(Spec):
    def __init__(self, *values):
        self.values = values

    def problems(self, value, where):
        return [] if value in self.values else [f"{where}: {value!r} is not one of {self.values}"]


class Obj(Spec):
    def __init__(self, fields, one_of=None):
        self.fields, self.one_of = fields, one_of

    def problems(self, value, where):
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        out = []
        for name, item in value.items():
            if name not in self.fields:
                out.append(f"{where}.{name}: unknown field (known: {', '.join(sorted(self.fields))})")
            else:
                out += self.fields[name].problems(item, f"{where}.{name}")
        if self.one_of is not None:
            chosen = [name for name in self.one_of if name in value]
            if len(chosen) != 1:
                out.append(f"{where}: exactly one of {self.one_of} is needed, not {chosen}")
        return out


class ListOf(Spec):
    def __init__(self, item):
        self.item = item

    def problems(self, value, where):
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [p for i, v in enumerate(value) for p in self.item.problems(v, f"{where}[{i}]")]


class MapOf(Spec):
    def __init__(self, item):
        self.item = item

    def problems(self, value, where):
        if not isinstance(value, dict):
            return [f"{where}: not a map"]
        return [p for k, v in value.items() for p in self.item.problems(v, f"{where}[{k}]")]


# protobuf's JSON form of google.protobuf.Duration: seconds with an "s" ("0.5s", never "500ms").
PROTO_DURATION = Pattern(r"-?[0-9]+(\.[0-9]{1,9})?s", "a protobuf Duration (\"0.5s\")")
# Gateway API's Duration (GEP-2257): "500ms", "1m30s", never "0.5s".
GATEWAY_DURATION = Pattern(r"([0-9]{1,5}(h|m|s|ms)){1,4}", "a Gateway API Duration (\"500ms\")")
PORT = INT
STRINGS = ListOf(STR)

METADATA = Obj({"name": STR, "namespace": STR, "labels": MapOf(STR), "annotations": MapOf(STR)})

# --- Istio: MeshConfig.ExtensionProvider (mesh/v1alpha1/config.proto) -------------------------
REQUEST_BODY = Obj({"maxRequestBytes": INT, "allowPartialMessage": BOOL, "packAsBytes": BOOL})
EXT_AUTHZ_HTTP = Obj({
    "service": STR, "port": PORT, "timeout": PROTO_DURATION, "pathPrefix": STR,
    "failOpen": BOOL, "clearRouteCache": BOOL, "statusOnError": STR,
    # includeHeadersInCheck is deprecated (includeRequestHeadersInCheck replaces it): left out.
    "includeRequestHeadersInCheck": STRINGS, "includeAdditionalHeadersInCheck": MapOf(STR),
    "includeRequestBodyInCheck": REQUEST_BODY, "headersToUpstreamOnAllow": STRINGS,
    "headersToDownstreamOnDeny": STRINGS, "headersToDownstreamOnAllow": STRINGS,
})
EXT_AUTHZ_GRPC = Obj({
    "service": STR, "port": PORT, "timeout": PROTO_DURATION, "failOpen": BOOL,
    "clearRouteCache": BOOL, "statusOnError": STR, "includeRequestBodyInCheck": REQUEST_BODY,
})
PROVIDER_KINDS = ["envoyExtAuthzHttp", "envoyExtAuthzGrpc", "zipkin", "lightstep", "datadog",
                  "stackdriver", "opencensus", "skywalking", "opentelemetry", "prometheus",
                  "envoyFileAccessLog", "envoyHttpAls", "envoyTcpAls", "envoyOtelAls", "sds"]
EXTENSION_PROVIDER = Obj(
    dict({"name": STR, "envoyExtAuthzHttp": EXT_AUTHZ_HTTP, "envoyExtAuthzGrpc": EXT_AUTHZ_GRPC},
         **{kind: ANY for kind in PROVIDER_KINDS[2:]}),
    one_of=PROVIDER_KINDS)
# The istiod chart's values (or an IstioOperator's spec): only the mesh config's providers.
MESH_CONFIG_VALUES = Obj({"meshConfig": Obj({
    "extensionProviders": ListOf(EXTENSION_PROVIDER),
    "defaultProviders": Obj({"tracing": STRINGS, "metrics": STRINGS, "accessLogging": STRINGS}),
})})

# --- Istio CRDs -------------------------------------------------------------------------------
POLICY_TARGET = Obj({"group": STR, "kind": STR, "name": STR, "namespace": STR})
AUTHORIZATION_POLICY = Obj({
    "selector": Obj({"matchLabels": MapOf(STR)}),
    "targetRef": POLICY_TARGET, "targetRefs": ListOf(POLICY_TARGET),
    "action": OneOf("ALLOW", "DENY", "AUDIT", "CUSTOM"),
    "provider": Obj({"name": STR}),
    "rules": ListOf(Obj({
        "from": ListOf(Obj({"source": Obj({name: STRINGS for name in (
            "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals",
            "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks",
            "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "trustDomains",
            "notTrustDomains")})})),
        "to": ListOf(Obj({"operation": Obj({name: STRINGS for name in (
            "hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths",
            "notPaths")})})),
        "when": ListOf(Obj({"key": STR, "values": STRINGS, "notValues": STRINGS})),
    })),
})
SERVICE_ENTRY = Obj({
    "hosts": STRINGS, "addresses": STRINGS,
    "ports": ListOf(Obj({"number": PORT, "protocol": STR, "name": STR, "targetPort": PORT})),
    "location": OneOf("MESH_EXTERNAL", "MESH_INTERNAL"),
    "resolution": OneOf("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"),
    "endpoints": ListOf(Obj({"address": STR, "ports": MapOf(INT), "labels": MapOf(STR),
                             "network": STR, "locality": STR, "weight": INT,
                             "serviceAccount": STR})),
    "workloadSelector": Obj({"labels": MapOf(STR)}),
    "exportTo": STRINGS, "subjectAltNames": STRINGS,
})

# --- Gateway API and Envoy Gateway ------------------------------------------------------------
BACKEND_OBJECT_REF = {"group": STR, "kind": STR, "name": STR, "namespace": STR, "port": PORT}
EG_BACKEND_REF = Obj(dict(BACKEND_OBJECT_REF, weight=INT, fallback=BOOL))
BACKEND_CLUSTER = {"backendRef": Obj(BACKEND_OBJECT_REF), "backendRefs": ListOf(EG_BACKEND_REF),
                   "backendSettings": ANY}
STATUS_CODE = OneOf(400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414,
                    415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431, 500, 501, 502, 503,
                    504, 505, 506, 507, 508, 510, 511)
EXT_AUTH = Obj({
    "grpc": Obj(BACKEND_CLUSTER),
    "http": Obj(dict(BACKEND_CLUSTER, path=STR, pathOverride=STR, headersToBackend=STRINGS)),
    "headersToExtAuth": STRINGS, "bodyToExtAuth": Obj({"maxRequestBytes": INT}),
    "timeout": GATEWAY_DURATION, "failOpen": BOOL, "recomputeRoute": BOOL,
    "includeRouteMetadata": BOOL, "contextExtensions": ANY, "statusOnError": STATUS_CODE,
}, one_of=["grpc", "http"])
TARGET_REF = Obj({"group": STR, "kind": STR, "name": STR, "sectionName": STR})
SECURITY_POLICY = Obj({
    "targetRef": TARGET_REF, "targetRefs": ListOf(TARGET_REF), "targetSelectors": ANY,
    "mergeType": ANY, "apiKeyAuth": ANY, "cors": ANY, "csrf": ANY, "basicAuth": ANY,
    "jwt": ANY, "oidc": ANY, "authorization": ANY, "extAuth": EXT_AUTH,
})
HTTP_ROUTE = Obj({
    "parentRefs": ListOf(Obj({"group": STR, "kind": STR, "name": STR, "namespace": STR,
                              "port": PORT, "sectionName": STR})),
    "hostnames": STRINGS, "useDefaultGateways": ANY,
    "rules": ListOf(Obj({
        "name": STR, "filters": ANY, "retry": ANY, "sessionPersistence": ANY, "timeouts": ANY,
        "matches": ListOf(Obj({
            "path": Obj({"type": OneOf("Exact", "PathPrefix", "RegularExpression"),
                         "value": STR}),
            "headers": ANY, "queryParams": ANY, "method": STR})),
        "backendRefs": ListOf(Obj(dict(BACKEND_OBJECT_REF, weight=INT, filters=ANY))),
    })),
})

# (apiVersion, kind) -> the spec's allow-list.
KINDS = {
    ("security.istio.io/v1", "AuthorizationPolicy"): AUTHORIZATION_POLICY,
    ("networking.istio.io/v1", "ServiceEntry"): SERVICE_ENTRY,
    ("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy"): SECURITY_POLICY,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
}


def object_problems(doc, where):
    """The problems of one Kubernetes object against KINDS."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in KINDS:
        return [f"{where}: unknown apiVersion/kind {key} (known: {sorted(KINDS)})"]
    out = []
    for name in doc:
        if name not in ("apiVersion", "kind", "metadata", "spec"):
            out.append(f"{where}.{name}: unknown top-level field")
    out += METADATA.problems(doc.get("metadata", {}), f"{where}.metadata")
    if not doc.get("metadata", {}).get("name"):
        out.append(f"{where}.metadata.name is missing")
    out += KINDS[key].problems(doc.get("spec"), f"{where}.spec")
    return out


def header_matches(pattern, name):
    """Istio's header list syntax: exact, "prefix*" or "*suffix", case-insensitive."""
    pattern, name = pattern.lower(), name.lower()
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return pattern == name
