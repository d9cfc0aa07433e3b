#!/usr/bin/python3
"""A stand-in data API for the end-to-end tests that RECORDS every request it receives.

It answers every request with 200 and writes one JSON line per request to LOG_FILE:
the method, the raw request target (as the proxy sent it, byte for byte), every header
(name and value, in order, repeats kept), and what a typical web framework behind the
proxy would make of the request:

  paths     the path under several readings (see interpretations()): percent-decoded as a
            whole once or twice, `\\` taken as `/`, `;params` stripped from segments,
            `.`/`..` resolved, empty segments dropped, lenient (overlong) UTF-8, control
            bytes dropped, an encoded `?` taken as the start of the query, a raw `#` kept
            in the path (as Go's url.ParseRequestURI does), and the path keygate's
            contract describes (split first, decode each segment once);
  datasets  every dataset the request names under any reading: the segment after
            /v1/datasets/ (also matched case-insensitively, then lower-cased), the
            `dataset` query parameter (parse_qs, split on `&` and on `;`, names decoded),
            and the X-Dataset header.

tests/e2e/proxy_trust_boundary.sh starts it behind nginx and Caddy and checks that no
request reached it naming a dataset the key may not read.

Usage: recording_backend.py PORT LOG_FILE      (stdlib only; listens on 127.0.0.1)
"""

import json
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_log = None


def _lenient_utf8(data: bytes) -> str:
    """Decodes UTF-8 the way old, lenient decoders did: overlong forms are accepted
    (b'\\xc0\\xae' and b'\\xe0\\x80\\xae' are both '.'). Other bad bytes become U+FFFD."""
    out = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
        elif 0xC0 <= b < 0xE0 and i + 1 < n and 0x80 <= data[i + 1] < 0xC0:
            out.append(chr(((b & 0x1F) << 6) | (data[i + 1] & 0x3F)))
            i += 2
        elif (0xE0 <= b < 0xF0 and i + 2 < n and 0x80 <= data[i + 1] < 0xC0
              and 0x80 <= data[i + 2] < 0xC0):
            out.append(chr(((b & 0x0F) << 12) | ((data[i + 1] & 0x3F) << 6) | (data[i + 2] & 0x3F)))
            i += 3
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def _decode(text: str, lenient: bool = False) -> str:
    raw = urllib.parse.unquote_to_bytes(text)
    if lenient:
        return _lenient_utf8(raw)
    return raw.decode("utf-8", errors="replace")


def _normalize(path: str, backslash: bool = True, params: bool = True) -> str:
    """Resolves a decoded path as a framework's router does: `\\` as `/`, `;params`
    stripped from each segment, empty and `.` segments dropped, `..` pops (never above /)."""
    if backslash:
        path = path.replace("\\", "/")
    segments = []
    for segment in path.split("/"):
        if params:
            segment = segment.split(";", 1)[0]
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


def _origin_form(target: str) -> str:
    """The path-and-query of a request target, also of an absolute-form one."""
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", target)
    if match:
        target = target[match.end():] or "/"
    return target


def interpretations(target: str) -> dict:
    """Every reading of the path of TARGET, by name."""
    target = _origin_form(target)
    raw_path = re.split(r"[?#]", target, maxsplit=1)[0]
    readings = {
        # A framework that decodes the path once and routes on the result.
        "decoded": _normalize(_decode(raw_path)),
        # The same without `\\` as a separator or `;` parameters.
        "decoded_plain": _normalize(_decode(raw_path), backslash=False, params=False),
        # Decoded twice (a proxy or middleware that decodes again).
        "double_decoded": _normalize(_decode(_decode(raw_path))),
        # Lenient UTF-8: overlong `%c0%ae` is `.`.
        "overlong": _normalize(_decode(raw_path, lenient=True)),
        # NUL and other control bytes dropped after decoding (as some C-based servers do).
        "controls_stripped": _normalize(re.sub(r"[\x00-\x1f\x7f]", "", _decode(raw_path))),
        # The whole target decoded first and only then cut at `?` (keygate's old bug).
        "decode_then_cut": _normalize(re.split(r"[?#]", _decode(target), maxsplit=1)[0]),
        # A raw `#` kept as part of the path (only `?` ends it), as Go's
        # url.ParseRequestURI does: `/rows#/../../customers` is then `/customers`.
        "fragment_kept": _normalize(_decode(target.split("?", 1)[0])),
        # keygate's contract: split at `/`, decode each segment once.
        "segments": _normalize("/".join(_decode(s) for s in raw_path.split("/")),
                               backslash=False, params=False),
    }
    return readings


def _path_dataset(path: str, case_insensitive: bool):
    segments = [s for s in path.split("/") if s]
    if len(segments) < 3:
        return None
    first, second = segments[0], segments[1]
    if case_insensitive:
        first, second = first.lower(), second.lower()
    if first == "v1" and second == "datasets":
        return segments[2].lower() if case_insensitive else segments[2]
    return None


def _query_datasets(target: str) -> list:
    target = _origin_form(target)
    found = []
    queries = []
    if "?" in target:
        # Cut at `?` only: a raw `#` is not valid in a request target, and a parser that
        # does not expect one (Go's url.ParseRequestURI, many others) keeps it in the query.
        queries.append(target.split("?", 1)[1])
    # decode-then-cut: an encoded `?` in the path starts a query for such a framework.
    decoded_path = _decode(re.split(r"[?#]", target, maxsplit=1)[0])
    if "?" in decoded_path:
        queries.append(decoded_path.split("?", 1)[1])
    for query in queries:
        for separator in ("&", ";"):
            parsed = urllib.parse.parse_qs(query, keep_blank_values=True, separator=separator)
            for name, values in parsed.items():
                if name.strip().lower() == "dataset":
                    found.extend(values)
    return found


def analyse(method: str, target: str, headers: list) -> dict:
    paths = interpretations(target)
    datasets = set()
    for path in paths.values():
        for ci in (False, True):
            name = _path_dataset(path, ci)
            if name is not None:
                datasets.add(name)
    datasets.update(_query_datasets(target))
    for name, value in headers:
        if name.lower() == "x-dataset":
            datasets.update(v.strip() for v in value.split(","))
    return {"paths": paths, "datasets": sorted(datasets)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "recording-backend"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                chunk = self.rfile.read(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        headers = [(k, v) for k, v in self.headers.items()]
        # The target from the request line itself: http.server's self.path collapses a
        # leading "//".
        words = self.requestline.split(" ")
        target = words[1] if len(words) == 3 else self.path
        record = {"method": self.command, "target": target, "headers": headers,
                  "body_len": len(body)}
        record.update(analyse(self.command, target, headers))
        line = json.dumps(record, ensure_ascii=True) + "\n"
        with _lock:
            _log.write(line)
            _log.flush()
        reply = b'{"ok":true}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def main():
    global _log
    if len(sys.argv) != 3:
        sys.exit("usage: recording_backend.py PORT LOG_FILE")
    port = int(sys.argv[1])
    _log = open(sys.argv[2], "a", encoding="ascii")
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
