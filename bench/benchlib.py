"""Helpers shared by bench/bench.py and bench/soak/soak.py: keys, key files, processes
(keygate, nginx, uvicorn) on free ports pinned to a core, wrk runs, CPU and RSS readings.

Every key made here is random and exists only in a temp dir of one run ("pk_bench_..." and
"pk_acme_corp_..." in keygate's generated format, with its CRC-32 check characters).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = "0"  # the server side of every measurement
CLIENT_CPU = "1"  # wrk / the Python clients

# Debian installs nginx in /usr/sbin, which a non-root PATH may lack.
if "/usr/sbin" not in os.environ.get("PATH", "").split(":"):
    os.environ["PATH"] = os.environ.get("PATH", "") + ":/usr/sbin"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- keys ---------------------------------------------------------------------------------
def base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def with_check(stem: str) -> str:
    """`stem` + the 6-character base62 CRC-32 that keygate's key format ends with."""
    return stem + base62(zlib.crc32(stem.encode()), 6)


def make_key(tenant: str = "acme_corp", prefix: str = "pk", body: str | None = None) -> str:
    """A random key in `keygate generate`'s format: {prefix}_{tenant}_{30 base62}{check}."""
    if body is None:
        body = "".join(secrets.choice(BASE62) for _ in range(30))
    return with_check(f"{prefix}_{tenant}_{body}")


def secret_of(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_entry(key_id: str, secret: str, *, tenant: str = "acme_corp", role: str = "analyst",
              extra: str = "", full: bool = False, previous: str | None = None) -> str:
    """One api_keys entry in block style. `full` uses every field of the format."""
    lines = [f'  - key_hash: "{secret}"', f"    id: {key_id}", f"    tenant: {tenant}",
             f"    role: {role}"]
    if full:
        lines += [f'    description: "benchmark key {key_id}"',
                  '    allowed_datasets: [orders, "cust*"]',
                  "    denied_datasets: [orders_raw]",
                  "    permissions: [read]",
                  "    enabled: true",
                  "    not_before: 2025-01-01T00:00:00Z",
                  "    expires_at: 2099-12-31T23:59:59Z",
                  "    rate_limit: 60000000",  # far above any benchmark rate: limited, never refused
                  "    daily_limit: 100000000000",
                  "    ip_allowlist: [127.0.0.0/8, 10.0.0.0/8]"]
        if previous:
            lines += ["    previous_keys:",
                      f'      - {{key_hash: "{previous}", expires_at: 2099-01-01T00:00:00Z}}']
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def filler_secrets(count: int, seed: str = "filler") -> list[str]:
    """`count` distinct sha256 secrets of keys nobody holds (fast: no key format needed)."""
    return ["sha256:" + hashlib.sha256(f"{seed}-{i}-{secrets.token_hex(8)}".encode()).hexdigest()
            for i in range(count)]


def write_atomically(path: Path, text: str) -> None:
    """Writes `text` next to `path` and renames it over: the file changes in one step."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --- ports and processes --------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(what: str, predicate, timeout: float = 20.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def http_get(port: int, path: str, headers: dict | None = None, timeout: float = 2.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, dict(res.getheaders()), res.read()
    finally:
        conn.close()


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes (all their threads, dead ones included)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK_TCK


def thread_cpu_seconds(pid: int) -> float:
    """CPU time of the live threads of `pid` in nanosecond resolution (schedstat), for
    figures too small for clock ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def wakeups(pid: int) -> int:
    """Context switches of all live threads of `pid` (each is a wake-up of a thread)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def memory_kb(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


class Process:
    """A child process started in its own process group, stopped with SIGTERM (then KILL)."""

    def __init__(self, name: str, argv: list[str], *, env: dict | None = None,
                 cpu: str | None = None, stdout=None, stderr=None):
        self.name = name
        if cpu is not None:
            argv = ["taskset", "-c", cpu] + argv
        self.proc = subprocess.Popen(argv, env=env, stdout=stdout or subprocess.DEVNULL,
                                     stderr=stderr or subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


KEYGATE_ENV_VARS = ["API_KEY_ADMIN", "API_KEY_DEFAULT", "API_KEY_ADMIN_FILE",
                    "API_KEY_DEFAULT_FILE", "KEYGATE_DEFAULT_ROLE", "KEYGATE_DEFAULT_TENANT",
                    "KEYGATE_CONFIG", "KEYGATE_LISTEN", "KEYGATE_ENV_FILE", "KEYGATE_HASH_PEPPER",
                    "KEYGATE_GRACE_PERIOD", "KEYGATE_TRUSTED_PROXIES", "KEYGATE_AUDIT_LOG",
                    "KEYGATE_LOG_LEVEL", "KEYGATE_LOG_FORMAT", "KEYGATE_STATE_DIR"]


def unix_get(path: str, url_path: str, timeout: float = 2.0) -> int:
    """The status of GET `url_path` over the unix socket at `path` (0: no answer)."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(f"GET {url_path} HTTP/1.1\r\nHost: keygate\r\nConnection: close\r\n\r\n"
                  .encode())
        head = s.recv(64)
    parts = head.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def start_keygate_unix(binary: Path, config: Path, workdir: Path, socket_path: Path, *,
                       cpu: str | None = SERVER_CPU) -> Process:
    """`keygate serve --listen unix:SOCKET`, ready (/readyz 200 over the socket)."""
    env = {k: v for k, v in os.environ.items() if k not in KEYGATE_ENV_VARS}
    env["KEYGATE_AUDIT_LOG"] = str(workdir / "audit.log")
    env["KEYGATE_LOG_LEVEL"] = "warn"
    proc = Process("keygate", [str(binary), "serve", "--config", str(config), "--listen",
                               f"unix:{socket_path}"], env=env, cpu=cpu,
                   stderr=open(workdir / "keygate.log", "ab"))

    def ready():
        if not proc.alive():
            return "gone"
        try:
            return unix_get(str(socket_path), "/readyz", timeout=1.0) == 200
        except OSError:
            return False

    if wait_until("keygate /readyz (unix)", ready, 30.0) is True:
        return proc
    proc.stop()
    raise RuntimeError(f"keygate did not start; see {workdir / 'keygate.log'}")


def start_keygate(binary: Path, config: Path, workdir: Path, *, cpu: str | None = SERVER_CPU,
                  audit: str | None = None, extra_env: dict | None = None,
                  ready_timeout: float = 30.0) -> tuple[Process, int]:
    """`keygate serve` on a free port, ready (/readyz 200). Returns the process and port."""
    env = {k: v for k, v in os.environ.items() if k not in KEYGATE_ENV_VARS}
    env["KEYGATE_AUDIT_LOG"] = audit or str(workdir / "audit.log")
    env["KEYGATE_LOG_LEVEL"] = "warn"
    env.update(extra_env or {})
    for _ in range(3):
        port = free_port()
        proc = Process("keygate", [str(binary), "serve", "--config", str(config), "--listen",
                                   f"127.0.0.1:{port}"], env=env, cpu=cpu,
                       stderr=open(workdir / "keygate.log", "ab"))

        def ready():
            if not proc.alive():
                return "gone"
            try:
                return http_get(port, "/readyz", timeout=1.0)[0] == 200
            except OSError:
                return False

        if wait_until("keygate /readyz", ready, ready_timeout) is True:
            return proc, port
        proc.stop()
    raise RuntimeError(f"keygate did not start; see {workdir / 'keygate.log'}")


def start_nginx(workdir: Path, name: str, http_body: str, ports: list[int], *,
                cpu: str | None = SERVER_CPU, workers: int = 1) -> Process:
    """nginx as a non-root user or root, with `http_body` inside `http { }`, from its own
    prefix under `workdir`; waits until every port in `ports` listens."""
    prefix = workdir / name
    for d in ("logs", "temp", "conf"):
        (prefix / d).mkdir(parents=True, exist_ok=True)
    temp = prefix / "temp"
    conf = prefix / "conf" / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(f"""{user}worker_processes {workers};
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{http_body}
}}
""")
    check = subprocess.run(["nginx", "-t", "-q", "-p", f"{prefix}/", "-c", str(conf), "-e",
                            f"{prefix}/logs/error.log"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed for {conf}: {check.stderr}")
    proc = Process(f"nginx-{name}", ["nginx", "-p", f"{prefix}/", "-c", str(conf), "-e",
                                     f"{prefix}/logs/error.log"], cpu=cpu)
    wait_until(f"nginx {name}", lambda: not proc.alive() or all(port_open(p) for p in ports), 10)
    if not proc.alive():
        raise RuntimeError(f"nginx {name} exited; see {prefix}/logs/error.log")
    return proc


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    server_cpu_s: float = 0.0
    raw: str = field(default="", repr=False)

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def _latency_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(url: str, headers: dict[str, str], *, seconds: int, connections: int = 16,
            threads: int = 1, server_pids: list[int] | None = None,
            cpu: str = CLIENT_CPU) -> WrkResult:
    """wrk on the client core; server CPU time is read around it from /proc."""
    argv = ["taskset", "-c", cpu, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
            "--latency", "--timeout", "2s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    pids = server_pids or []
    before = cpu_seconds(pids)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pids) - before
    r = WrkResult(raw=out, server_cpu_s=used)
    m = re.search(r"(\d+) requests in ([\d.]+)(s|ms|m)", out)
    r.requests = int(m.group(1))
    r.seconds = float(m.group(2)) * {"s": 1, "ms": 1e-3, "m": 60}[m.group(3)]
    r.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    r.p50_ms = _latency_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    r.p99_ms = _latency_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r.non_2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r.socket_errors = sum(int(g) for g in m.groups()) if m else 0
    return r


def config_path(workdir: Path) -> Path:
    """Where a run's key file goes: a directory of its own. keygate's file watcher watches
    the key file's directory, and events of other files there (the audit log written on
    every request) postpone its debounce, so logs must live elsewhere."""
    (workdir / "conf").mkdir(exist_ok=True)
    return workdir / "conf" / "keys.yaml"


def make_workdir(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"keygate-{name}-"))


def remove_workdir(path: Path) -> None:
    if not os.environ.get("BENCH_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)
