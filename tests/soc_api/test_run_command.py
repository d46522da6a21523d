"""``soc run`` as a real process: UDP, TLS and a tailed file in, the API out, a graceful
stop on SIGTERM, and ``soc status`` reading what it left."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from soc_api.commands.status import command as status_command
from tests.conftest import reap
from tests.ingest.receivers.certs import make_pki

ROOT = Path(__file__).resolve().parents[2]
KEY = "run-key"


def test_soc_run_receives_serves_and_stops_gracefully(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    log = tmp_path / "app.log"
    log.write_text("<13>Nov 22 12:00:00 filehost app: from the file\n")
    data = tmp_path / "data"
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run",
            "--syslog-udp", "127.0.0.1:0", "--syslog-tls", "127.0.0.1:0=system.syslog",
            "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca),
            "--tail", f"{tmp_path}/*.log", "--api", "127.0.0.1:0", "--api-key", KEY,
            "--data-dir", str(data), "--parser", "system.syslog"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        ports = ready["listening"]
        udp = next(v for k, v in ports.items() if k.startswith("syslog+udp"))
        tls = next(v for k, v in ports.items() if k.startswith("syslog+tls"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"<13>Nov 22 12:00:01 udphost app: over udp", ("127.0.0.1", udp))
        context = ssl.create_default_context(cafile=str(pki.ca))
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        msg = b"<13>Nov 22 12:00:02 tlshost app: over tls"
        with socket.create_connection(("127.0.0.1", tls), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            conn.sendall(str(len(msg)).encode() + b" " + msg)
        api = f"http://127.0.0.1:{ports['api']}"
        hosts: set[str] = set()
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=api, timeout=10, headers={"X-API-Key": KEY}) as client:
            while len(hosts) < 3 and time.monotonic() < deadline:
                events = client.get("/api/v1/events/search", params={"q": "*"}).json()["documents"]
                hosts = {e["host"]["hostname"] for e in events}
                time.sleep(0.1)
            assert hosts == {"udphost", "tlshost", "filehost"}
            assert client.get("/health").json()["status"] == "ok"
            assert "soc_receiver_queued_total" in client.get("/metrics").text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        reap(proc)
    result = CliRunner().invoke(status_command, ["--data-dir", str(data)])
    assert result.exit_code == 0
    assert "pipeline: " in result.output and "stored=3" in result.output
