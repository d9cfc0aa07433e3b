#!/usr/bin/python3
"""The checks of tests/e2e/examples_mesh.sh and grpc_istio_check.sh.

  mesh_examples_check.py static SOURCE_DIR
      Every YAML document of examples/istio/ and examples/envoy-gateway/ against the
      allow-lists of tests/e2e/mesh_schemas.py (kinds, apiVersions, field names, value
      shapes), the providers' and backendRefs' service and port against the keygate chart's
      rendered Service (and the sidecar's KEYGATE_GRPC_LISTEN), and the header lists against
      what keygate reads and sets. A self-test first shows that a misspelled field fails.
  mesh_examples_check.py istio-grpc --grpc ADDR --keys JSON --proto DIR --work DIR
      CheckRequests shaped as Istio's sidecar sends them for an envoyExtAuthzGrpc provider
      (mTLS principals, destination, context extensions, metadata, TLS session: fields
      keygate's proto leaves out, sent as unknown fields) to a running keygate.
Prints "ok   - ..." / "FAIL - ..." lines and "N passed, N failed"; exits 1 on a failure.
"""
import copy
import glob
import json
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mesh_schemas as schemas  # noqa: E402

PASSED = 0
FAILED = 0


def check(description, condition, detail=""):
    global PASSED, FAILED
    if condition:
        PASSED += 1
        print(f"ok   - {description}")
    else:
        FAILED += 1
        print(f"FAIL - {description}")
        for line in str(detail).splitlines()[:30]:
            print(f"       {line}")


def finish():
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(0 if FAILED == 0 and PASSED > 0 else 1)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def merge(base, override):
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# What keygate reads from a request: the key (settings.header, default X-API-Key; a Bearer
# key in Authorization), the dataset header, and what the audit log records.
KEYGATE_READS = ["x-api-key", "authorization", "x-dataset", "x-request-id", "user-agent",
                 "traceparent"]
# What a denial carries to the client (docs/proxies/envoy.md; examples_proxies.sh checks it
# against keygate) and what a 200 adds to the client's response.
DENY_HEADERS = ["content-type", "www-authenticate", "retry-after", "x-auth-error-code",
                "x-auth-error-detail", "ratelimit", "ratelimit-policy", "x-ratelimit-limit",
                "x-ratelimit-remaining", "x-ratelimit-reset"]
ALLOW_CLIENT_HEADERS = ["sunset", "ratelimit", "ratelimit-policy", "x-ratelimit-limit",
                        "x-ratelimit-remaining", "x-ratelimit-reset"]


def upstream_headers(source):
    """The X-Auth-* headers keygate sets for the upstream, from its sources (the error
    headers go to the client), lower case."""
    names = set()
    for path in glob.glob(os.path.join(source, "src", "**", "*.[ch]pp"), recursive=True):
        names |= {m.lower() for m in re.findall(r'"(X-Auth-[A-Za-z-]+)"', read(path))}
    return sorted(names - {"x-auth-error-code", "x-auth-error-detail"})


def missing(patterns, names):
    """The names no pattern (Istio's exact/prefix*/*suffix, any case) matches."""
    return [n for n in names if not any(schemas.header_matches(p, n) for p in patterns or [])]


def load_examples(directory):
    """[(file name, index, document)] of every YAML document of the directory."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
        try:
            docs = [d for d in yaml.safe_load_all(read(path)) if d is not None]
        except yaml.YAMLError as e:
            check(f"{os.path.basename(path)} parses", False, e)
            continue
        check(f"{os.path.relpath(path, os.path.dirname(os.path.dirname(directory)))} parses "
              f"({len(docs)} document(s))", bool(docs))
        out += [(os.path.basename(path), i, d) for i, d in enumerate(docs)]
    return out


class Chart:
    """The keygate chart rendered by tests/e2e/helm_render.py."""

    def __init__(self, source):
        import helm_render
        self.helm_render = helm_render
        self.dir = os.path.join(source, "helm", "keygate")
        self.values = yaml.safe_load(read(os.path.join(self.dir, "values.yaml")))
        self.helpers = read(os.path.join(self.dir, "templates", "_helpers.tpl"))
        self.schema = json.loads(read(os.path.join(self.dir, "values.schema.json")))

    def render(self, template, vals, release, namespace, directory=None):
        text = read(os.path.join(directory or self.dir, "templates", template))
        return yaml.safe_load(self.helm_render.render(text, vals, self.helpers,
                                                      release=release, namespace=namespace))

    def service(self, override, release="keygate", namespace="data"):
        svc = self.render("service.yaml", merge(self.values, override), release, namespace)
        ports = {p["name"]: p for p in svc["spec"]["ports"]}
        fqdn = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
        return svc, ports, fqdn


def self_test():
    """The allow-lists refuse what they must: else the checks below could not fail."""
    grpc = {"name": "p", "envoyExtAuthzGrpc": {"service": "s", "port": 1, "failOpen": False}}
    bad_mesh = [
        ("a misspelled provider field", {"name": "p", "envoyExtAuthzGrpc": {"service": "s", "port": 1, "failopen": False}}),
        ("a Gateway-style timeout in the mesh config", merge(grpc, {"envoyExtAuthzGrpc": {"timeout": "500ms"}})),
        ("a port as a string", merge(grpc, {"envoyExtAuthzGrpc": {"port": "9191"}})),
        ("the deprecated includeHeadersInCheck", {"name": "p", "envoyExtAuthzHttp": {"service": "s", "port": 1, "includeHeadersInCheck": ["x"]}}),
        ("a provider with two kinds", merge(grpc, {"envoyExtAuthzHttp": {"service": "s", "port": 1}})),
    ]
    for description, provider in bad_mesh:
        problems = schemas.MESH_CONFIG_VALUES.problems({"meshConfig": {"extensionProviders": [provider]}}, "mesh")
        check(f"self-test: the allow-list refuses {description}", bool(problems))
    policy = {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "SecurityPolicy",
              "metadata": {"name": "p"}, "spec": {"extAuth": {"grpc": {"backendRefs": [{"name": "k", "port": 1}]}}}}
    check("self-test: a well-formed SecurityPolicy passes", not schemas.object_problems(policy, "p"),
          schemas.object_problems(policy, "p"))
    for description, override in [
            ("a misspelled headersToExtAuth", {"spec": {"extAuth": {"headerToExtAuth": ["x"]}}}),
            ("a protobuf-style timeout in Envoy Gateway", {"spec": {"extAuth": {"timeout": "0.5s"}}}),
            ("statusOnError as a string", {"spec": {"extAuth": {"statusOnError": "503"}}}),
            ("backendRefs with a misspelled port", {"spec": {"extAuth": {"grpc": {"backendRefs": [{"name": "k", "prot": 1}]}}}}),
            ("an unknown apiVersion", {"apiVersion": "gateway.envoyproxy.io/v1"})]:
        check(f"self-test: the allow-list refuses {description}",
              bool(schemas.object_problems(merge(policy, override), "p")))


def run_static(source):
    self_test()
    chart = Chart(source)
    import jsonschema
    validator = jsonschema.Draft7Validator(chart.schema)
    upstream = upstream_headers(source)
    check(f"keygate's sources name the upstream X-Auth-* headers ({len(upstream)})",
          {"x-auth-key-id", "x-auth-tenant", "x-auth-role"} <= set(upstream), upstream)

    # --- Istio -----------------------------------------------------------------------------
    istio_dir = os.path.join(source, "examples", "istio")
    providers, objects, keygate_values = {}, [], None
    for name, index, doc in load_examples(istio_dir):
        where = f"{name}#{index}"
        if "apiVersion" in doc:
            objects.append(doc)
            problems = schemas.object_problems(doc, where)
            check(f"{where}: {doc.get('kind')} uses only published fields", not problems, "\n".join(problems))
        elif "meshConfig" in doc:
            problems = schemas.MESH_CONFIG_VALUES.problems(doc, where)
            check(f"{where}: meshConfig.extensionProviders uses only published fields", not problems,
                  "\n".join(problems))
            for provider in doc["meshConfig"].get("extensionProviders", []):
                providers[provider.get("name")] = provider
        else:
            keygate_values = merge(chart.values, doc)
            errors = [e.message for e in validator.iter_errors(keygate_values)]
            check(f"{where}: keygate chart values pass values.schema.json", not errors, "\n".join(errors))
    check("examples/istio has the keygate chart's values", keygate_values is not None)
    keygate_values = keygate_values or chart.values
    readme = read(os.path.join(istio_dir, "README.md"))
    for path in sorted(glob.glob(os.path.join(istio_dir, "*.yaml"))):
        check(f"examples/istio/README.md names {os.path.basename(path)}", os.path.basename(path) in readme)

    grpc_provider = providers.get("keygate-grpc", {}).get("envoyExtAuthzGrpc", {})
    http_provider = providers.get("keygate-http", {}).get("envoyExtAuthzHttp", {})
    local_provider = providers.get("keygate-grpc-local", {}).get("envoyExtAuthzGrpc", {})
    check("mesh config: providers keygate-grpc (gRPC), keygate-http (HTTP), keygate-grpc-local (gRPC)",
          grpc_provider and http_provider and local_provider, sorted(providers))
    for pname, provider in providers.items():
        body = provider.get("envoyExtAuthzGrpc") or provider.get("envoyExtAuthzHttp") or {}
        check(f"provider {pname} fails closed (failOpen: false, set)", body.get("failOpen") is False, body)

    svc = chart.render("service.yaml", keygate_values, "keygate", "data")
    ports = {p["name"]: p for p in svc["spec"]["ports"]}
    fqdn = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
    check(f"keygate-grpc names the chart's Service {fqdn}", grpc_provider.get("service") == fqdn, grpc_provider)
    check("keygate-grpc's port is the Service port `grpc` (appProtocol grpc)",
          "grpc" in ports and grpc_provider.get("port") == ports["grpc"]["port"]
          and ports["grpc"].get("appProtocol") == "grpc", ports)
    check("keygate-http names the same Service, port `http`",
          http_provider.get("service") == fqdn and http_provider.get("port") == ports["http"]["port"], http_provider)
    check("keygate-http asks /auth/envoy (original method and path behind the prefix)",
          http_provider.get("pathPrefix") == "/auth/envoy", http_provider.get("pathPrefix"))
    sent = http_provider.get("includeRequestHeadersInCheck")
    check("keygate-http sends keygate every header it reads", not missing(sent, KEYGATE_READS),
          f"missing: {missing(sent, KEYGATE_READS)}")
    check("keygate-http passes the upstream every X-Auth-* header keygate sets",
          not missing(http_provider.get("headersToUpstreamOnAllow"), upstream),
          f"missing: {missing(http_provider.get('headersToUpstreamOnAllow'), upstream)}")
    check("keygate-http passes the upstream no key header",
          not [p for p in http_provider.get("headersToUpstreamOnAllow", [])
               if schemas.header_matches(p, "x-api-key") or schemas.header_matches(p, "authorization")])
    check("keygate-http passes a denial's headers to the client",
          not missing(http_provider.get("headersToDownstreamOnDeny"), DENY_HEADERS),
          f"missing: {missing(http_provider.get('headersToDownstreamOnDeny'), DENY_HEADERS)}")
    check("keygate-http passes Sunset and the rate-limit headers to the client on 200",
          not missing(http_provider.get("headersToDownstreamOnAllow"), ALLOW_CLIENT_HEADERS),
          f"missing: {missing(http_provider.get('headersToDownstreamOnAllow'), ALLOW_CLIENT_HEADERS)}")

    np = chart.render("networkpolicy.yaml", keygate_values, "keygate", "data")
    policies = [o for o in objects if o.get("kind") == "AuthorizationPolicy"]
    check("one AuthorizationPolicy", len(policies) == 1, [o.get("kind") for o in objects])
    for policy in policies:
        spec = policy["spec"]
        check("the AuthorizationPolicy is CUSTOM with a provider of the mesh config",
              spec.get("action") == "CUSTOM" and spec.get("provider", {}).get("name") in providers, spec)
        check("the AuthorizationPolicy has rules (a CUSTOM policy without rules asks nothing)", bool(spec.get("rules")))
        labels = spec.get("selector", {}).get("matchLabels")
        allowed = [peer.get("podSelector", {}).get("matchLabels") for rule in (np or {}).get("spec", {}).get("ingress", [])
                   for peer in rule.get("from", [])]
        check("the NetworkPolicy lets the policy's workloads reach keygate's gRPC port",
              np and labels in allowed and any({"port": "grpc", "protocol": "TCP"} in r.get("ports", [])
                                               for r in np["spec"]["ingress"]), (labels, allowed))
        check("the AuthorizationPolicy is in the Service's namespace",
              policy["metadata"].get("namespace") == svc["metadata"]["namespace"])

    entries = [o for o in objects if o.get("kind") == "ServiceEntry"]
    entry = next((e for e in entries if local_provider.get("service") in e["spec"].get("hosts", [])), None)
    check("a ServiceEntry defines keygate-grpc-local's host", entry is not None, local_provider)
    if entry:
        spec = entry["spec"]
        port = next((p for p in spec.get("ports", []) if p.get("number") == local_provider.get("port")), None)
        check("the ServiceEntry's port is keygate-grpc-local's, protocol GRPC",
              port and port.get("protocol") == "GRPC", spec.get("ports"))
        check("the ServiceEntry resolves to 127.0.0.1 (the pod's own keygate), statically",
              spec.get("resolution") == "STATIC" and [e.get("address") for e in spec.get("endpoints", [])] == ["127.0.0.1"],
              spec)
        example = os.path.join(source, "examples", "kubernetes", "query-service-chart")
        example_values = yaml.safe_load(read(os.path.join(example, "values.yaml")))
        vals = copy.deepcopy(example_values)
        vals["keygate"] = merge(merge(chart.values, example_values["keygate"]), {"grpc": {"enabled": True}})
        dep = chart.render("deployment.yaml", vals, "qs", "data", directory=example)
        containers = dep["spec"]["template"]["spec"].get("containers", []) + dep["spec"]["template"]["spec"].get("initContainers", [])
        env = {e["name"]: e.get("value") for c in containers if c["name"] == "keygate" for e in c.get("env", [])}
        check("the chart's sidecar (grpc.enabled) listens where the ServiceEntry points",
              env.get("KEYGATE_GRPC_LISTEN") == f"127.0.0.1:{local_provider.get('port')}", env.get("KEYGATE_GRPC_LISTEN"))

    # --- Envoy Gateway ---------------------------------------------------------------------
    eg_dir = os.path.join(source, "examples", "envoy-gateway")
    eg_objects = []
    for name, index, doc in load_examples(eg_dir):
        where = f"{name}#{index}"
        problems = schemas.object_problems(doc, where)
        check(f"{where}: {doc.get('kind')} uses only published fields", not problems, "\n".join(problems))
        eg_objects.append(doc)
    readme = read(os.path.join(eg_dir, "README.md"))
    for path in sorted(glob.glob(os.path.join(eg_dir, "*.yaml"))):
        check(f"examples/envoy-gateway/README.md names {os.path.basename(path)}", os.path.basename(path) in readme)
    routes = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in eg_objects if o.get("kind") == "HTTPRoute"}
    security = [o for o in eg_objects if o.get("kind") == "SecurityPolicy"]
    svc, ports, _ = chart.service({"grpc": {"enabled": True}})
    kinds = sorted("grpc" if "grpc" in p["spec"].get("extAuth", {}) else "http" for p in security)
    check("a gRPC and an HTTP SecurityPolicy", kinds == ["grpc", "http"], kinds)
    for policy in security:
        spec, namespace = policy["spec"], policy["metadata"].get("namespace")
        ext = spec.get("extAuth", {})
        mode = "grpc" if "grpc" in ext else "http"
        label = f"SecurityPolicy {policy['metadata']['name']} ({mode})"
        targets = spec.get("targetRefs", [])
        check(f"{label} targets an HTTPRoute of the example, in its namespace",
              targets and all(t.get("group") == "gateway.networking.k8s.io" and t.get("kind") == "HTTPRoute"
                              and (namespace, t.get("name")) in routes for t in targets), targets)
        refs = ext.get(mode, {}).get("backendRefs", [])
        service_port = ports["grpc" if mode == "grpc" else "http"]
        check(f"{label} asks the chart's Service, port `{service_port['name']}`",
              len(refs) == 1 and refs[0].get("name") == svc["metadata"]["name"]
              and refs[0].get("namespace", namespace) == svc["metadata"]["namespace"]
              and refs[0].get("port") == service_port["port"], (refs, service_port))
        check(f"{label} fails closed", ext.get("failOpen") is False, ext)
        headers = ext.get("headersToExtAuth")
        if mode == "grpc":
            # Unset, every header goes; set, it must hold what keygate reads and the X-Auth-*
            # names, or keygate cannot remove a forged one (headers_to_remove).
            need = KEYGATE_READS + upstream
            check(f"{label} sends keygate what it reads and every X-Auth-* name",
                  headers is None or not missing(headers, need), f"missing: {missing(headers, need)}")
        else:
            # Authorization always goes to an HTTP service.
            need = [h for h in KEYGATE_READS if h != "authorization"]
            check(f"{label} sends keygate what it reads", not missing(headers, need), f"missing: {missing(headers, need)}")
            check(f"{label} asks /auth/envoy + the original path", ext["http"].get("path") == "/auth/envoy")
            check(f"{label} passes every X-Auth-* header to the backend",
                  not missing(ext["http"].get("headersToBackend"), upstream),
                  f"missing: {missing(ext['http'].get('headersToBackend'), upstream)}")


# --- the gRPC check with Istio's CheckRequest ------------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    """A length-delimited field (message, string, map entry)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def number_field(number, value):
    return varint(number << 3) + varint(value)


def socket_address(address, port):
    # Address.socket_address = 1 { address = 2, port_value = 3 }
    return field(1, field(2, address) + number_field(3, port))


def istio_extras(path):
    """What Istio's sidecar adds to an AttributeContext that keygate's proto leaves out, in
    Envoy's field numbers: source.principal, destination (address, principal),
    request.time and http id/host/scheme/size/protocol, context_extensions, metadata_context,
    tls_session.sni."""
    source = field(4, "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
    destination = (field(1, socket_address("10.244.1.7", 8000))
                   + field(4, "spiffe://cluster.local/ns/data/sa/query-service"))
    http = (field(1, "1234567890") + field(5, "query-service.data.svc.cluster.local:8000")
            + field(6, "http") + number_field(9, 0) + field(10, "HTTP/1.1"))
    request = field(1, number_field(1, 1767225600)) + field(2, http)
    extensions = field(10, field(1, "istio") + field(2, "keygate-grpc"))
    metadata = field(11, field(1, field(1, "istio_authn") + field(2, b"")))
    tls = field(12, field(1, "query-service.data.svc.cluster.local"))
    return field(1, field(1, source) + field(2, destination) + field(4, request) + extensions + metadata + tls)


def run_istio_grpc(args):
    import secrets

    import grpc
    import grpc_check_driver as driver
    messages = driver.Messages(args.proto, args.work)
    with open(args.keys, encoding="utf-8") as f:
        keys = json.load(f)
    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=10)
    call = channel.unary_unary("/envoy.service.auth.v3.Authorization/Check",
                               request_serializer=lambda raw: raw,
                               response_deserializer=messages.CheckResponse.FromString)

    def ask(method, path, headers, source):
        request = driver.envoy_check_request(messages, method, path, {}, source)
        http = request.attributes.request.http
        # The headers of a request Istio's sidecar has taken in over mTLS from the gateway.
        http.headers[":authority"] = "query-service.data.svc.cluster.local:8000"
        http.headers["x-forwarded-proto"] = "https"
        http.headers["x-envoy-attempt-count"] = "1"
        http.headers["x-forwarded-client-cert"] = (
            "By=spiffe://cluster.local/ns/data/sa/query-service;Hash=" + secrets.token_hex(32)
            + ";Subject=\"\";URI=spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account")
        http.headers["x-b3-sampled"] = "0"
        for name, value in headers.items():
            http.headers[name.lower()] = value
        return call(request.SerializeToString() + istio_extras(path), timeout=10)

    def options(entries):
        return {o.header.key: o.header.value for o in entries}

    untrusted = "192.0.2.10"
    response = ask("GET", "/v1/datasets/orders/rows?limit=5",
                   {"x-api-key": keys["viewer"], "x-auth-rls": "bypass", "x-auth-key-grace-until": "forged"}, untrusted)
    ok = response.ok_response
    upstream = options(ok.headers)
    check("Istio request, viewer key: allowed (status OK)", response.status.code == 0, response.status)
    check("Istio request: X-Auth-Key-Id for the upstream", upstream.get("x-auth-key-id") == "acme-bi", upstream)
    check("Istio request: the key header is removed before the upstream", "x-api-key" in ok.headers_to_remove,
          list(ok.headers_to_remove))
    forged = [h for h in ("x-auth-rls", "x-auth-key-grace-until") if h not in upstream]
    check("Istio request: a forged X-Auth-* header keygate did not set is removed",
          forged and all(h in ok.headers_to_remove for h in forged), (forged, list(ok.headers_to_remove)))
    check("Istio request: key_id in the dynamic metadata", driver.metadata(response).get("key_id") == "acme-bi")

    response = ask("POST", "/v1/datasets/orders/rows", {"authorization": "Bearer " + keys["analyst"]}, untrusted)
    check("Istio request, Bearer key: allowed, authorization removed",
          response.status.code == 0 and "authorization" in response.ok_response.headers_to_remove,
          list(response.ok_response.headers_to_remove))

    response = ask("GET", "/v1/datasets/orders/rows", {}, untrusted)
    check("Istio request without a key: UNAUTHENTICATED with a 401 DeniedHttpResponse",
          response.status.code == 16 and response.denied_response.status.code == 401, response.status)
    check("Istio request without a key: the JSON body says MISSING_KEY",
          "MISSING_KEY" in response.denied_response.body, response.denied_response.body)

    response = ask("GET", "/v1/datasets/orders/rows", {"x-api-key": keys["office"]}, "10.1.2.3")
    check("Istio request: the client address is attributes.source.address (office key from 10.1.2.3 allowed)",
          response.status.code == 0, response.status)
    response = ask("GET", "/v1/datasets/orders/rows",
                   {"x-api-key": keys["office"], "x-forwarded-for": "10.1.2.3"}, untrusted)
    check("Istio request: a client's X-Forwarded-For does not stand in for the source address (403)",
          response.status.code == 7 and response.denied_response.status.code == 403, response.status)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "static":
        run_static(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "istio-grpc":
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument("mode")
        for option in ("--grpc", "--keys", "--proto", "--work"):
            parser.add_argument(option, required=True)
        run_istio_grpc(parser.parse_args())
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    finish()


if __name__ == "__main__":
    main()
