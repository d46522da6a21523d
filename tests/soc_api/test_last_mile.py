"""Issue #20 item 13: ``soc scan --store`` stores its alerts, ``--tz`` sets
``event.timezone``, and ``--display-tz`` chooses the zone of times printed for people."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
from click.testing import CliRunner

from soc_api.cli import cli

# The EICAR test string (eicar.org), written here so the test needs no corpus.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
LINE = "Dec  7 10:00:00 srv sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n"


def invoke(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_scan_stores_its_alerts_once(tmp_path: Path) -> None:
    sample = tmp_path / "files" / "eicar.com"
    sample.parent.mkdir()
    sample.write_bytes(EICAR)
    db = f"sqlite:///{tmp_path / 's.db'}"
    first = CliRunner().invoke(cli, ["scan", "--store", db, str(sample.parent)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    printed = [orjson.loads(x) for x in first.stdout.splitlines()]
    assert printed and "stored 1 new alerts, 0 already present" in first.stderr
    stored = [orjson.loads(x) for x in invoke("search", "--store", db, "--collection", "alerts", "*").splitlines()]
    assert [a["event"]["id"] for a in stored] == [a["event"]["id"] for a in printed]
    again = CliRunner().invoke(cli, ["scan", "--store", db, str(sample.parent)], catch_exceptions=False)
    assert "stored 0 new alerts, 1 already present" in again.stderr


def test_tz_sets_event_timezone(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(LINE)
    named = orjson.loads(invoke("parse", "--tz", "Asia/Ho_Chi_Minh", str(log)))
    assert named["event"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert named["@timestamp"].startswith("20") and named["@timestamp"][11:13] == "03"
    offset = orjson.loads(invoke("parse", "--tz", "+07:00", str(log)))
    assert offset["event"]["timezone"] == "+07:00"
    assert "timezone" not in orjson.loads(invoke("parse", str(log)))["event"]  # UTC, the default
    db = f"sqlite:///{tmp_path / 's.db'}"
    invoke("ingest", "--store", db, "--tz", "Asia/Ho_Chi_Minh", str(log))
    assert invoke("search", "--store", db, "--count", "event.timezone:Asia\\/Ho_Chi_Minh").strip() == "1"


def test_display_tz_for_people_ndjson_stays_utc(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(LINE)
    db = f"sqlite:///{tmp_path / 's.db'}"
    invoke("ingest", "--store", db, "--tz", "UTC", str(log))
    text = invoke("search", "--store", db, "--format", "text", "--display-tz", "Asia/Ho_Chi_Minh", "*")
    assert " 17:00:00 +0700  system.auth  srv  " in text and "Failed password for root" in text
    # Default: the machine's zone (TZ sets it for a new process).
    local = subprocess.run(
        [sys.executable, "-c", "from soc_api.cli import main; main()", "search", "--store", db, "--format", "text"],
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "TZ": "America/New_York"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert local.returncode == 0, local.stderr
    assert " 05:00:00 -0500  system.auth" in local.stdout
    ndjson = orjson.loads(invoke("search", "--store", db, "--display-tz", "Asia/Ho_Chi_Minh", "*"))
    assert ndjson["@timestamp"].endswith("Z")
