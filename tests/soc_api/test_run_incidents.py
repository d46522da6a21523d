"""``soc run`` detects with the built-in rules by default and groups alerts into incidents, as
``soc ingest`` does: real process, a tailed auth log (loghub OpenSSH lines), the embedded store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from soc_store.sqlite import SqliteStore
from tests.conftest import corpus_path, reap

ROOT = Path(__file__).resolve().parents[2]
SSH_BRUTE_FORCE = "8f3e1d2c-7a4b-4e5f-9c1d-2b3a4c5d6e02"


def test_soc_run_opens_an_incident_from_the_builtin_rules(tmp_path: Path) -> None:
    source = corpus_path("loghub", "OpenSSH", "OpenSSH_2k.log")
    wanted = "Failed password for root from 187.141.143.180"
    lines = [line for line in source.read_text().splitlines() if wanted in line]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "auth.log").write_text("\n".join(lines[:15]) + "\n")
    db = tmp_path / "run.db"
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--store", f"sqlite:///{db}",
            "--tail", f"{tmp_path}/logs/*.log", "--parser", "system.auth", "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())  # ready
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while not any(SSH_BRUTE_FORCE in i["rule_ids"] for i in found) and time.monotonic() < deadline:
            time.sleep(0.5)
            if db.exists():
                store = SqliteStore(db)
                found = store.records("incidents").find({"entities.source.ip": "187.141.143.180"})
                store.close()
        assert found, "no brute-force incident within 90 s"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        reap(proc)
    store = SqliteStore(db)
    (incident,) = store.records("incidents").find({"entities.source.ip": "187.141.143.180"})
    store.close()
    assert SSH_BRUTE_FORCE in incident["rule_ids"]  # a built-in rule: no --rules given
    assert incident["members"][0]["reason"]["text"].startswith("first alert")
