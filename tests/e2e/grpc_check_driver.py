#!/usr/bin/python3
"""The gRPC client of tests/e2e/grpc_ext_authz.sh: sends keygate the CheckRequests Envoy's
ext_authz filter sends (envoy.service.auth.v3.Authorization/Check) and the same requests to
/auth/envoy over HTTP, and checks that both get the same decision, for every row 0-8 of the
decision table (CONTRACT §5), with the headers, removals and dynamic metadata of CONTRACT §6.

The messages come from keygate's own proto/ files: protoc compiles them into a descriptor
set at test time, and the message classes are built from it (python3-protobuf); the calls
are grpc's generic unary calls (python3-grpcio). Nothing is downloaded.

Usage:
  grpc_check_driver.py write-keys OUT_YAML OUT_JSON       fresh random keys for this run
  grpc_check_driver.py decisions --grpc ADDR --http PORT --keys JSON --proto DIR --work DIR
  grpc_check_driver.py attacks --grpc ADDR --http PORT --keys JSON --proto DIR --work DIR
  grpc_check_driver.py usage --grpc ADDR --http PORT --keys JSON --proto DIR --work DIR
  grpc_check_driver.py health --grpc ADDR --proto DIR --work DIR --expect SERVING|NOT_SERVING
Prints "ok   - ..." / "FAIL - ..." lines and "N passed, N failed"; exits 1 on a failure.
"""

import argparse
import http.client
import json
import os
import secrets
import string
import subprocess
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTO_FILES = [
    "envoy/service/auth/v3/external_auth.proto",
    "grpc/health/v1/health.proto",
]

PASSED = 0
FAILED = 0


def check(description, condition, detail=""):
    global PASSED, FAILED
    if condition:
        PASSED += 1
        print(f"ok   - {description}")
    else:
        FAILED += 1
        print(f"FAIL - {description}" + (f"\n       {detail}" if detail else ""))


def finish():
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(0 if FAILED == 0 and PASSED > 0 else 1)


# ---- keys --------------------------------------------------------------------------------

KEY_ALPHABET = string.ascii_letters + string.digits


def fresh_key(tenant="acme_corp"):
    return f"pk_{tenant}_" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(30))


def write_keys(out_yaml, out_json):
    keys = {name: fresh_key() for name in
            ("viewer", "analyst", "disabled", "expired", "office", "limited", "rotated",
             "rotated_old", "usage_grpc", "usage_http")}
    keys["admin"] = fresh_key("ops")
    keys["unknown"] = fresh_key()
    import hashlib
    old_hash = "sha256:" + hashlib.sha256(keys["rotated_old"].encode()).hexdigest()
    yaml = f"""version: 1
tenants:
  acme_corp: {{allowed_datasets: [orders, customers]}}
api_keys:
  - {{id: acme-bi, key: "{keys['viewer']}", tenant: acme_corp, role: viewer, allowed_datasets: [orders]}}
  - {{id: acme-analysts, key: "{keys['analyst']}", tenant: acme_corp, role: analyst}}
  - {{id: acme-disabled, key: "{keys['disabled']}", tenant: acme_corp, role: viewer, enabled: false}}
  - {{id: acme-expired, key: "{keys['expired']}", tenant: acme_corp, role: viewer, expires_at: 2020-01-01T00:00:00Z}}
  - {{id: acme-office, key: "{keys['office']}", tenant: acme_corp, role: viewer, ip_allowlist: [10.1.0.0/16]}}
  - {{id: acme-limited, key: "{keys['limited']}", tenant: acme_corp, role: viewer, rate_limit: 2}}
  - id: acme-rotated
    key: "{keys['rotated']}"
    tenant: acme_corp
    role: viewer
    previous_keys:
      - {{key_hash: "{old_hash}", expires_at: 2999-01-01T00:00:00Z}}
  - {{id: ops-admin, key: "{keys['admin']}", role: admin}}
  - {{id: acme-usage-grpc, key: "{keys['usage_grpc']}", tenant: acme_corp, role: viewer, allowed_datasets: [orders], rate_limit: 50, daily_limit: 1000}}
  - {{id: acme-usage-http, key: "{keys['usage_http']}", tenant: acme_corp, role: viewer, allowed_datasets: [orders], rate_limit: 50, daily_limit: 1000}}
"""
    with open(out_yaml, "w", encoding="utf-8") as f:
        f.write(yaml)
    with open(out_json, "w", encoding="utf-8") as f:
        json.dump(keys, f)


# ---- messages from keygate's proto/ ---------------------------------------------------------


class Messages:
    """The message classes of keygate's proto files, built from a descriptor set."""

    def __init__(self, proto_dir, work_dir):
        os.makedirs(work_dir, exist_ok=True)
        descriptor_file = os.path.join(work_dir, "keygate.protoset")
        subprocess.run(
            ["protoc", f"-I{proto_dir}", "-I/usr/include", "--include_imports",
             f"--descriptor_set_out={descriptor_file}"]
            + [os.path.join(proto_dir, p) for p in PROTO_FILES],
            check=True)
        files = descriptor_pb2.FileDescriptorSet()
        with open(descriptor_file, "rb") as f:
            files.ParseFromString(f.read())
        pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            pool.Add(file)
        factory = message_factory.MessageFactory(pool)

        def message(name):
            return factory.GetPrototype(pool.FindMessageTypeByName(name))

        self.CheckRequest = message("envoy.service.auth.v3.CheckRequest")
        self.CheckResponse = message("envoy.service.auth.v3.CheckResponse")
        self.HealthCheckRequest = message("grpc.health.v1.HealthCheckRequest")
        self.HealthCheckResponse = message("grpc.health.v1.HealthCheckResponse")
        self.serving_status = pool.FindEnumTypeByName(
            "grpc.health.v1.HealthCheckResponse.ServingStatus")


def unary(channel, method, response_class):
    return channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_class.FromString)


# ---- the requests ----------------------------------------------------------------------------


def envoy_check_request(messages, method, path, headers, source):
    """A CheckRequest as Envoy's HTTP ext_authz filter fills it (v3, no body)."""
    request = messages.CheckRequest()
    attributes = request.attributes
    attributes.source.address.socket_address.address = source
    attributes.source.address.socket_address.port_value = 40000
    http_request = attributes.request.http
    http_request.method = method
    http_request.path = path
    http_request.headers[":authority"] = "api.example.com"
    http_request.headers[":method"] = method
    http_request.headers[":path"] = path
    http_request.headers[":scheme"] = "http"
    http_request.headers["x-forwarded-for"] = source
    http_request.headers["x-request-id"] = "e2e-" + secrets.token_hex(8)
    for name, value in headers.items():
        http_request.headers[name.lower()] = value
    return request


def http_auth_envoy(port, method, path, headers, source):
    """The same request to /auth/envoy over HTTP, from the proxy (a trusted peer) with the
    client's address in X-Real-IP. Returns (status, {lower name: value}, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, "/auth/envoy" + path, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.putheader("X-Real-IP", source)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode()
    answer_headers = {name.lower(): value for name, value in response.getheaders()}
    connection.close()
    return response.status, answer_headers, body


def options_map(options, description):
    """{name: value} of a list of HeaderValueOption, each checked to say append=false."""
    out = {}
    for option in options:
        check(f"{description}: {option.header.key} has append=false",
              option.HasField("append") and not option.append.value)
        check(f"{description}: {option.header.key} is lower case",
              option.header.key == option.header.key.lower())
        out[option.header.key] = option.header.value
    return out


def metadata(response):
    return {name: value.string_value for name, value in response.dynamic_metadata.fields.items()}


RATE_HEADERS = {"ratelimit", "ratelimit-policy", "retry-after", "x-ratelimit-limit",
                "x-ratelimit-remaining", "x-ratelimit-reset"}
# Framing headers the HTTP front end adds, never part of a decision.
FRAMING = {"content-length", "connection", "keep-alive", "date"}


def run_decisions(args):
    messages = Messages(args.proto, args.work)
    with open(args.keys, encoding="utf-8") as f:
        keys = json.load(f)
    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=10)
    check_call = unary(channel, "/envoy.service.auth.v3.Authorization/Check",
                       messages.CheckResponse)

    # (name, method, path, headers, source, status, code, rpc code, key_id or None)
    untrusted = "192.0.2.10"
    rows = [
        ("row 0 ambiguous path", "GET", "/v1/datasets/orders%2F..%2Fcustomers/rows",
         {"X-API-Key": keys["viewer"]}, untrusted, 400, "INVALID_REQUEST", 7, None),
        ("row 0 encoded ? in the path", "GET", "/v1/datasets/customers%3F/rows",
         {"X-API-Key": keys["viewer"]}, untrusted, 400, "INVALID_REQUEST", 7, None),
        ("row 1 no key", "GET", "/v1/datasets/orders/rows", {}, untrusted, 401, "MISSING_KEY",
         16, None),
        ("row 2 unknown key", "GET", "/v1/datasets/orders/rows", {"X-API-Key": keys["unknown"]},
         untrusted, 401, "INVALID_KEY", 16, None),
        ("row 2 two different keys", "GET", "/v1/datasets/orders/rows",
         {"X-API-Key": keys["viewer"], "Authorization": "Bearer " + keys["analyst"]}, untrusted,
         401, "INVALID_KEY", 16, None),
        ("row 3 disabled", "GET", "/v1/datasets/orders/rows", {"X-API-Key": keys["disabled"]},
         untrusted, 403, "KEY_DISABLED", 7, "acme-disabled"),
        ("row 4 expired", "GET", "/v1/datasets/orders/rows", {"X-API-Key": keys["expired"]},
         untrusted, 403, "KEY_EXPIRED", 7, "acme-expired"),
        ("row 5 address not allowed", "GET", "/v1/datasets/orders/rows",
         {"X-API-Key": keys["office"]}, untrusted, 403, "IP_NOT_ALLOWED", 7, "acme-office"),
        ("row 6 permission", "DELETE", "/v1/datasets/orders/rows",
         {"X-API-Key": keys["viewer"]}, untrusted, 403, "INSUFFICIENT_PERMISSION", 7, "acme-bi"),
        ("row 7 dataset in the path", "GET", "/v1/datasets/customers/rows",
         {"X-API-Key": keys["viewer"]}, untrusted, 403, "DATASET_FORBIDDEN", 7, "acme-bi"),
        ("row 7 dataset in the query", "GET", "/v1/query?dataset=customers",
         {"X-API-Key": keys["viewer"]}, untrusted, 403, "DATASET_FORBIDDEN", 7, "acme-bi"),
        ("allowed viewer", "GET", "/v1/datasets/orders/rows?limit=5",
         {"X-API-Key": keys["viewer"], "X-Auth-Tenant": "forged", "X-Auth-RLS": "bypass",
          "X-Auth-Key-Grace-Until": "forged"}, untrusted, 200, "OK", 0, "acme-bi"),
        ("allowed Bearer", "POST", "/v1/datasets/orders/rows",
         {"Authorization": "Bearer " + keys["analyst"]}, untrusted, 200, "OK", 0,
         "acme-analysts"),
        ("allowed admin (no tenant)", "GET", "/admin/x", {"X-API-Key": keys["admin"]},
         untrusted, 200, "OK", 0, "ops-admin"),
        ("allowed office address", "GET", "/v1/datasets/orders/rows",
         {"X-API-Key": keys["office"]}, "10.1.2.3", 200, "OK", 0, "acme-office"),
        ("allowed previous secret (grace)", "GET", "/v1/datasets/orders/rows",
         {"X-API-Key": keys["rotated_old"]}, untrusted, 200, "OK", 0, "acme-rotated"),
    ]
    expected_metrics = {}
    for name, method, path, headers, source, status, code, rpc, key_id in rows:
        # HTTP first, then gRPC: neither consumes (only the limited key has a limit).
        http_status, http_headers, http_body = http_auth_envoy(args.http, method, path, headers,
                                                               source)
        response = check_call(envoy_check_request(messages, method, path, headers, source),
                              timeout=10)
        expected_metrics[code] = expected_metrics.get(code, 0) + 1
        check(f"{name}: /auth/envoy answers {status}", http_status == status,
              f"got {http_status} {http_body}")
        check(f"{name}: rpc status {rpc}", response.status.code == rpc,
              f"got {response.status.code}")
        meta = metadata(response)
        check(f"{name}: metadata code {code}", meta.get("code") == code, f"got {meta}")
        check(f"{name}: metadata key_id {key_id}", meta.get("key_id") == key_id, f"got {meta}")
        if status == 200:
            check(f"{name}: an ok_response", response.HasField("ok_response"))
            ok = response.ok_response
            upstream = options_map(ok.headers, name)
            http_auth = {k: v for k, v in http_headers.items() if k.startswith("x-auth-")}
            check(f"{name}: the X-Auth-* headers of /auth/envoy", upstream == http_auth,
                  f"grpc {upstream} http {http_auth}")
            removed = list(ok.headers_to_remove)
            check(f"{name}: the key header is removed", "x-api-key" in removed, f"{removed}")
            bearer = "Authorization" in headers
            check(f"{name}: authorization removed exactly when it held the key",
                  ("authorization" in removed) == bearer, f"{removed}")
            forged = {k.lower() for k in headers if k.lower().startswith("x-auth-")}
            for header in forged - set(upstream):
                check(f"{name}: the client's own {header} is removed", header in removed)
            check(f"{name}: metadata role and tenant",
                  meta.get("role") == http_headers.get("x-auth-role")
                  and meta.get("tenant") == http_headers.get("x-auth-tenant"), f"{meta}")
            to_client = options_map(ok.response_headers_to_add, name + " (client)")
            http_client = {k: v for k, v in http_headers.items()
                           if not k.startswith("x-auth-") and k not in FRAMING}
            check(f"{name}: the client headers of /auth/envoy", to_client == http_client,
                  f"grpc {to_client} http {http_client}")
        else:
            check(f"{name}: a denied_response", response.HasField("denied_response"))
            denied = response.denied_response
            check(f"{name}: HTTP status {status}", denied.status.code == status,
                  f"got {denied.status.code}")
            check(f"{name}: the JSON body of /auth/envoy", denied.body == http_body,
                  f"grpc {denied.body!r} http {http_body!r}")
            body = json.loads(denied.body)
            check(f"{name}: body code {code}", body.get("code") == code)
            answer = options_map(denied.headers, name)
            http_answer = {k: v for k, v in http_headers.items() if k not in FRAMING}
            check(f"{name}: the error headers of /auth/envoy", answer == http_answer,
                  f"grpc {answer} http {http_answer}")

    # Row 8: rate_limit 2 per minute. HTTP and gRPC share the bucket, as they share keygate.
    limited = {"X-API-Key": keys["limited"]}
    path = "/v1/datasets/orders/rows"
    first = check_call(envoy_check_request(messages, "GET", path, limited, untrusted), timeout=10)
    check("row 8: the first call is allowed", first.status.code == 0)
    added = options_map(first.ok_response.response_headers_to_add, "row 8 first")
    check("row 8: rate-limit headers go to the client",
          added.get("x-ratelimit-limit") == "2" and added.get("x-ratelimit-remaining") == "1"
          and "ratelimit-policy" in added and "ratelimit" in added, f"{added}")
    http_status, _, _ = http_auth_envoy(args.http, "GET", path, limited, untrusted)
    check("row 8: /auth/envoy takes the second token", http_status == 200)
    denied = check_call(envoy_check_request(messages, "GET", path, limited, untrusted),
                        timeout=10)
    http_status, http_headers, http_body = http_auth_envoy(args.http, "GET", path, limited,
                                                           untrusted)
    expected_metrics["OK"] = expected_metrics.get("OK", 0) + 1
    expected_metrics["RATE_LIMITED"] = expected_metrics.get("RATE_LIMITED", 0) + 1
    check("row 8: rpc PERMISSION_DENIED", denied.status.code == 7)
    check("row 8: 429 stays 429", denied.denied_response.status.code == 429 and
          http_status == 429, f"grpc {denied.denied_response.status.code} http {http_status}")
    headers = options_map(denied.denied_response.headers, "row 8 denied")
    check("row 8: Retry-After and the error code",
          int(headers.get("retry-after", "0")) >= 1
          and headers.get("x-auth-error-code") == "RATE_LIMITED", f"{headers}")
    check("row 8: the same header names as /auth/envoy",
          set(headers) == {k for k in http_headers if k not in FRAMING})
    check("row 8: the JSON body of /auth/envoy", denied.denied_response.body == http_body)
    check("row 8: metadata", metadata(denied) == {"code": "RATE_LIMITED",
                                                  "key_id": "acme-limited",
                                                  "tenant": "acme_corp", "role": "viewer"},
          f"{metadata(denied)}")

    # What Envoy may send beyond keygate's fields passes through harmlessly: a request with
    # unknown fields (high numbers of every message) is decided as without them.
    request = envoy_check_request(messages, "GET", "/v1/datasets/orders/rows",
                                  {"X-API-Key": keys["viewer"]}, untrusted)
    raw = request.SerializeToString() + bytes([0xfa, 0x3e, 0x03]) + b"abc"  # field 1007, 3 bytes
    raw_call = channel.unary_unary("/envoy.service.auth.v3.Authorization/Check",
                                   request_serializer=lambda b: b,
                                   response_deserializer=messages.CheckResponse.FromString)
    response = raw_call(raw, timeout=10)
    expected_metrics["OK"] += 1
    check("an unknown field is ignored", response.status.code == 0 and
          metadata(response).get("key_id") == "acme-bi")

    with open(os.path.join(args.work, "expected_metrics.json"), "w", encoding="utf-8") as f:
        json.dump(expected_metrics, f)
    finish()


def run_attacks(args):
    """What a hostile or broken client can do to the gRPC listener itself: stalled streams,
    oversized, deeply nested and non-UTF-8 messages, deadlines, cancellation, concurrency.
    Each must end in an error or a denial (never an allowed answer), and leave keygate
    answering other gRPC and HTTP clients."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    messages = Messages(args.proto, args.work)
    with open(args.keys, encoding="utf-8") as f:
        keys = json.load(f)
    viewer = {"X-API-Key": keys["viewer"]}
    untrusted = "192.0.2.10"
    path = "/v1/datasets/orders/rows"

    def channel():
        ch = grpc.insecure_channel(args.grpc)
        grpc.channel_ready_future(ch).result(timeout=10)
        return ch

    def raw_check(ch):
        return ch.unary_unary("/envoy.service.auth.v3.Authorization/Check",
                              request_serializer=lambda b: b,
                              response_deserializer=messages.CheckResponse.FromString)

    def still_serving(what):
        """A fresh client gets its answer within 2 s, over gRPC and over HTTP."""
        start = time.monotonic()
        ch = channel()
        response = unary(ch, "/envoy.service.auth.v3.Authorization/Check",
                         messages.CheckResponse)(
            envoy_check_request(messages, "GET", path, viewer, untrusted), timeout=5)
        grpc_s = time.monotonic() - start
        ch.close()
        start = time.monotonic()
        status, _, _ = http_auth_envoy(args.http, "GET", path, viewer, untrusted)
        http_s = time.monotonic() - start
        check(f"{what}: another gRPC client is answered ({grpc_s:.3f} s)",
              response.status.code == 0 and grpc_s < 2)
        check(f"{what}: /auth/envoy is answered ({http_s:.3f} s)", status == 200 and http_s < 2)

    def outcome(call, payload, timeout=10):
        """("ok", response) or ("error", grpc status code)."""
        try:
            return "ok", call(payload, timeout=timeout)
        except grpc.RpcError as error:
            return "error", error.code()

    # 1. Streams opened and never sent on hold no thread of keygate's.
    release = threading.Event()

    def never_sends():
        release.wait(30)
        return
        yield  # a generator that yields nothing

    stalled_channel = channel()
    stalled_call = stalled_channel.stream_unary(
        "/envoy.service.auth.v3.Authorization/Check",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=messages.CheckResponse.FromString)
    stalled = [stalled_call.future(never_sends(), timeout=30) for _ in range(200)]
    time.sleep(1)
    still_serving("200 streams that never send")
    release.set()
    ended = []
    for future in stalled:
        try:
            ended.append(("ok", future.result(timeout=10)))
        except grpc.RpcError as error:
            ended.append(("error", error.code()))
        except Exception as error:  # a future's timeout
            ended.append(("hang", error))
    check("a stream closed without a message is an error, never an answer",
          all(kind == "error" for kind, _ in ended), f"{set(str(e) for e in ended)}")
    stalled_channel.close()

    ch = channel()
    call = raw_check(ch)
    good = envoy_check_request(messages, "GET", path, viewer, untrusted).SerializeToString()

    # 2. Over the receive limit (2 MiB): refused before it is read.
    request = envoy_check_request(messages, "GET", path, viewer, untrusted)
    request.attributes.request.http.headers["x-pad"] = "p" * (3 * 1024 * 1024)
    kind, result = outcome(call, request.SerializeToString())
    check("a 3 MiB CheckRequest is RESOURCE_EXHAUSTED",
          kind == "error" and result == grpc.StatusCode.RESOURCE_EXHAUSTED, f"{kind} {result}")
    still_serving("after a 3 MiB request")

    # 3. Many headers under the limit: decided like any other (the key still counts once).
    request = envoy_check_request(messages, "GET", path, viewer, untrusted)
    for i in range(20000):
        header = request.attributes.request.http.header_map.headers.add()
        header.key = f"x-h{i}"
        header.raw_value = b"v" * 40
    header = request.attributes.request.http.header_map.headers.add()
    header.key = "x-api-key"
    header.raw_value = keys["viewer"].encode()
    start = time.monotonic()
    kind, result = outcome(call, request.SerializeToString())
    took = time.monotonic() - start
    check(f"20 000 headers (1.2 MiB) are decided, allowed, in {took:.3f} s",
          kind == "ok" and result.status.code == 0 and took < 2, f"{kind} {result}")

    # 4. Not UTF-8 where proto3 wants a string (path, a header name, a header value): never
    #    allowed (protobuf refuses the message, or the path is ambiguous).
    marker = "/v1/datasets/~~/rows"
    for where, build in (
            ("path", lambda: envoy_check_request(messages, "GET", marker, viewer, untrusted)),
            ("header value", lambda: envoy_check_request(messages, "GET", path,
                                                         dict(viewer, **{"x-dataset": "~~"}),
                                                         untrusted)),
            ("key header value", lambda: envoy_check_request(
                messages, "GET", path, {"X-API-Key": keys["viewer"][:-2] + "~~"}, untrusted))):
        raw = build().SerializeToString()
        check(f"invalid UTF-8 in the {where}: the marker is in the message", raw.count(b"~~") >= 1)
        raw = raw.replace(b"~~", b"\xc0\xae")
        kind, result = outcome(call, raw)
        allowed = kind == "ok" and result.status.code == 0
        check(f"invalid UTF-8 in the {where}: not allowed ({kind} "
              f"{result if kind == 'error' else result.status.code})", not allowed)
    still_serving("after non-UTF-8 requests")

    # 5. An unknown field nested 100 000 groups deep: refused, no stack overflow.
    group_start, group_end = bytes([0xc3, 0x3e]), bytes([0xc4, 0x3e])  # field 1000
    nested = good + group_start * 100000 + group_end * 100000
    kind, result = outcome(call, nested)
    check(f"100 000 nested groups: not allowed ({kind})",
          not (kind == "ok" and result.status.code == 0))
    # A truncated message.
    kind, result = outcome(call, good[:-3])
    check(f"a truncated message: not allowed ({kind})", not (kind == "ok" and result.status.code == 0))
    still_serving("after malformed messages")

    # 6. A deadline already past, and a call cancelled in flight.
    # (grpc may still answer a 1 us deadline: then the answer must be the right one.)
    kind, result = outcome(call, good, timeout=0.000001)
    check(f"a 1 us deadline: DEADLINE_EXCEEDED or the right answer ({kind})",
          (kind == "error" and result == grpc.StatusCode.DEADLINE_EXCEEDED)
          or (kind == "ok" and metadata(result).get("key_id") == "acme-bi"), f"{result}")
    futures = [call.future(good, timeout=10) for _ in range(50)]
    for future in futures:
        future.cancel()
    still_serving("after 50 cancelled calls")

    # 7. Concurrent calls from several clients: every one gets its own, right decision.
    channels = [channel() for _ in range(4)]
    cases = [(keys["viewer"], 0, "acme-bi"), (keys["analyst"], 0, "acme-analysts"),
             (keys["unknown"], 16, None), (keys["disabled"], 7, "acme-disabled")]

    def one(i):
        key, rpc, key_id = cases[i % len(cases)]
        response = unary(channels[i % 4], "/envoy.service.auth.v3.Authorization/Check",
                         messages.CheckResponse)(
            envoy_check_request(messages, "GET", path, {"X-API-Key": key}, untrusted),
            timeout=20)
        return response.status.code == rpc and metadata(response).get("key_id") == key_id

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(400)))
    check(f"400 concurrent calls on 4 channels: {sum(results)} right", all(results))
    finish()


def key_usage(port, admin_key, key_id):
    """GET /v1/keys/{id}/usage with the admin key: (status, the JSON answer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", f"/v1/keys/{key_id}/usage", headers={"X-API-Key": admin_key})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, json.loads(body)


def run_usage(args):
    """Usage accounting: the same N allowed and M denied requests, as gRPC Checks for one key
    and over /auth/envoy for its twin (same entry, another id), leave the same counts in
    GET /v1/keys/{id}/usage (docs/audit-and-metrics.md, USAGE)."""
    import datetime
    messages = Messages(args.proto, args.work)
    with open(args.keys, encoding="utf-8") as f:
        keys = json.load(f)
    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=10)
    check_call = unary(channel, "/envoy.service.auth.v3.Authorization/Check",
                       messages.CheckResponse)
    untrusted = "192.0.2.30"
    # (method, path, expected HTTP status): allowed reads, a dataset the key may not read
    # (row 6: counted in total_requests only), a write a viewer may not do (row 5).
    allowed = [("GET", "/v1/datasets/orders/rows", 200)] * 7
    denied = ([("GET", "/v1/datasets/customers/rows", 403)] * 3
              + [("POST", "/v1/datasets/orders/rows", 403)] * 2)
    for method, path, status in allowed + denied:
        response = check_call(envoy_check_request(messages, method, path,
                                                  {"X-API-Key": keys["usage_grpc"]}, untrusted),
                              timeout=10)
        grpc_status = 200 if response.status.code == 0 else response.denied_response.status.code
        check(f"gRPC {method} {path}: {status}", grpc_status == status, f"got {grpc_status}")
        http_status, _, _ = http_auth_envoy(args.http, method, path,
                                            {"X-API-Key": keys["usage_http"]}, untrusted)
        check(f"/auth/envoy {method} {path}: {status}", http_status == status,
              f"got {http_status}")
    status, over_grpc = key_usage(args.http, keys["admin"], "acme-usage-grpc")
    check("usage of the gRPC key: 200", status == 200, f"{status} {over_grpc}")
    status, over_http = key_usage(args.http, keys["admin"], "acme-usage-http")
    check("usage of the HTTP key: 200", status == 200, f"{status} {over_http}")
    print(f"       gRPC {over_grpc}\n       HTTP {over_http}")
    n, m = len(allowed), len(denied)
    check("the same fields in the same order", list(over_grpc) == list(over_http),
          f"{list(over_grpc)} {list(over_http)}")
    for field in ("request_count", "rate_limit", "remaining", "daily_count", "daily_limit",
                  "total_requests", "avg_requests_per_day"):
        check(f"{field}: gRPC {over_grpc.get(field)} == HTTP {over_http.get(field)}",
              over_grpc.get(field) == over_http.get(field))
    # And the counts are the documented ones, not merely equal.
    check(f"total_requests counts all {n + m} decisions", over_grpc.get("total_requests") == n + m)
    check(f"request_count counts the {n} that passed rows 1-7",
          over_grpc.get("request_count") == n)
    check(f"daily_count counts the {n} let through", over_grpc.get("daily_count") == n)
    check(f"remaining is 50 - {n}", over_grpc.get("remaining") == 50 - n)

    def when(value):
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))

    for field in ("last_used", "window_start", "reset_at"):
        a, b = over_grpc.get(field), over_http.get(field)
        check(f"{field} set for both and within 5 s ({a}, {b})",
              a is not None and b is not None and abs((when(a) - when(b)).total_seconds()) < 5)
    finish()


def run_health(args):
    messages = Messages(args.proto, args.work)
    channel = grpc.insecure_channel(args.grpc)
    grpc.channel_ready_future(channel).result(timeout=10)
    health = unary(channel, "/grpc.health.v1.Health/Check", messages.HealthCheckResponse)
    expected = messages.serving_status.values_by_name[args.expect].number
    for service in ("", "envoy.service.auth.v3.Authorization"):
        response = health(messages.HealthCheckRequest(service=service), timeout=10)
        check(f"health of '{service}' is {args.expect}", response.status == expected,
              f"got {response.status}")
    try:
        health(messages.HealthCheckRequest(service="no.such.Service"), timeout=10)
        check("an unknown service is NOT_FOUND", False, "it answered")
    except grpc.RpcError as error:
        check("an unknown service is NOT_FOUND", error.code() == grpc.StatusCode.NOT_FOUND,
              f"got {error.code()}")
    finish()


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    keys = sub.add_parser("write-keys")
    keys.add_argument("yaml")
    keys.add_argument("json")
    decisions = sub.add_parser("decisions")
    health = sub.add_parser("health")
    attacks = sub.add_parser("attacks")
    usage = sub.add_parser("usage")
    for p in (decisions, health, attacks, usage):
        p.add_argument("--grpc", required=True)
        p.add_argument("--proto", required=True)
        p.add_argument("--work", required=True)
    decisions.add_argument("--http", type=int, required=True)
    decisions.add_argument("--keys", required=True)
    attacks.add_argument("--http", type=int, required=True)
    attacks.add_argument("--keys", required=True)
    usage.add_argument("--http", type=int, required=True)
    usage.add_argument("--keys", required=True)
    health.add_argument("--expect", required=True, choices=["SERVING", "NOT_SERVING"])
    args = parser.parse_args()
    if args.command == "write-keys":
        write_keys(args.yaml, args.json)
    elif args.command == "decisions":
        run_decisions(args)
    elif args.command == "attacks":
        run_attacks(args)
    elif args.command == "usage":
        run_usage(args)
    else:
        run_health(args)


if __name__ == "__main__":
    main()
