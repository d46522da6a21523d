"""Inputs read once (a FIFO, standard input) and damaged files in ``parse``/``detect``.

Issue #21 follow-up: ``soc ingest`` on a FIFO lost its first 4 KiB (the auto parser opened
the path to sniff for Windows events, then opened it again to read lines; a pipe gives
its bytes once) and cut the next line into a dead letter at offset 0. ``soc parse`` and
``soc detect`` raised ``InputDamaged`` tracebacks on damaged files where ``soc ingest``
reported them. Real FIFOs, a real slow writer and real subprocesses; no mocks.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.query import MatchAll
from soc_store.sqlite import SqliteStore
from tests.conftest import corpus_path

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "rules" / "builtin" / "lnx_auth_ssh_failure.yml"
LINES = 5000


def _line(i: int) -> bytes:
    return (f"Dec  8 02:00:{i % 60:02d} web1 sshd[{i}]: Failed password for root from 10.0.0.{i % 250} "
            f"port {1000 + i} ssh2 n{i}\n").encode()


def _slow_writer(fifo: Path) -> threading.Thread:
    """A writer that sends the lines in 50 bursts with pauses (short reads for the
    reader), bounded in count and time."""

    def write() -> None:
        with open(fifo, "wb", buffering=0) as out:
            for start in range(0, LINES, 100):
                out.write(b"".join(_line(i) for i in range(start, start + 100)))
                time.sleep(0.005)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _soc(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from soc_api.cli import main; main()", *args],
                          input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=120, check=False)


def _stored(db: Path) -> tuple[int, int]:
    store = SqliteStore(db)
    try:
        return store.count("events", MatchAll()), store.count("dead_letters", MatchAll())
    finally:
        store.close()


@pytest.mark.parametrize("parser", ["auto", "system.auth"])
def test_ingest_from_a_fifo_with_a_slow_writer_stores_every_line(tmp_path: Path, parser: str) -> None:
    """Today (auto): 4,955 of 5,000 stored, the 46th line cut into a dead letter at offset 0."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = _slow_writer(fifo)
    db = tmp_path / "x.db"
    done = _soc("ingest", "--store", f"sqlite:///{db}", "--parser", parser, str(fifo))
    writer.join(30)
    assert done.returncode == 0, done.stderr
    assert f"{LINES} input events, {LINES} parsed, 0 dead letters" in done.stdout.decode()
    assert _stored(db) == (LINES, 0)


def test_parse_from_a_fifo_keeps_the_first_line_and_its_offsets(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = _slow_writer(fifo)
    done = _soc("parse", str(fifo))
    writer.join(30)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(events) == LINES
    assert events[0]["event"]["original"] == _line(0).decode().rstrip("\n")
    assert [e["log"]["offset"] for e in events[:3]] == [0, len(_line(0)), len(_line(0)) + len(_line(1))]
    assert {e["log"]["file"]["path"] for e in events} == {str(fifo)}


def test_ingest_from_standard_input(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    done = _soc("ingest", "--store", f"sqlite:///{db}", "-", stdin=b"".join(map(_line, range(LINES))))
    assert done.returncode == 0, done.stderr
    assert _stored(db) == (LINES, 0)
    store = SqliteStore(db)
    try:
        event = store.search("events", MatchAll(), limit=1).events[0]
    finally:
        store.close()
    assert event["log"]["file"]["path"] == "stdin"


# --- damaged files: parse and detect report them as ingest does -----------------------------


def _damaged_inputs(tmp_path: Path) -> dict[str, tuple[Path, int]]:
    """name -> (file, lines readable before the damage)."""
    lines = b"".join(map(_line, range(LINES)))
    packed = gzip.compress(lines)
    truncated = tmp_path / "truncated.log.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    with gzip.open(truncated) as stream:
        readable = b""
        try:
            for _ in range(10_000):
                piece = stream.read1(1 << 16)
                if not piece:
                    break
                readable += piece
        except EOFError:
            pass
    not_gzip = tmp_path / "plain.log.gz"
    not_gzip.write_bytes(_line(1) * 3)
    return {"truncated": (truncated, len(readable.splitlines())), "not_gzip": (not_gzip, 0)}


@pytest.mark.parametrize("kind", ["truncated", "not_gzip"])
def test_parse_reports_a_damaged_gzip_in_one_line(tmp_path: Path, kind: str) -> None:
    """Today: an ``InputDamaged`` traceback."""
    path, readable = _damaged_inputs(tmp_path)[kind]
    good = tmp_path / "good.log"
    good.write_bytes(_line(7))
    result = CliRunner().invoke(cli, ["parse", str(path), str(good)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"damaged input: {path}: ") and " at byte " in line
    assert line.endswith("what could be read is printed")
    assert len(result.stdout.splitlines()) == readable + 1  # the next file is still read


@pytest.mark.parametrize("kind", ["truncated", "not_gzip"])
def test_detect_reports_a_damaged_gzip_in_one_line(tmp_path: Path, kind: str) -> None:
    """Today: a ``BadGzipFile``/``EOFError``/``InputDamaged`` traceback."""
    path, _ = _damaged_inputs(tmp_path)[kind]
    result = CliRunner().invoke(cli, ["detect", "--rules", str(RULE), "--stats", str(path)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    damage = [line for line in result.stderr.splitlines() if line.startswith("damaged input")]
    assert len(damage) == 1 and str(path) in damage[0] and " at byte " in damage[0]
    assert "Traceback" not in result.stderr


def test_detect_reports_a_damaged_ecs_ndjson_gzip(tmp_path: Path) -> None:
    """An ECS NDJSON ``.gz`` cut short: the events that decompressed are checked."""
    event = {"@timestamp": "2026-12-08T02:00:00Z", "event": {"kind": "event"}, "message": "x" * 200}
    packed = gzip.compress(b"".join(json.dumps({**event, "n": i}).encode() + b"\n" for i in range(2000)))
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(packed[: len(packed) // 2])
    result = CliRunner().invoke(cli, ["detect", "--rules", str(RULE), "--stats", str(path)])
    assert result.exit_code == 1
    damage = [line for line in result.stderr.splitlines() if line.startswith("damaged input")]
    assert len(damage) == 1 and str(path) in damage[0] and "EOFError" in damage[0]
    assert "events=0 " not in result.stderr


def test_parse_and_detect_report_an_evtx_file_with_a_corrupt_middle(tmp_path: Path) -> None:
    """Today: an ``InputDamaged`` traceback from both; now the readable records come out."""
    source = corpus_path("evtx", "Credential Access", "etw_rpc_zerologon.evtx")
    data = bytearray(source.read_bytes())
    start = 4096 + 65536 + 600  # inside the second chunk's records
    data[start:start + 3000] = b"\xab" * 3000
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    parsed = CliRunner().invoke(cli, ["parse", str(path)])
    assert parsed.exit_code == 1
    [line] = parsed.stderr.splitlines()
    assert line.startswith(f"damaged input: {path}: ") and "unreadable EVTX chunk" in line
    assert len(parsed.stdout.splitlines()) > 0
    detected = CliRunner().invoke(cli, ["detect", "--rules", str(RULE), "--stats", str(path)])
    assert detected.exit_code == 1
    assert [x for x in detected.stderr.splitlines() if x.startswith("damaged input")] == [
        line.replace("is printed", "is checked")]
    assert f"events={len(parsed.stdout.splitlines())} " in detected.stderr
