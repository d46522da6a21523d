"""End to end: ``soc run`` with a web model and a host behaviour model loaded, as real
processes over TCP syslog. A replay of normal traffic gives no anomaly alert; a burst of
unusual requests and a camera node's new outbound pattern give explained alerts."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from tests.conftest import reap
from tests.correlation.anomaly._support import (
    ATTACKS,
    access_lines,
    camera_lines,
    normal_requests,
    outbound_burst,
)

ROOT = Path(__file__).resolve().parents[3]
# An access log does not hold POST bodies: the attacks there are seen by http.raw or
# ModSecurity events (test_web), not here.
IN_ACCESS_LOG = [a for a in ATTACKS if not a[2]]


def _train(tmp_path: Path, start: datetime) -> tuple[Path, Path]:
    web_train = tmp_path / "access.log"
    web_train.write_text("\n".join(access_lines(normal_requests(1500, seed=1), start, seed=1)) + "\n")
    host_train = tmp_path / "cameras.log"
    host_train.write_text("\n".join(camera_lines(start, 40, seed=1)) + "\n")
    runner = CliRunner()
    web_model, host_model = tmp_path / "web-model", tmp_path / "host-model"
    result = runner.invoke(cli, ["anomaly", "train", "--kind", "web", "--parser", "apache.access",
                                 "--out", str(web_model), str(web_train)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["anomaly", "train", "--kind", "host", "--parser", "iptables.log", "--window-secs",
                                 "60", "--min-history", "5", "--out", str(host_model), str(host_train)])
    assert result.exit_code == 0, result.output
    return web_model, host_model


def _send(port: int, lines: list[str]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall("".join(line + "\n" for line in lines).encode())


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def _wait(db: Path, sql: str, at_least: int, secs: float = 60) -> int:
    deadline = time.monotonic() + secs
    found = _count(db, sql)
    while found < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        found = _count(db, sql)
    return found


@pytest.mark.slow
def test_soc_run_turns_unusual_requests_and_outbound_pattern_into_explained_alerts(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    web_model, host_model = _train(tmp_path, now - timedelta(hours=3))
    data = tmp_path / "data"
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run",
            "--syslog-tcp", "127.0.0.1:0",
            "--anomaly-model", str(web_model), "--anomaly-model", str(host_model), "--data-dir", str(data)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = data / "store.db"
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        # One receiver, ``auto`` routing: access-log lines and iptables lines side by side.
        port = next(port for name, port in ready["listening"].items() if name.startswith("syslog+tcp"))
        # Phase 1: a replay of normal traffic (other draws from the same behaviour).
        normal_web = access_lines(normal_requests(300, seed=7), now - timedelta(minutes=50), seed=7)
        normal_hosts = camera_lines(now - timedelta(minutes=50), 15, seed=7)
        _send(port, normal_web)
        _send(port, normal_hosts)
        total = len(normal_web) + len(normal_hosts)
        assert _wait(db, "SELECT count(*) FROM events", total) == total
        time.sleep(17)  # idle close (10 s) plus a detector flush interval (5 s): every window closed
        assert _count(db, "SELECT count(*) FROM alerts") == 0
        # Phase 2: the burst of unusual requests, and cam02 calling out to new addresses.
        attacks = access_lines(ATTACKS, now - timedelta(minutes=20), seed=3)
        _send(port, attacks)
        # Inside one 60 s window of the host model, so one window holds the whole burst.
        _send(port, outbound_burst((now - timedelta(minutes=20)).replace(second=0)))
        web_alerts = _wait(db, "SELECT count(*) FROM alerts WHERE json_extract(doc, '$.anomaly.kind') = 'web'",
                           len(IN_ACCESS_LOG))
        host_alerts = _wait(db, "SELECT count(*) FROM alerts WHERE json_extract(doc, '$.anomaly.kind') = "
                                "'entity.host'", 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        reap(proc)
    assert web_alerts == len(IN_ACCESS_LOG)
    assert host_alerts == 1
    with sqlite3.connect(db) as conn:
        # The built-in Sigma rules run too (SQL injection in the burst): only the anomaly alerts here.
        docs = [json.loads(row[0]) for row in conn.execute(
            "SELECT doc FROM alerts WHERE json_extract(doc, '$.anomaly.kind') IS NOT NULL")]
    host = next(d for d in docs if d["anomaly"]["kind"] == "entity.host")
    assert host["host"]["name"] == "cam02"
    assert host["anomaly"]["reasons"][0]["field"] == "new_destinations"
    assert host["anomaly"]["reasons"][0]["value"] == 25
    for doc in docs:
        assert doc["anomaly"]["score"] > doc["anomaly"]["threshold"]
        assert doc["anomaly"]["reasons"], doc["message"]
        assert all(r["baseline"] and r["text"] and r["text_vi"] for r in doc["anomaly"]["reasons"])
