"""A toy data API ("query service") that asks keygate before every query and reports what
it served: the pattern to copy into a real one. Python standard library only.

    python3 query_service.py --listen 127.0.0.1:8000 --keygate http://127.0.0.1:8090
    curl -H 'X-API-Key: pk_...' http://127.0.0.1:8000/v1/datasets/orders/rows

Endpoints: ``GET /v1/datasets/{dataset}/rows`` (read), ``POST /v1/datasets/{dataset}/rows``
(write; answers 501 here), ``GET /healthz``. Rows are filtered by the caller's tenant
unless its role bypasses row-level security.

Two ways to learn who the caller is:

- it asks keygate itself (the default): ``POST /v1/authorize`` with the caller's key. As a
  sidecar (keygate on 127.0.0.1 in the same pod) this service is a trusted peer, so it
  passes the client's address as ``client_ip``;
- ``--behind-proxy``: a proxy in front (nginx ``auth_request``, Traefik ForwardAuth, Envoy
  ``ext_authz``) already asked keygate and sets the X-Auth-* headers of its answer, which
  it never lets a client set. The service reads them and asks nothing. Only ever run it so
  where nothing but that proxy can reach it.

Either way it posts what it served to ``POST /v1/audit``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keygate_client import Decision, KeygateClient, KeygateUnavailable, access_event  # noqa: E402

# The toy data: every row belongs to one tenant.
TABLES = {
    "orders": [
        {"tenant": "acme_corp", "id": 1, "amount": 120},
        {"tenant": "acme_corp", "id": 2, "amount": 75},
        {"tenant": "globex", "id": 3, "amount": 990},
    ],
    "customers": [
        {"tenant": "acme_corp", "id": 10, "name": "Ada"},
        {"tenant": "globex", "id": 11, "name": "Grace"},
    ],
}
ROWS_PATH = re.compile(r"^/v1/datasets/([^/?]+)/rows$")


def decision_from_proxy_headers(headers) -> Decision:
    """The caller as the proxy's X-Auth-* headers describe it (keygate's allowed answer). No
    X-Auth-Key-Id: the request did not come through the proxy's check, so refuse it."""
    def split(name):
        value = headers.get(name)
        return value.split(",") if value else []

    key_id = headers.get("X-Auth-Key-Id")
    return Decision(
        allowed=key_id is not None, status=200 if key_id else 403,
        code="OK" if key_id else "NOT_AUTHENTICATED_BY_PROXY",
        detail=None if key_id else "Request did not pass the proxy's key check",
        key_id=key_id, tenant=headers.get("X-Auth-Tenant"), role=headers.get("X-Auth-Role"),
        rls=headers.get("X-Auth-RLS"), permissions=split("X-Auth-Permissions"),
        datasets=split("X-Auth-Datasets"), datasets_denied=split("X-Auth-Datasets-Denied"),
        grace_until=headers.get("X-Auth-Key-Grace-Until"), retry_after=None, headers={})


class QueryHandler(BaseHTTPRequestHandler):
    keygate: KeygateClient  # set by serve()
    behind_proxy = False  # set by serve()
    server_version = "query-service-example"

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self._send(200, {"status": "ok"})
        match = ROWS_PATH.match(path)
        if not match:
            return self._send(404, {"detail": "Not found", "code": "NOT_FOUND"})
        dataset = match.group(1)
        request_id = self.headers.get("X-Request-ID") or uuid.uuid4().hex

        # The key as the client sent it: keygate's header, else Authorization: Bearer.
        api_key = self.headers.get(self.keygate.header)
        authorization = self.headers.get("Authorization", "")
        if not api_key and authorization.lower().startswith("bearer "):
            api_key = authorization[7:].strip()

        try:
            if self.behind_proxy:
                decision = decision_from_proxy_headers(self.headers)
            else:
                decision = self.keygate.authorize(
                    api_key, dataset=dataset, method=self.command, path=self.path,
                    client_ip=self.client_address[0])
        except KeygateUnavailable:
            # Fail closed: no answer from keygate is no access.
            return self._send(503, {"detail": "Authorization unavailable", "code": "UNAVAILABLE"})
        if not decision.allowed:
            extra = {}
            if decision.code == "MISSING_KEY" or decision.code == "INVALID_KEY":
                extra["WWW-Authenticate"] = f'ApiKey header="{self.keygate.header}"'
            if decision.retry_after is not None:
                extra["Retry-After"] = str(decision.retry_after)
            return self._send(decision.status, {"detail": decision.detail, "code": decision.code},
                              extra)

        if self.command != "GET":
            status, rows = 501, []
            body = {"detail": "Writes are not part of this example", "code": "NOT_IMPLEMENTED"}
        else:
            # Row-level security: only the caller's tenant, unless its role bypasses RLS.
            table = TABLES.get(dataset, [])
            rows = table if decision.rls == "bypass" else [
                row for row in table if row["tenant"] == decision.tenant]
            status, body = 200, {"dataset": dataset, "rows": rows}
        extra = {}
        if decision.grace_until:
            # The client used a rotated-out secret: tell it to switch before this time.
            extra["X-Key-Grace-Until"] = decision.grace_until
        self._send(status, body, extra)

        # What was actually served, for keygate's audit log. Best effort: a failed report
        # does not undo the answer, but it is logged (without the key).
        try:
            self.keygate.audit([access_event(
                path, key_id=decision.key_id, dataset=dataset, method=self.command,
                status=status, rows=len(rows),
                duration_ms=round((time.monotonic() - started) * 1000, 3),
                ip_address=self.client_address[0],
                user_agent=self.headers.get("User-Agent"), request_id=request_id,
                extra={"service": "query-service-example"})])
        except (KeygateUnavailable, ValueError) as e:
            self.log_message("audit report for key %s failed: %s", decision.key_id, e)

    def _send(self, status, body, headers=None):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def serve(listen: str, keygate_url: str, behind_proxy: bool) -> None:
    host, _, port = listen.rpartition(":")
    QueryHandler.keygate = KeygateClient(keygate_url)
    QueryHandler.behind_proxy = behind_proxy
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), QueryHandler)
    how = "trusting the proxy's X-Auth-* headers" if behind_proxy else "asking keygate"
    print(f"query service on http://{listen}, {how} (keygate at {keygate_url})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:8000")
    parser.add_argument("--keygate", default=os.environ.get("KEYGATE_URL", "http://127.0.0.1:8090"))
    parser.add_argument("--behind-proxy", action="store_true",
                        help="trust the X-Auth-* headers of a proxy that asked keygate")
    args = parser.parse_args()
    serve(args.listen, args.keygate, args.behind_proxy)
