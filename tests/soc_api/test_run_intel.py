"""``soc run`` with indicators in its store: a tailed event holding one becomes an
enrichment alert, and the sighting is recorded on the indicator (at a detector flush)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from intel.indicators import DOMAIN
from intel.repository import IndicatorRepository
from soc_api.cli import cli
from soc_core.clock import SystemClock
from soc_core.query.grammar import parse_query
from soc_store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def test_soc_run_matches_indicators(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "store.db"
    iocs = tmp_path / "iocs.txt"
    iocs.write_text("evil.example\n")
    result = CliRunner().invoke(cli, ["intel", "import", "--store", f"sqlite:///{db}", str(iocs)])
    assert result.exit_code == 0, result.output
    log = tmp_path / "eve.log"
    lines = [{"timestamp": "2026-11-22T10:00:00.000000+0000", "event_type": "dns", "src_ip": "10.0.0.5",
              "dest_ip": "10.0.0.1", "proto": "UDP", "dns": {"type": "query", "id": 1, "rrname": name, "rrtype": "A"}}
             for name in ("www.evil.example", "good.example")]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--tail", f"{log}=suricata.eve",
            "--data-dir", str(data)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())  # ready
        store = SqliteStore(db)
        try:
            repo = IndicatorRepository(store, SystemClock())
            deadline = time.monotonic() + 60
            alerts = 0
            sightings = 0
            while (alerts < 1 or sightings < 1) and time.monotonic() < deadline:
                alerts = store.count("alerts", parse_query("rule.ruleset:intel"))
                sightings = repo.find(DOMAIN, "evil.example")["sightings"]["count"]
                time.sleep(0.2)
            assert (alerts, sightings) == (1, 1)
            assert store.count("events", parse_query("*")) == 2
        finally:
            store.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
