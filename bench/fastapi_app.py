"""The baseline of bench/run.sh fastapi: keygate's /auth/nginx check written as a FastAPI
dependency, the way a Python shop would write it first.

Same check, same answers as keygate for the benchmark's requests: the X-API-Key header (else
Authorization: Bearer) looked up by its sha256 digest in a dict loaded from the same YAML file
(`key_hash` / `key` entries), X-Original-Method / X-Original-URI read, 200 with the X-Auth-*
identity headers, 401 with the JSON body, X-Auth-Error-* and WWW-Authenticate. It does not
implement routes, datasets, expiry, rate limits or an audit log (keygate does all of that on
top, so the comparison favours this baseline).

Run: KEYGATE_BENCH_KEYS=keys.yaml python3 -m uvicorn fastapi_app:app --app-dir bench
"""
import hashlib
import os

import yaml
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response

ROLE_PERMISSIONS = {"admin": ["read", "write", "admin"], "analyst": ["read", "write"],
                    "viewer": ["read"]}


def load_keys(path: str) -> dict[bytes, dict]:
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    out = {}
    for entry in doc.get("api_keys") or []:
        if "key_hash" in entry:
            digest = bytes.fromhex(entry["key_hash"].split(":", 1)[1])
        else:
            digest = hashlib.sha256(entry["key"].encode()).digest()
        role = entry["role"]
        out[digest] = {
            "X-Auth-Key-Id": entry.get("id") or "k-" + digest.hex()[:12],
            "X-Auth-Tenant": entry.get("tenant", ""),
            "X-Auth-Role": role,
            "X-Auth-Permissions": ",".join(entry.get("permissions")
                                           or ROLE_PERMISSIONS.get(role, [])),
            "X-Auth-Datasets": ",".join(entry.get("allowed_datasets") or ["*"]),
            "X-Auth-RLS": "bypass" if role == "admin" else "apply",
        }
    return out


KEYS = load_keys(os.environ["KEYGATE_BENCH_KEYS"])
app = FastAPI()


class Denied(Exception):
    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail


@app.exception_handler(Denied)
async def denied_handler(_request, exc: Denied):
    return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=401, headers={
        "X-Auth-Error-Code": exc.code, "X-Auth-Error-Detail": exc.detail,
        "WWW-Authenticate": 'ApiKey header="X-API-Key"'})


async def api_key_identity(x_api_key: str | None = Header(default=None),
                           authorization: str | None = Header(default=None),
                           x_original_method: str = Header(default="GET"),
                           x_original_uri: str = Header(default="/")) -> dict:
    """The FastAPI dependency: the caller's identity headers, or a 401."""
    key = x_api_key
    if not key and authorization and authorization[:7].lower() == "bearer ":
        key = authorization[7:].strip()
    if not key:
        raise Denied("MISSING_KEY", "API key required")
    identity = KEYS.get(hashlib.sha256(key.encode()).digest())
    if identity is None:
        raise Denied("INVALID_KEY", "Invalid API key")
    # The original method and URI are read, as keygate reads them (routes are not applied).
    _ = (x_original_method.upper(), x_original_uri.split("?", 1)[0])
    return identity


@app.api_route("/auth/nginx", methods=["GET", "HEAD", "POST"])
async def auth_nginx(identity: dict = Depends(api_key_identity)):
    return Response(status_code=200, headers={k: v for k, v in identity.items() if v})
