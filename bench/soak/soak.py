"""Soak test (issue 6): N minutes (default 10) of mixed valid, invalid and rate-limited
traffic against one keygate, with the key file rewritten every second. Samples RSS every
10 s, counts 5xx, and at the end compares the audit log's `auth` lines with the decisions
the clients received.

Usage: /usr/bin/python3 bench/soak/soak.py [--minutes N] [--rate R] [--build-dir DIR]
Exit status 0 when RSS did not grow, no 5xx was seen and the counts match; 1 otherwise.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import benchlib as bl  # noqa: E402

FILLER_KEYS = 1000


class Traffic:
    """The request mix: what to send, and what each kind must be answered."""

    def __init__(self, valid: list[str], limited: str, disabled: str):
        unknown = [bl.make_key() for _ in range(16)]
        self.kinds = [
            # (weight, name, endpoint, headers-factory, allowed statuses)
            (40, "valid", "/auth", lambda r: {"X-API-Key": r.choice(valid),
                                              "X-Original-URI": "/v1/datasets/orders/rows"},
             {200}),
            (15, "valid-nginx", "/auth/nginx",
             lambda r: {"Authorization": "Bearer " + r.choice(valid),
                        "X-Original-URI": "/v1/query", "X-Original-Method": "POST"}, {200}),
            (5, "valid-envoy", "/auth/envoy/v1/datasets/orders/rows",
             lambda r: {"X-API-Key": r.choice(valid)}, {200}),
            (10, "forbidden-dataset", "/auth",
             lambda r: {"X-API-Key": r.choice(valid),
                        "X-Original-URI": "/v1/datasets/orders_raw/rows"}, {403}),
            (15, "invalid", "/auth", lambda r: {"X-API-Key": r.choice(unknown)}, {401}),
            (5, "missing", "/auth/nginx", lambda r: {}, {401}),
            (3, "disabled", "/auth", lambda r: {"X-API-Key": disabled}, {403}),
            # rate_limit 60/min, sent far faster: mostly 429 (403 on /auth/nginx).
            (7, "limited", "/auth", lambda r: {"X-API-Key": limited}, {200, 429}),
        ]
        self.total_weight = sum(k[0] for k in self.kinds)

    def pick(self, rng: random.Random):
        x = rng.uniform(0, self.total_weight)
        for kind in self.kinds:
            x -= kind[0]
            if x <= 0:
                return kind
        return self.kinds[-1]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.by_kind: Counter = Counter()
        self.unexpected: Counter = Counter()
        self.decisions = 0  # auth answers received (each is one decision)
        self.connection_errors = 0


def client(port: int, traffic: Traffic, stats: Stats, stop: threading.Event, rate: float,
           seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    interval = 1.0 / rate
    next_at = time.monotonic()
    while not stop.is_set():
        _, name, endpoint, headers, allowed = traffic.pick(rng)
        try:
            conn.request("GET", endpoint, headers=headers(rng))
            res = conn.getresponse()
            res.read()
        except (OSError, http.client.HTTPException):
            with stats.lock:
                stats.connection_errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        with stats.lock:
            stats.decisions += 1
            stats.statuses[res.status] += 1
            stats.by_kind[(name, res.status)] += 1
            if res.status not in allowed:
                stats.unexpected[(name, res.status)] += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()  # behind: do not burst to catch up
    conn.close()


def key_file(valid: list[str], limited: str, disabled: str, fillers: list[str],
             generation: int) -> str:
    parts = ["version: 1\n",
             # Changes every rewrite, so every rewrite is a real reload (new sha256).
             f"# soak generation {generation}\n",
             "tenants:\n  acme_corp: {allowed_datasets: [orders, customers]}\napi_keys:\n"]
    for i, k in enumerate(valid):
        parts.append(bl.key_entry(f"soak-valid-{i}", bl.secret_of(k), role="viewer",
                                  extra="    denied_datasets: [orders_raw]"))
    parts.append(bl.key_entry("soak-limited", bl.secret_of(limited), role="viewer",
                              extra="    rate_limit: 60"))
    parts.append(bl.key_entry("soak-disabled", bl.secret_of(disabled), role="viewer",
                              extra="    enabled: false"))
    # The filler keys change over time (one rotated per rewrite) so reloads do real work.
    for i, s in enumerate(fillers):
        parts.append(bl.key_entry(f"filler-{i}", s, full=True))
    return "".join(parts)


def metric_values(port: int, name: str) -> dict[str, float]:
    text = bl.http_get(port, "/metrics")[2].decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(name):
            m = re.match(r"(\S+)\s+(\S+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--rate", type=float, default=400, help="requests per second, all clients")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--build-dir", type=Path, default=bl.REPO / "build-bench")
    args = p.parse_args()
    binary = args.build_dir / "keygate"

    work = bl.make_workdir("soak")
    rng = random.Random(1)
    valid = [bl.make_key() for _ in range(8)]
    limited, disabled = bl.make_key(), bl.make_key()
    fillers = bl.filler_secrets(FILLER_KEYS, "soak")
    config = bl.config_path(work)
    config.write_text(key_file(valid, limited, disabled, fillers, 0))
    audit = work / "audit.log"
    kg, port = bl.start_keygate(binary, config, work, cpu=None, audit=str(audit))
    bl.log(f"soak: {args.minutes} min, {args.rate:.0f} req/s, keygate pid {kg.pid} port {port}, "
           f"work dir {work}, load {bl.load_average()}")

    stats, stop = Stats(), threading.Event()
    threads = [threading.Thread(target=client, args=(port, Traffic(valid, limited, disabled),
                                                     stats, stop, args.rate / args.clients, i))
               for i in range(args.clients)]
    for t in threads:
        t.start()

    rss: list[tuple[float, int]] = []
    rewrites = 0
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    next_sample = t0
    try:
        while time.monotonic() < end:
            if not kg.alive():
                raise RuntimeError("keygate exited during the soak")
            rewrites += 1
            fillers[rewrites % FILLER_KEYS] = bl.filler_secrets(1, f"r{rewrites}")[0]
            bl.write_atomically(config, key_file(valid, limited, disabled, fillers, rewrites))
            now = time.monotonic()
            if now >= next_sample:
                mem = bl.memory_kb(kg.pid)
                rss.append((now - t0, mem["VmRSS"]))
                with stats.lock:
                    done, fives = stats.decisions, sum(v for s, v in stats.statuses.items()
                                                       if s >= 500)
                bl.log(f"t={now - t0:5.0f}s RSS {mem['VmRSS'] / 1024:.1f} MB, "
                       f"{done} decisions, {fives} 5xx, load {bl.load_average()}")
                next_sample += 10
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
    finally:
        stop.set()
        for t in threads:
            t.join()

    elapsed = time.monotonic() - t0
    time.sleep(2)  # the last rewrite's reload
    reloads = metric_values(port, "keygate_config_reloads_total")
    generation = metric_values(port, "keygate_config_generation")
    requests_metric = sum(v for k, v in metric_values(port, "keygate_requests_total").items()
                          if 'endpoint="/auth' in k)
    mem_end = bl.memory_kb(kg.pid)
    code = kg.stop()  # SIGTERM flushes the audit log
    audit_auth = 0
    bad_lines = 0
    with open(audit) as f:
        for line in f:
            try:
                if json.loads(line).get("event") == "auth":
                    audit_auth += 1
            except ValueError:
                bad_lines += 1

    # RSS growth: the first minute is warm-up (allocator arenas, rate-limit state).
    warm = [kb for t, kb in rss if t >= 60] or [kb for _, kb in rss]
    first, last, peak = warm[0], warm[-1], max(warm)
    grew = last > first * 1.10 + 1024
    fives = sum(v for s, v in stats.statuses.items() if s >= 500)
    print()
    print(f"soak: {elapsed / 60:.1f} min, {stats.decisions} decisions "
          f"({stats.decisions / elapsed:.0f}/s), {rewrites} key-file rewrites")
    print(f"  statuses: {dict(sorted(stats.statuses.items()))}")
    print(f"  by kind: " + ", ".join(f"{k}={s}:{v}" for (k, s), v in sorted(stats.by_kind.items())))
    print(f"  unexpected statuses: {dict(stats.unexpected) or 'none'}; "
          f"connection errors: {stats.connection_errors}")
    print(f"  reloads: {reloads}; generation {generation}")
    print(f"  RSS (MB) every 10 s: " + " ".join(f"{kb / 1024:.1f}" for _, kb in rss))
    print(f"  RSS after warm-up first {first / 1024:.1f} MB, last {last / 1024:.1f} MB, "
          f"peak {peak / 1024:.1f} MB, VmHWM {mem_end['VmHWM'] / 1024:.1f} MB: "
          f"{'GREW' if grew else 'no growth'}")
    print(f"  5xx: {fives}")
    print(f"  audit auth lines {audit_auth}, decisions received {stats.decisions}, "
          f"keygate_requests_total(/auth*) {requests_metric:.0f}, unparsable lines {bad_lines}: "
          f"{'EQUAL' if audit_auth == stats.decisions else 'DIFFERENT'}")
    print(f"  keygate exit status {code}")
    ok = (not grew and fives == 0 and audit_auth == stats.decisions and bad_lines == 0
          and not stats.unexpected and code == 0)
    print(f"soak: {'PASS' if ok else 'FAIL'}")
    if ok:
        bl.remove_workdir(work)
    else:
        print(f"  work dir kept: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
