"""Debian's rsyslogd forwarding to ``soc run``: octet-counted TCP and TLS (RFC 5425), in
rsyslog's RFC 5424 template, each line stored once per path with nothing lost.

rsyslogd runs with its own configuration in a temporary folder, on 127.0.0.1 only: it
listens on a free TCP port (imtcp), and forwards every line it gets to both of
``soc run``'s syslog receivers (omfwd, ``TCP_Framing="octet-counted"``; the second over
gtls, checking our server certificate against the test CA).
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soc_core.query.grammar import parse_query
from soc_store import open_store
from tests.ingest.receivers.certs import make_pki

ROOT = Path(__file__).resolve().parents[2]
LINES = 40
RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
GTLS = next(Path("/usr/lib").glob("*/rsyslog/lmnsd_gtls.so"), Path("/usr/lib/rsyslog/lmnsd_gtls.so"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rsyslog_conf(work: Path, ca: Path, listen: int, tcp: int, tls: int) -> str:
    return f"""
global(workDirectory="{work}" defaultNetstreamDriverCAFile="{ca}" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{listen}")
action(type="omfwd" target="127.0.0.1" port="{tcp}" protocol="tcp" TCP_Framing="octet-counted"
       template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1")
action(type="omfwd" target="127.0.0.1" port="{tls}" protocol="tcp" TCP_Framing="octet-counted"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid"
       template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1" action.resumeInterval="1")
"""


@pytest.mark.skipif(not Path(RSYSLOGD).exists() or not GTLS.exists(),
                    reason="Debian's rsyslog and rsyslog-gnutls are not installed (scripts/install-system-deps.sh)")
def test_rsyslog_forwards_over_octet_counted_tcp_and_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    data = tmp_path / "data"
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    run = subprocess.Popen(
        [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--syslog-tcp", "127.0.0.1:0",
         "--syslog-tls", "127.0.0.1:0", "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
         "--data-dir", str(data), "--store", store_url, "--batch-size", "10"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rsyslog: subprocess.Popen[str] | None = None
    try:
        assert run.stdout is not None
        ports = json.loads(run.stdout.readline())["listening"]
        tcp = next(v for k, v in ports.items() if k.startswith("syslog+tcp"))
        tls = next(v for k, v in ports.items() if k.startswith("syslog+tls"))
        listen = free_port()
        work = tmp_path / "rsyslog"
        work.mkdir()
        conf = work / "rsyslog.conf"
        conf.write_text(rsyslog_conf(work, pki.ca, listen, tcp, tls))
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        rsyslog = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while True:  # rsyslogd's listener comes up after its configuration is loaded
            try:
                sender = socket.create_connection(("127.0.0.1", listen), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and rsyslog.poll() is None, "rsyslogd did not listen"
                time.sleep(0.1)
        with sender:
            for n in range(LINES):
                sender.sendall(f"<38>Dec  1 10:00:{n % 60:02d} web01 sshd[4242]: Failed password for invalid user "
                               f"u{n} from 10.0.{n // 250}.{n % 250 + 1} port 22 ssh2\n".encode())
        store = open_store(store_url)
        try:
            auth = parse_query('event.dataset:"system.auth" AND event.outcome:failure')
            stored = 0
            deadline = time.monotonic() + 60
            while stored < 2 * LINES and time.monotonic() < deadline:
                time.sleep(0.2)
                stored = store.count("events", auth)
            assert stored == 2 * LINES  # every line, once over TCP and once over TLS
            assert store.count("dead_letters", parse_query("*")) == 0
            assert store.count("events", parse_query("source.ip:10.0.0.8 AND user.name:u7")) == 2
            # rsyslog's RFC 5424 template reached us (the program parsed all the same).
            hit = store.search("events", parse_query("user.name:u7"), limit=1)
            event = hit.events[0]
            assert event["log"]["syslog"]["version"] == "1"
        finally:
            store.close()
    finally:
        if rsyslog is not None:
            rsyslog.terminate()
            rsyslog.wait(15)
            for stream in (rsyslog.stdout, rsyslog.stderr):
                if stream is not None:
                    stream.close()
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(30)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(10)
            for stream in (run.stdout, run.stderr):
                if stream is not None:
                    stream.close()
