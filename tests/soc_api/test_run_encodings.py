"""Issue #20 item 3 on ``soc run``: receivers configured with a legacy Vietnamese encoding
(per receiver ``HOST:PORT[=PARSER]@ENCODING``, run-wide ``--encoding``, or a config file
input's ``encoding``), tested with a real ``soc run`` process over TCP syslog."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import pytest

from soc_api.commands.run import split_encoding
from tests.conftest import reap
from tests.soc_core.test_legacy_encodings import TCVN3, TEXT, VNI

ROOT = Path(__file__).resolve().parents[2]
KEY = "enc-key"
HEADER = b"<13>Dec  7 10:00:00 %s app[7]: "


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _events(args: list[str], lines: dict[int, bytes], expect: int) -> list[dict[str, Any]]:
    """Start ``soc run`` with ``args``, send each of ``lines`` (port -> one line, newline
    framing) over TCP, and return the stored events."""
    proc = subprocess.Popen([sys.executable, "-c", "from soc_api.cli import main; main()", "run", *args,
                             "--api", "127.0.0.1:0", "--api-key", KEY],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        for port, line in lines.items():
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(line + b"\n")
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{ready['listening']['api']}", timeout=10,
                          headers={"X-API-Key": KEY}) as client:
            while len(events) < expect and time.monotonic() < deadline:
                events = client.get("/search", params={"q": "*"}).json()["events"]
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        return events
    finally:
        reap(proc)


def test_per_receiver_and_run_wide_encodings_over_tcp(tmp_path: Path) -> None:
    """Port A says ``@tcvn3``, port B takes the run-wide ``--encoding vni``; both decode to
    the same Vietnamese text and keep their exact bytes (today: ``no such option``)."""
    abc, vni = _free_port(), _free_port()
    lines = {abc: HEADER % b"abchost" + TCVN3, vni: HEADER % b"vnihost" + VNI}
    args = ["--syslog-tcp", f"127.0.0.1:{abc}=system.syslog@tcvn3", "--syslog-tcp", f"127.0.0.1:{vni}",
            "--encoding", "vni", "--data-dir", str(tmp_path / "data"), "--parser", "system.syslog"]
    events = {e["host"]["hostname"]: e for e in _events(args, lines, 2)}
    assert set(events) == {"abchost", "vnihost"}
    for host, port in (("abchost", abc), ("vnihost", vni)):
        assert events[host]["message"] == TEXT
        assert base64.b64decode(events[host]["event"]["original_base64"]) == lines[port]


def test_a_config_file_input_names_its_encoding(tmp_path: Path) -> None:
    config = tmp_path / "soc.toml"
    port = _free_port()
    config.write_text(f'store = "sqlite:///{tmp_path / "s.db"}"\n'
                      f'[[inputs]]\ntype = "syslog_tcp"\nlisten = "127.0.0.1:{port}"\nparser = "system.syslog"\n'
                      'encoding = "tcvn3"\n', encoding="utf-8")
    line = HEADER % b"abchost" + TCVN3
    events = _events(["--config", str(config), "--data-dir", str(tmp_path / "data")], {port: line}, 1)
    [event] = events
    assert event["message"] == TEXT
    assert base64.b64decode(event["event"]["original_base64"]) == line


def test_split_encoding() -> None:
    assert split_encoding("127.0.0.1:514=system.auth@ABC") == ("127.0.0.1:514=system.auth", "tcvn3")
    assert split_encoding("127.0.0.1:514", "vni") == ("127.0.0.1:514", "vni")
    assert split_encoding("/var/log/a@b.log", glob=True) == ("/var/log/a@b.log", None)
    with pytest.raises(click.BadParameter, match="unknown encoding"):
        split_encoding("127.0.0.1:514@tcvn4")
