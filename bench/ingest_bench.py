"""Benchmark: sustained events per second from TCP syslog through ``soc run`` to a store.

Starts ``soc run`` (a real process) with a TCP syslog receiver and the chosen store,
sends N syslog lines over a few connections (each closed with the close handshake, so
"received" means durably queued), and reports:
* ingest rate: lines per second until the last connection was acknowledged (queued);
* end-to-end rate: lines per second until the store held them all;
* the largest queue depth seen and the service's peak resident memory.

    .venv/bin/python bench/ingest_bench.py --store sqlite --events 100000
    .venv/bin/python bench/ingest_bench.py --store elasticsearch --events 50000

The Elasticsearch case runs against osmem-server (in memory), so its figures say what
the pipeline costs, not what a real cluster would sustain.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.metrics import parse_text  # noqa: E402 - after the path fix above


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def send(port: int, lines: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(b"".join(line + b"\n" for line in lines))
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1)  # the server closes once everything is queued


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", choices=["sqlite", "elasticsearch"], default="sqlite")
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=2000)
    args = ap.parse_args()

    server = None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        if args.store == "elasticsearch":
            from osmem_server import OsmemServer

            server = OsmemServer.start(addr="127.0.0.1:0", japanese=False)
            clone = server.clone()
            store_url = clone.url
        else:
            store_url = f"sqlite:///{data / 'store.db'}"
        cmd = [sys.executable, "-c", "from soc_api.cli import main; main()", "run",
               "--syslog-tcp", "127.0.0.1:0", "--api", "127.0.0.1:0", "--store", store_url,
               "--data-dir", str(data), "--parser", "system.syslog", "--batch-size", str(args.batch_size)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        tcp = next(v for k, v in ready["listening"].items() if k.startswith("syslog+tcp"))
        api = f"http://127.0.0.1:{ready['listening']['api']}"
        lines = [f"<38>Nov 22 12:00:{i % 60:02d} web{i % 20} sshd[{i}]: Accepted password for user{i % 97} "
                 f"from 10.{i % 256}.{(i // 256) % 256}.{i % 7} port {1024 + i % 60000} ssh2".encode()
                 for i in range(args.events)]
        per = -(-len(lines) // args.connections)
        max_depth, peak_rss, stored = 0.0, 0.0, 0.0
        t0 = time.perf_counter()
        senders = [threading.Thread(target=send, args=(tcp, lines[i * per : (i + 1) * per]))
                   for i in range(args.connections)]
        for t in senders:
            t.start()
        queued_at = None
        with httpx.Client(timeout=10) as client:
            deadline = time.monotonic() + 3600
            while time.monotonic() < deadline:
                metrics = parse_text(client.get(f"{api}/metrics").text)
                max_depth = max(max_depth, metrics.get("soc_queue_depth", {}).get((), 0.0))
                stored = sum(v for k, v in metrics.get("soc_pipeline_events_total", {}).items()
                             if dict(k).get("outcome") in ("stored", "duplicates"))
                peak_rss = max(peak_rss, rss_mb(proc.pid))
                if queued_at is None and not any(t.is_alive() for t in senders):
                    queued_at = time.perf_counter() - t0
                if stored >= args.events:
                    break
                time.sleep(0.2)
        total = time.perf_counter() - t0
        proc.terminate()
        proc.wait(60)
        proc.stdout.close()
        if server is not None:
            osmem_rss = rss_mb(server.pid)
            server.close()
            if server.process.stdout is not None:
                server.process.stdout.close()
        print(f"store={args.store} events={args.events} connections={args.connections} batch={args.batch_size}")
        print(f"ingest (queued, acknowledged): {args.events / (queued_at or total):,.0f} events/s "
              f"in {queued_at or total:.1f} s")
        print(f"end to end (stored):          {stored / total:,.0f} events/s in {total:.1f} s")
        print(f"max queue depth: {max_depth:,.0f}   service peak RSS: {peak_rss:,.0f} MB")
        if server is not None:
            print(f"osmem-server RSS at the end: {osmem_rss:,.0f} MB")


if __name__ == "__main__":
    main()
