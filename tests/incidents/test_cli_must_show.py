"""Must-show through the `soc` command line on the loghub OpenSSH sample: each top attacking address
gets its own incident with its explanation, analysts' changes land in the audit trail, and
`soc audit verify` passes on that real history and names the entry when one byte is changed."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.audit import entry_id
from tests.conftest import corpus_path


def soc(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def openssh_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    log = corpus_path("loghub", "OpenSSH", "OpenSSH_2k.log")
    db = tmp_path_factory.mktemp("openssh") / "x.db"
    url = f"sqlite:///{db}"
    out = soc("ingest", "--store", url, "--parser", "system.auth", str(log))
    assert "incidents opened or updated" in out
    return url, log


def top_attackers(log: Path, n: int) -> list[str]:
    """Counted from the raw lines, independently of the parser and the rules."""
    counts = Counter(m.group(1) for line in log.read_text().splitlines()
                     if (m := re.search(r"(?:Failed password|Invalid user) .*from (\d+\.\d+\.\d+\.\d+)", line)))
    return [ip for ip, _ in counts.most_common(n)]


def test_each_top_attacker_has_its_own_explained_incident(openssh_db: tuple[str, Path]) -> None:
    url, log = openssh_db
    incidents = json.loads(soc("incidents", "list", "--store", url, "--json", "--limit", "500"))
    by_ip: dict[str, list[dict[str, object]]] = {}
    for incident in incidents:
        for ip in incident["entities"].get("source.ip", []):
            by_ip.setdefault(ip, []).append(incident)
    for ip in top_attackers(log, 5):
        mine = by_ip.get(ip, [])
        assert len(mine) == 1, f"{ip}: {[i['id'] for i in mine]}"
        incident = mine[0]
        assert incident["entities"]["source.ip"] == [ip]  # nobody else glued in
        assert "SSH Brute Force From One Source" in str(incident["title"])
        explanation = incident["explanation"]
        assert isinstance(explanation, list) and explanation
        assert "first alert" in explanation[0]
        assert any(f"source.ip={ip}" in line for line in explanation[1:])


def test_audit_verify_passes_then_names_the_changed_entry(openssh_db: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = openssh_db
    first = json.loads(soc("incidents", "list", "--store", url, "--json", "--limit", "1"))[0]
    soc("incidents", "assign", first["id"], "lan", "--store", url, "--actor", "analyst:lan")
    soc("incidents", "status", first["id"], "triaged", "--store", url, "--actor", "analyst:lan")
    note = tmp_path / "note.txt"
    note.write_text("pcap summary", encoding="utf-8")
    shown = json.loads(soc("incidents", "evidence", first["id"], "--file", str(note), "--store", url,
                           "--actor", "analyst:lan", "--json"))
    assert shown["evidence"][-1]["sha256"] == hashlib.sha256(b"pcap summary").hexdigest()
    soc("suppressions", "add", "--store", url, "--query", "source.ip:10.0.0.5", "--reason", "own scanner",
        "--actor", "analyst:lan")
    out = soc("audit", "verify", "--store", url)
    count = int(re.search(r"(\d+) ", out.split(":")[-1]).group(1))  # type: ignore[union-attr]
    assert count >= 5

    entries = [json.loads(line) for line in soc("audit", "list", "--store", url, "--json", "--limit", "10000")
               .splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, count + 1))
    assert {"incident.create", "incident.assign", "incident.status", "incident.evidence", "suppression.add"} <= {
        e["action"] for e in entries}

    # One byte changed in one stored entry: verify fails and names it.
    victim = count // 2
    db = url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        (doc,) = conn.execute("SELECT doc FROM records WHERE kind='audit' AND id=?", [entry_id(victim)]).fetchone()
        i = doc.index('"actor":"') + len('"actor":"')
        changed = doc[:i] + ("X" if doc[i] != "X" else "Y") + doc[i + 1:]
        conn.execute("UPDATE records SET doc=? WHERE kind='audit' AND id=?", [changed, entry_id(victim)])
    result = CliRunner().invoke(cli, ["audit", "verify", "--store", url])
    assert result.exit_code == 1
    assert f"#{victim} " in result.output and entry_id(victim) in result.output
