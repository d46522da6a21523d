"""Hostile-input run: every attack of issue 21 against a real ``soc run`` on 127.0.0.1.

Starts ``soc run`` (TCP, UDP, TLS and HTTP inputs, the API, the embedded store) and
replays each attack in turn; ``soc ingest`` attacks run as their own processes. Per
attack it prints: accepted (what the service acknowledged or queued), stored and
dead-lettered (growth of the two collections once the queue drained), refused (what
the service answered with a refusal: 4xx/5xx, reset connections, dropped datagrams),
the peak RSS of the process under attack, and whether ``/health`` stayed truthful:
it answered within 5 s all along, and afterwards said ``ok`` exactly when the pipeline
was progressing: a probe syslog line was stored within 30 s, or the worker was still
acknowledging a backlog queued in front of it (``degraded`` otherwise). Rows of attacks
on ``soc ingest`` show that process's peak RSS (``-`` for the service's collections). At the end a
normal client's lines must all be stored, and the service's peak RSS must stay under
1 GB throughout.

    .venv/bin/python bench/hostile_bench.py [--scale 0.2] [--only NAME,...]

``--scale`` shrinks or grows the bulk attacks (1.0 = the issue's sizes: 1,500 lines of
1 MiB, 64 KB datagrams by the thousand, a 200 MB line); every loop is bounded in count
and time. The machine is shared: figures vary with its load.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.metrics import parse_text  # noqa: E402 - after the path fix above

KEY = "hostile-bench-key"
SOC = [sys.executable, "-c", "from soc_api.cli import main; main()"]
RSS_LIMIT_MB = 1024
POISON = b'{"winlog":{"event_id":4624,"channel":"Security"},"source":{"ip":18446744073709551615}}'


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Row:
    """One attack's outcome."""

    name: str
    accepted: int = 0
    stored: int = -1  # -1: not the service's (an own-process attack)
    dead: int = -1
    refused: int = 0
    peak_rss_mb: float = 0.0
    truthful: str = "-"
    note: str = ""


@dataclass
class Sampler:
    """Samples the service's RSS and /health in the background."""

    pid: int
    api: str
    peak: float = 0.0
    overall: float = 0.0
    health: list[tuple[str, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._rss, daemon=True).start()
        threading.Thread(target=self._health, daemon=True).start()

    def reset(self) -> None:
        self.peak = 0.0
        self.health = []

    def stop(self) -> None:
        self._stop.set()

    def _rss(self) -> None:
        while not self._stop.wait(0.05):
            value = rss_mb(self.pid)
            self.peak = max(self.peak, value)
            self.overall = max(self.overall, value)

    def _health(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(0.5):
                start = time.monotonic()
                try:
                    status = client.get(f"{self.api}/health").json().get("status", "?")
                except (httpx.HTTPError, ValueError):
                    status = "no answer"
                self.health.append((status, time.monotonic() - start))


class Service:
    """The ``soc run`` under attack."""

    def __init__(self, data: Path, pki: Path) -> None:
        self.data = data
        self.stderr_path = data.parent / "service.stderr"
        cmd = [*SOC, "run", "--syslog-tcp", "127.0.0.1:0", "--syslog-udp", "127.0.0.1:0",
               "--syslog-tls", "127.0.0.1:0", "--tls-cert", str(pki / "server.pem"),
               "--tls-key", str(pki / "server.key"),
               "--http", "127.0.0.1:0", "--api", "127.0.0.1:0", "--api-key", KEY, "--data-dir", str(data),
               "--queue-max-events", "10000"]
        self.stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        assert self.proc.stdout is not None
        ready = json.loads(self.proc.stdout.readline())
        ports = ready["listening"]
        self.tcp = next(v for k, v in ports.items() if k.startswith("syslog+tcp"))
        self.udp = next(v for k, v in ports.items() if k.startswith("syslog+udp"))
        self.tls = next(v for k, v in ports.items() if k.startswith("syslog+tls"))
        self.http = next(v for k, v in ports.items() if k.startswith("http"))
        self.api = f"http://127.0.0.1:{ports['api']}"
        self.client = httpx.Client(timeout=30, headers={"X-API-Key": KEY})

    def metrics(self) -> dict[str, dict[Any, float]]:
        return parse_text(self.client.get(f"{self.api}/metrics").text)

    def metric(self, name: str, **labels: str) -> float:
        values = self.metrics().get(name, {})
        return sum(v for k, v in values.items() if all(dict(k).get(a) == b for a, b in labels.items()))

    def count(self, collection: str, q: str = "*") -> int:
        r = self.client.get(f"{self.api}/count", params={"q": q, "collection": collection})
        return int(r.json()["count"]) if r.status_code == 200 else -1

    def drain(self, timeout_secs: float = 180, stall_secs: float = 20) -> bool:
        """Wait until the queue is empty (bounded; gives up sooner when the worker has
        acknowledged nothing for ``stall_secs`` while events wait)."""
        deadline = time.monotonic() + timeout_secs
        last_acked, last_move = -1.0, time.monotonic()
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if self.metric("soc_queue_depth") == 0:
                    return True
                acked = self.metric("soc_queue_events_total", outcome="acked")
                if acked != last_acked:
                    last_acked, last_move = acked, time.monotonic()
                elif time.monotonic() - last_move > stall_secs:
                    return False
            time.sleep(0.3)
        return False

    def probe_stored(self, timeout_secs: float = 30) -> bool:
        """A normal syslog line sent over TCP: is it stored within ``timeout_secs``?"""
        token = "probe" + uuid.uuid4().hex
        tcp_send(self.tcp, b"<13>Nov 22 12:00:00 probehost app: %s\n" % token.encode(), timeout=timeout_secs)
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                if self.count("events", token) > 0:
                    return True
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


# -- clients ---------------------------------------------------------------------------


def tcp_send(port: int, payload: bytes, timeout: float = 120, source: str = "127.0.0.1") -> bool:
    """Send, half-close, wait for the server's close: True when acknowledged (FIN)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(1) == b""
    except OSError:
        return False


def http_post(svc: Service, body: bytes, gzipped: bool = False) -> httpx.Response:
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    return svc.client.post(f"http://127.0.0.1:{svc.http}/ingest", content=body, headers=headers)


def accepted_of(r: httpx.Response) -> int:
    with contextlib.suppress(ValueError, AttributeError):
        return int(r.json().get("accepted", 0))
    return 0


def entry(message: str) -> bytes:
    """An HTTP entry the default parser recognises (a Windows event in JSON)."""
    return json.dumps({"winlog": {"event_id": 4624, "channel": "Security", "computer_name": "benchhost"},
                       "message": message}).encode()


def syslog_lines(tag: str, n: int) -> list[bytes]:
    return [f"<13>Nov 22 12:00:{i % 60:02d} benchhost app: {tag} line {i}".encode() for i in range(n)]


def run_soc(args: list[str], timeout: float, kill_after: float | None = None) -> tuple[int, str, float]:
    """Run a ``soc`` command: (exit code, last stderr line, peak RSS in MB from wait4)."""
    err_path = Path(tempfile.mkstemp(suffix=".stderr")[1])
    with err_path.open("wb") as err_file:
        proc = subprocess.Popen([*SOC, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err_file)
    deadline = time.monotonic() + (kill_after or timeout)
    # os.wait4, not Popen.poll (which would reap the child and lose its resource usage).
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.kill(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = err_path.read_text(errors="replace").strip().splitlines()
    err_path.unlink()
    traceback = any(line.startswith("Traceback") for line in err)
    last = ("TRACEBACK " if traceback else "") + (err[-1][:90] if err else "")
    return proc.returncode, last, usage.ru_maxrss / 1024


# -- the attacks -----------------------------------------------------------------------

Attack = Callable[[Service, Row, Path, float], None]


def poison_pill(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    lines = [POISON] + [entry(f"after the pill {i}") for i in range(9)]
    row.accepted += 10 if tcp_send(svc.tcp, b"\n".join(lines) + b"\n") else 0
    r = http_post(svc, b"\n".join(lines) + b"\n")
    row.accepted += accepted_of(r)
    row.note = f"HTTP {r.status_code}"


def poison_pill_soc_ingest(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    path = tmp / "poison.ndjson"
    path.write_bytes(POISON + b"\n" + entry("fine") + b"\n")
    code, last, rss = run_soc(["ingest", "--store", f"sqlite:///{tmp / 'poison.db'}", str(path)], 120)
    row.peak_rss_mb, row.note = rss, f"exit {code}: {last}"


def gzip_entry_bomb(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    bomb = gzip.compress(b"{}\n" * 33_000_000, compresslevel=9)  # 99 MB of entries in ~100 KB
    r = http_post(svc, bomb, gzipped=True)
    row.accepted += accepted_of(r)
    row.refused += r.status_code >= 400
    big = gzip.compress(b"".join(entry(f"bulk entry {i}") + b"\n" for i in range(int(100_000 * scale))))
    r2 = http_post(svc, big, gzipped=True)
    row.accepted += accepted_of(r2)
    row.refused += r2.status_code >= 400
    row.note = f"bomb {len(bomb) // 1024} KB -> {r.status_code}; {int(100_000 * scale)} entries -> {r2.status_code}"


def deep_nesting(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    def nested(depth: int) -> bytes:
        return b'{"a":' * depth + b"1" + b"}" * depth

    good = [entry(f"good {i}") for i in range(5)]
    body = b"\n".join([good[0], nested(255), good[1], nested(600), good[2], nested(1024), good[3], good[4]])
    r = http_post(svc, body)
    row.accepted += accepted_of(r)
    with contextlib.suppress(ValueError):
        row.refused += int(r.json().get("error_count", 0))
    row.note = f"HTTP {r.status_code}"


def multi_member_gzip(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    body = b"".join(gzip.compress(entry(f"member {m} line {i}") + b"\n") for m in range(3) for i in range(3))
    r = http_post(svc, body, gzipped=True)
    row.accepted += accepted_of(r)
    r2 = http_post(svc, gzip.compress(entry("x") + b"\n") + b"trailing garbage", gzipped=True)
    row.refused += r2.status_code >= 400
    row.note = f"9 lines in 9 members -> {r.status_code} accepted {accepted_of(r)}; garbage -> {r2.status_code}"


def deep_queries(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    queries = {"48 parens": "(" * 48 + "a" + ")" * 48, "96 NOTs": "NOT " * 96 + "a",
               "huge OR": " OR ".join(["a"] * 2000), "NUL field": "a\x00b:1"}
    codes = []
    for q in queries.values():
        codes.append(svc.client.get(f"{svc.api}/search", params={"q": q}).status_code)
    for cursor in ("!!not-a-cursor", "x" * 30_000):
        codes.append(svc.client.get(f"{svc.api}/search", params={"q": "*", "cursor": cursor}).status_code)
    row.refused = sum(400 <= c < 500 for c in codes)
    row.note = "statuses " + ",".join(map(str, codes)) + (" (5xx!)" if any(c >= 500 for c in codes) else "")


def damaged_files(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    notgz = tmp / "not.log.gz"
    notgz.write_bytes(b"<13>Nov 22 12:00:00 h app: plain text named .gz\n")
    full = gzip.compress(b"".join(b"<13>Nov 22 12:00:00 h app: line %d\n" % i for i in range(5000)))
    cut = tmp / "cut.log.gz"
    cut.write_bytes(full[: len(full) // 2])
    notes = []
    peak = 0.0
    for path in (notgz, cut):
        code, last, rss = run_soc(["ingest", "--store", f"sqlite:///{tmp / 'damaged.db'}", str(path)], 120)
        peak = max(peak, rss)
        notes.append(f"{path.name}: exit {code} {last[:60]}")
    evtx = sorted((Path(os.environ.get("SOC_CORPUS", ROOT.parent / "shared" / "corpus"))).rglob("*.evtx"),
                  key=lambda p: p.stat().st_size)
    if evtx:
        data = bytearray(evtx[-1].read_bytes())
        middle = len(data) // 2
        data[middle : middle + 4096] = os.urandom(4096)
        broken = tmp / "broken.evtx"
        broken.write_bytes(bytes(data))
        code, last, rss = run_soc(["ingest", "--store", f"sqlite:///{tmp / 'evtx.db'}", str(broken)], 300)
        peak = max(peak, rss)
        notes.append(f"evtx: exit {code} {last[:60]}")
    row.peak_rss_mb, row.note = peak, "; ".join(notes)


def metrics_write_failure(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    target = svc.data / "metrics.prom"
    blocker = svc.data / "metrics.tmp"
    blocker.mkdir()  # the next atomic write of the metrics file fails
    time.sleep(5)
    statuses = {s for s, _ in svc_sampler_health()}
    blocker.rmdir()
    before = target.stat().st_mtime if target.exists() else 0.0
    time.sleep(5)
    after = target.stat().st_mtime if target.exists() else 0.0
    row.note = f"health while failing: {sorted(statuses)}; file updated again: {after > before}"


def tls_close_notify(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    context = ssl.create_default_context(cafile=str(tmp / "pki" / "ca.pem"))
    orderly = resets = 0
    for c in range(20):
        payload = b"".join(b"<13>Nov 22 12:00:00 tlshost app: tls %d line %d\n" % (c, i) for i in range(50))
        try:
            with socket.create_connection(("127.0.0.1", svc.tls), timeout=30) as raw, \
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                conn.sendall(payload)
                plain = conn.unwrap()
                if plain.recv(1) == b"":
                    orderly += 1
                    row.accepted += 50
        except (OSError, ssl.SSLError):
            resets += 1
    row.note = f"20 TLS clients: {orderly} orderly close_notify + FIN, {resets} resets"


def connection_flood(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    refused_before = svc.metric("soc_receiver_refused_connections_total")
    timeouts_before = svc.metric("soc_receiver_timeouts_total")
    stderr_before = svc.stderr_path.stat().st_size
    held: list[socket.socket] = []
    opened = 0
    for _ in range(3000):  # idle TCP connections
        with contextlib.suppress(OSError):
            held.append(socket.create_connection(("127.0.0.1", svc.tcp), timeout=5))
            opened += 1
    for _ in range(500):  # slowloris: headers never finished
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", svc.http), timeout=5)
            sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-Key: ")
            held.append(sock)
            opened += 1
    for _ in range(50):  # a lying Content-Length
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", svc.http), timeout=5)
            sock.sendall(b"POST /ingest HTTP/1.1\r\nHost: x\r\nX-API-Key: " + KEY.encode()
                         + b"\r\nContent-Length: 100000\r\n\r\n{")
            held.append(sock)
            opened += 1
    # The attacker is 127.0.0.1; a normal sender elsewhere (127.0.0.2) must still get in.
    normal_ok = tcp_send(svc.tcp, b"\n".join(syslog_lines("during the flood", 100)) + b"\n", timeout=30,
                         source="127.0.0.2")
    health_ok = svc.client.get(f"{svc.api}/health", timeout=5).status_code
    row.accepted += 100 if normal_ok else 0
    time.sleep(12)  # past the HTTP header and body deadlines
    for sock in held:
        sock.close()
    row.refused = int(svc.metric("soc_receiver_refused_connections_total") - refused_before)
    timeouts = int(svc.metric("soc_receiver_timeouts_total") - timeouts_before)
    grown = svc.stderr_path.stat().st_size - stderr_before
    row.note = (f"{opened} connections opened; normal client acknowledged: {normal_ok}; /health {health_ok}; "
                f"{timeouts} timed out; stderr +{grown} bytes")


def big_tcp_lines(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    n = max(10, int(1500 * scale))
    line = b"<13>Nov 22 12:00:00 bighost app: " + b"m" * ((1 << 20) - 40)
    ok = 0
    for chunk in range(0, n, 50):
        count = min(50, n - chunk)
        payload = b"".join(line + b" %d\n" % (chunk + i) for i in range(count))
        ok += count if tcp_send(svc.tcp, payload, timeout=300) else 0
    row.accepted = ok
    row.note = f"{n} lines of 1 MiB"


def big_udp_datagrams(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    n = max(100, int(10_000 * scale))
    dropped_before = svc.metric("soc_receiver_dropped_total")
    queued_before = svc.metric("soc_receiver_queued_total")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for i in range(n):
            with contextlib.suppress(OSError):
                sock.sendto(b"<13>Nov 22 12:00:00 udphost app: %d " % i + b"u" * 64_000, ("127.0.0.1", svc.udp))
    time.sleep(2)
    row.refused = int(svc.metric("soc_receiver_dropped_total") - dropped_before)
    row.accepted = int(svc.metric("soc_receiver_queued_total") - queued_before)
    row.note = f"{n} datagrams of 64 KB sent (kernel drops are not counted here)"


def huge_line_soc_ingest(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    path = tmp / "huge.log"
    size = max(20, int(200 * scale)) << 20
    with path.open("wb") as out:
        out.write(b"<13>Nov 22 12:00:00 h app: ")
        block = b"z" * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)
        out.write(b"\n<13>Nov 22 12:00:01 h app: after the huge line\n")
    code, last, rss = run_soc(["ingest", "--store", f"sqlite:///{tmp / 'huge.db'}", str(path)], 600)
    path.unlink()
    row.peak_rss_mb, row.note = rss, f"{size >> 20} MB line: exit {code} {last[:60]}"


def dev_zero_soc_ingest(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    code, _, rss = run_soc(["ingest", "--store", f"sqlite:///{tmp / 'zero.db'}", "/dev/zero"], 60, kill_after=15)
    row.peak_rss_mb, row.note = rss, f"killed after 15 s (exit {code})"


def huge_octet_count(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    errors_before = svc.metric("soc_receiver_errors_total", reason="octet_count_over_limit")
    lines = syslog_lines("after the bogus count", 100)
    payload = b"999999999 <13>Nov 22 12:00:00 h app: bogus count\n" + b"\n".join(lines) + b"\n"
    row.accepted = 101 if tcp_send(svc.tcp, payload) else 0
    row.refused = int(svc.metric("soc_receiver_errors_total", reason="octet_count_over_limit") - errors_before)
    row.note = "the count is not trusted; the 100 lines after it stay separate"


def invalid_bytes(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    lines = [b"<13>Nov 22 12:00:00 h app: bytes \xff\xfe%d \xc3" % i for i in range(10)]
    row.accepted = 10 if tcp_send(svc.tcp, b"\n".join(lines) + b"\n") else 0
    kept = svc.count("events", "_exists_:event.original_base64") + svc.count("dead_letters",
                                                                           "_exists_:event.original_base64")
    row.note = f"documents keeping event.original_base64 so far: {kept}"


def second_service_and_corrupt_queue(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    code, last, _ = run_soc(["run", "--syslog-tcp", "127.0.0.1:0", "--data-dir", str(svc.data)], 30, kill_after=20)
    corrupt = tmp / "corrupt"
    corrupt.mkdir()
    (corrupt / "queue.db").write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    code2, last2, _ = run_soc(["run", "--syslog-tcp", "127.0.0.1:0", "--data-dir", str(corrupt)], 30, kill_after=20)
    row.refused = int(code != 0) + int(code2 != 0)
    row.note = f"same data dir: exit {code} {last[:50]}; corrupt queue: exit {code2} {last2[:50]}"


def fairness(svc: Service, row: Row, tmp: Path, scale: float) -> None:
    stop = threading.Event()

    def flood(c: int) -> None:
        i = 0
        while not stop.is_set() and i < 20:
            tcp_send(svc.tcp, b"".join(b"<13>Nov 22 12:00:00 flood app: c%d b%d l%d\n" % (c, i, j)
                                       for j in range(2000)), timeout=120)
            i += 1

    floods = [threading.Thread(target=flood, args=(c,), daemon=True) for c in range(8)]
    for t in floods:
        t.start()
    deadline = time.monotonic() + 60
    while svc.metric("soc_queue_depth") < 9000 and time.monotonic() < deadline:
        time.sleep(0.2)
    ok = refused = 0
    for i in range(20):
        r = http_post(svc, entry(f"fair share {i}"))
        ok += r.status_code == 200
        refused += r.status_code == 503
    stop.set()
    for t in floods:
        t.join(300)
    row.accepted, row.refused = ok, refused
    row.note = f"queue full (depth>=9000); HTTP 200: {ok}/20 while 8 TCP connections kept it full"


ATTACKS: dict[str, tuple[str, Attack]] = {
    "poison": ("1 poison pill (TCP+HTTP)", poison_pill),
    "poison-ingest": ("1 poison pill (soc ingest)", poison_pill_soc_ingest),
    "entry-bomb": ("2 gzip entry bomb / bulk", gzip_entry_bomb),
    "nesting": ("3 mixed deep nesting", deep_nesting),
    "multigzip": ("4 multi-member gzip", multi_member_gzip),
    "queries": ("5 deep queries (API)", deep_queries),
    "damaged": ("6 soc ingest damaged files", damaged_files),
    "metrics": ("7 metrics write failure", metrics_write_failure),
    "tls": ("8 TLS close_notify", tls_close_notify),
    "flood": ("9 connection flood", connection_flood),
    "tcp-1mib": ("10 TCP 1 MiB lines", big_tcp_lines),
    "udp-64k": ("10 UDP 64 KB datagrams", big_udp_datagrams),
    "huge-line": ("10 soc ingest huge line", huge_line_soc_ingest),
    "dev-zero": ("10 soc ingest /dev/zero", dev_zero_soc_ingest),
    "octet": ("11 huge octet count", huge_octet_count),
    "bytes": ("12 invalid UTF-8 bytes", invalid_bytes),
    "lock": ("13 second run / corrupt queue", second_service_and_corrupt_queue),
    "fair": ("14 fair sharing", fairness),
}
OWN_PROCESS = {"poison-ingest", "damaged", "huge-line", "dev-zero"}
_SAMPLER: Sampler | None = None


def svc_sampler_health() -> list[tuple[str, float]]:
    return list(_SAMPLER.health) if _SAMPLER is not None else []


def make_pki(d: Path) -> None:
    d.mkdir(parents=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=server")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def main() -> None:
    global _SAMPLER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.2, help="size of the bulk attacks (1.0: the issue's)")
    ap.add_argument("--only", default="", help="comma-separated attack names: " + ",".join(ATTACKS))
    args = ap.parse_args()
    chosen = [a for a in ATTACKS if not args.only or a in args.only.split(",")]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        make_pki(tmp / "pki")
        svc = Service(tmp / "data", tmp / "pki")
        sampler = _SAMPLER = Sampler(svc.proc.pid, svc.api)
        sampler.start()
        started = time.monotonic()
        try:
            for key in chosen:
                title, attack = ATTACKS[key]
                row = Row(title)
                sampler.reset()
                events0, dead0 = svc.count("events"), svc.count("dead_letters")
                t0 = time.monotonic()
                try:
                    attack(svc, row, tmp, args.scale)
                except Exception as exc:  # a bench attack failing is a finding, not a stop
                    row.note = f"attack error: {type(exc).__name__}: {exc}"[:120]
                drained = svc.drain()
                alive = svc.proc.poll() is None
                acked0 = svc.metric("soc_queue_events_total", outcome="acked") if alive else 0.0
                stored = svc.probe_stored() if alive else False
                # Progressing: the probe was stored, or the worker is still working through
                # a backlog (acknowledging events) in front of it.
                progressing = stored or (alive and svc.metric("soc_queue_events_total", outcome="acked") > acked0)
                health = sampler.health
                answered = bool(health) and all(status != "no answer" and secs < 5 for status, secs in health)
                last = health[-1][0] if health else "none"
                truthful = answered and ((last == "ok") == progressing)
                probe = "stored" if stored else ("behind a backlog" if progressing else "NOT stored")
                row.truthful = f"{'yes' if truthful else 'NO'} ({last}, probe {probe})"
                if key not in OWN_PROCESS:  # those write their own store, not the service's
                    row.stored = svc.count("events") - events0 - (1 if stored else 0)
                    row.dead = svc.count("dead_letters") - dead0
                if key not in OWN_PROCESS:
                    row.peak_rss_mb = sampler.peak
                if not drained:
                    row.note += " [queue not drained: the worker stalled or 180 s passed]"
                rows.append(row)
                print(f"  {title}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
                if not alive:
                    row.note += " [SERVICE DIED]"
                    break
            normal = syslog_lines("normal client after the run", 100)
            acked = tcp_send(svc.tcp, b"\n".join(normal) + b"\n")
            http = http_post(svc, b"\n".join(entry(f"normal http {i}") for i in range(100)))
            svc.drain()
            tcp_stored = svc.count("events", '"normal client after the run"')
            http_stored = svc.count("events", '"normal http"')
        finally:
            sampler.stop()
            svc.stop()
        stderr_size = svc.stderr_path.stat().st_size
        elapsed = time.monotonic() - started

    print(f"\nhostile-input run: scale {args.scale}, {elapsed:.0f} s, one soc run (queue limit 10,000 events),"
          " 2 shared cores (other work running)")
    header = f"{'attack':32} {'accepted':>9} {'stored':>7} {'dead':>5} {'refused':>7} {'peak RSS':>9}  health truthful"
    print(header)
    print("-" * len(header))
    for r in rows:
        stored, dead = (str(r.stored), str(r.dead)) if r.stored >= 0 else ("-", "-")
        print(f"{r.name:32} {r.accepted:>9} {stored:>7} {dead:>5} {r.refused:>7} "
              f"{r.peak_rss_mb:>7.0f}MB  {r.truthful}")
        if r.note:
            print(f"{'':34}{r.note}")
    print(f"\nservice peak RSS over the whole run: {sampler.overall:.0f} MB "
          f"({'under' if sampler.overall < RSS_LIMIT_MB else 'OVER'} {RSS_LIMIT_MB} MB); "
          f"service stderr: {stderr_size} bytes")
    print(f"normal client after the run: TCP acknowledged {acked}, stored {tcp_stored}/100; "
          f"HTTP {http.status_code}, stored {http_stored}/100")


if __name__ == "__main__":
    main()
