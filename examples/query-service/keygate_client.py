"""A keygate client for a data API ("query service"), with the Python standard library only.

Two calls (described in api/openapi.yaml; the access events in docs/audit-and-metrics.md):

- ``authorize()``: ``POST /v1/authorize`` with the caller's key in the header and
  ``{dataset, permission, method, path, client_ip, consume}``: may this key do this? The
  answer carries the key id, tenant, role, RLS mode, permissions and dataset patterns the
  query service needs to apply row-level security.
- ``audit()``: ``POST /v1/audit`` with one access event or a list of them (at most 1000):
  what the caller actually read (rows, duration), for keygate's audit log. keygate accepts
  it only from a trusted peer (``settings.trusted_proxies``; 127.0.0.1 by default, i.e. a
  sidecar).

Fail closed: when keygate cannot be asked, ``authorize()`` raises ``KeygateUnavailable``;
answer 503, never serve the request.

    client = KeygateClient("http://127.0.0.1:8090")
    decision = client.authorize(api_key, dataset="orders", permission="read",
                                method="GET", path="/v1/datasets/orders/rows",
                                client_ip=peer_address)
    if not decision.allowed:
        ...  # answer decision.status with {"detail": decision.detail, "code": decision.code}
    rows = run_query(tenant=None if decision.rls == "bypass" else decision.tenant)
    client.audit([access_event("/v1/datasets/orders/rows", key_id=decision.key_id,
                               dataset="orders", method="GET", status=200, rows=len(rows))])

Never log the key itself: log ``decision.key_id``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import urllib.error
import urllib.request
from typing import Any, Iterable, Optional


class KeygateUnavailable(Exception):
    """keygate could not be asked, or gave no usable answer: deny the request (503)."""


@dataclasses.dataclass
class Decision:
    """keygate's answer to ``POST /v1/authorize``."""

    allowed: bool
    status: int  # 200, 401, 403 or 429
    code: str  # "OK" or MISSING_KEY, INVALID_KEY, KEY_DISABLED, KEY_EXPIRED, ...
    detail: Optional[str]  # None when allowed
    key_id: Optional[str]
    tenant: Optional[str]
    role: Optional[str]
    rls: Optional[str]  # "apply" (filter by tenant) or "bypass"
    permissions: list
    datasets: list  # allow patterns as written (globs), ["*"] for an unrestricted key
    datasets_denied: list
    grace_until: Optional[str]  # set when an old (rotated) secret was used: warn the client
    retry_after: Optional[int]  # seconds, when rate limited
    headers: dict  # every response header, lower-case names (X-RateLimit-*, RateLimit, ...)


class KeygateClient:
    """Talks to one keygate (sidecar on 127.0.0.1 or a Service). Thread-safe: it keeps no
    state between calls."""

    def __init__(self, base_url: str = "http://127.0.0.1:8090", timeout: float = 2.0,
                 header: str = "X-API-Key"):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.header = header  # keygate's settings.header

    def authorize(self, api_key: Optional[str], *, dataset: Optional[str] = None,
                  permission: Optional[str] = None, method: str = "GET", path: str = "/",
                  client_ip: Optional[str] = None, consume: bool = True) -> Decision:
        """Asks keygate whether ``api_key`` may do ``method path`` on ``dataset``.

        ``permission`` overrides the permission keygate's routes would derive from method and
        path. ``client_ip`` counts only when this service is one of keygate's trusted peers.
        ``consume=False`` checks without counting against the key's rate limits: use it when
        a proxy in front already asked keygate's /auth for this very request.
        """
        body: dict[str, Any] = {"method": method, "path": path, "consume": consume}
        if dataset is not None:
            body["dataset"] = dataset
        if permission is not None:
            body["permission"] = permission
        if client_ip is not None:
            body["client_ip"] = client_ip
        headers = {self.header: api_key} if api_key else {}
        status, response_headers, payload = self._post("/v1/authorize", body, headers)
        if status not in (200, 401, 403, 429) or not isinstance(payload, dict):
            raise KeygateUnavailable(f"keygate answered {status} to /v1/authorize")
        retry_after = response_headers.get("retry-after")
        return Decision(
            allowed=payload.get("allowed") is True and status == 200,
            status=status,
            code=payload.get("code") or "UNKNOWN",
            detail=payload.get("detail"),
            key_id=payload.get("key_id"),
            tenant=payload.get("tenant"),
            role=payload.get("role"),
            rls=payload.get("rls"),
            permissions=payload.get("permissions") or [],
            datasets=payload.get("datasets") or [],
            datasets_denied=payload.get("datasets_denied") or [],
            grace_until=payload.get("grace_until"),
            retry_after=int(retry_after) if retry_after and retry_after.isdigit() else None,
            headers=response_headers,
        )

    def audit(self, events: Iterable[dict], api_key: Optional[str] = None) -> int:
        """Posts access events (see ``access_event``); returns how many keygate accepted.

        Each event names its key by ``key_id`` (from the Decision), so the key itself need
        not travel again; ``api_key`` instead sends it in the header. keygate writes a batch
        whole or not at all; a bad batch raises ``ValueError`` (400), and so does one that
        is too large (413, more than 1000 events).
        """
        batch = list(events)
        headers = {self.header: api_key} if api_key else {}
        status, _, payload = self._post("/v1/audit", batch, headers)
        if status == 202 and isinstance(payload, dict):
            return int(payload.get("accepted", 0))
        if status in (400, 413):
            raise ValueError(f"keygate refused the audit batch ({status}): {payload}")
        raise KeygateUnavailable(f"keygate answered {status} to /v1/audit")

    def _post(self, path: str, body: Any, headers: dict) -> tuple[int, dict, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _lower(response.headers), _json(response.read())
        except urllib.error.HTTPError as e:  # 4xx/5xx still carry keygate's JSON answer
            with e:
                return e.code, _lower(e.headers), _json(e.read())
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise KeygateUnavailable(f"keygate at {self.base_url} could not be asked: {e}") from e


def access_event(endpoint: str, *, key_id: Optional[str] = None, dataset: Optional[str] = None,
                 method: Optional[str] = None, status: Optional[int] = None,
                 rows: Optional[int] = None, duration_ms: Optional[float] = None,
                 ip_address: Optional[str] = None, user_agent: Optional[str] = None,
                 request_id: Optional[str] = None, timestamp: Optional[str] = None,
                 extra: Optional[dict] = None) -> dict:
    """One access event for ``POST /v1/audit``. ``endpoint`` is required; ``timestamp``
    defaults to now (RFC 3339, UTC, milliseconds)."""
    if timestamp is None:
        now = datetime.datetime.now(datetime.timezone.utc)
        timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    event = {"endpoint": endpoint, "key_id": key_id, "dataset": dataset, "method": method,
             "status": status, "rows": rows, "duration_ms": duration_ms,
             "ip_address": ip_address, "user_agent": user_agent, "request_id": request_id,
             "timestamp": timestamp, "extra": extra}
    return {k: v for k, v in event.items() if v is not None}


def _lower(headers) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def _json(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None
