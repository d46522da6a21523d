"""``soc ingest`` and ``soc search`` end to end on the embedded store."""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
from click.testing import CliRunner

from soc_api.cli import cli
from tests.conftest import corpus_path


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_iptables_ingest_count_and_no_duplicates(tmp_path: Path) -> None:
    log = corpus_path("beats_filebeat", "iptables", "log", "iptables.log")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    sources = [m.group(1) for line in lines if (m := re.search(r"\bSRC=(\S+)", line))]
    ip = max(set(sources), key=sources.count)

    out = run("ingest", "--store", db, "--parser", "iptables.log", str(log))
    assert f"{len(lines)} input events, {len(lines)} parsed, 0 dead letters" in out
    assert run("search", "--store", db, "--count", f"source.ip:{ip}").strip() == str(sources.count(ip))
    assert run("search", "--store", db, "--count", "*").strip() == str(len(lines))

    # Events and the alerts the built-in rules made of them: all stored once, none again.
    stored = int(re.search(r"stored (\d+) new documents", out).group(1))  # type: ignore[union-attr]
    assert stored >= len(lines)
    again = run("ingest", "--store", db, "--parser", "iptables.log", str(log))
    assert f"stored 0 new documents, {stored} already present" in again
    assert run("search", "--store", db, "--count", "*").strip() == str(len(lines))

    hits = [orjson.loads(x) for x in run("search", "--store", db, "--limit", "3", f"source.ip:{ip}").splitlines()]
    assert len(hits) == min(3, sources.count(ip))
    assert all(h["source"]["ip"] == ip for h in hits)


def test_random_bytes_become_dead_letters(tmp_path: Path) -> None:
    data = random.Random(20261122).randbytes(10 * 1024 * 1024)
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    expected = sum(1 for line in data.split(b"\n") if line.rstrip(b"\r").strip())
    db = f"sqlite:///{tmp_path / 'r.db'}"

    out = run("ingest", "--store", db, str(path))
    assert f"{expected} input events, 0 parsed, {expected} dead letters" in out
    count = run("search", "--store", db, "--collection", "dead_letters", "--count", "*")
    assert count.strip() == str(expected)
    assert run("search", "--store", db, "--count", "*").strip() == "0"
    letter = orjson.loads(run("search", "--store", db, "--collection", "dead_letters", "--limit", "1"))
    assert letter["event"]["kind"] == "pipeline_error"
    assert letter["error"]["message"]
    assert "original_base64" in letter["event"] or letter["event"]["original"]


def test_malformed_query_points_at_the_column(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    result = CliRunner().invoke(cli, ["search", "--store", db, "source.ip:1.2.3.4 AND (user.name:x"])
    assert result.exit_code == 2
    assert "column 35" in result.output and "expected ')'" in result.output
