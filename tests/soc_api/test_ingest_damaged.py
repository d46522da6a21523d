"""Issue #21: ``soc ingest`` on hostile and damaged input (items 1, 6 and 12): what can be
read is stored, the rest is reported with file and offset, one line, non-zero exit."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import evtx
from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.query import MatchAll, parse_query
from soc_store.sqlite import SqliteStore
from tests.conftest import corpus_path

POISON = b'{"winlog":{"event_id":4624,"channel":"Security"},"source":{"ip":18446744073709551615}}'


def ingest(tmp_path: Path, *files: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ingest", "--store", f"sqlite:///{tmp_path / 'store.db'}", *map(str, files)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_poison_line_is_ingested_without_a_traceback(tmp_path: Path) -> None:
    """Today: ``TypeError: Integer exceeds 64-bit range`` from the JSON export reader."""
    path = tmp_path / "poison.json"
    path.write_bytes(POISON + b"\n" + b'{"message": "nan", "winlog": {"event_id": 1, "x": NaN}}\n')
    code, out, _ = ingest(tmp_path, path)
    assert code == 0, out
    store = SqliteStore(tmp_path / "store.db")
    assert store.count("events", MatchAll()) + store.count("dead_letters", MatchAll()) == 2
    hit = store.search("events", parse_query("source.ip:18446744073709551615")).events
    assert len(hit) == 1 and hit[0]["soc"]["sanitized"] == ["source.ip"]
    assert "18446744073709551615" in hit[0]["event"]["original"]  # the input as it came
    store.close()


SSH = b"<38>Nov 22 12:00:%02d web1 sshd[42]: Accepted password for alice from 10.0.0.9 port %d ssh2\n"


def _count(tmp_path: Path) -> int:
    store = SqliteStore(tmp_path / "store.db")
    try:
        return store.count("events", MatchAll()) + store.count("dead_letters", MatchAll())
    finally:
        store.close()


def test_a_truncated_gzip_stores_what_decompressed_and_says_where_it_stopped(tmp_path: Path) -> None:
    """Today: "Aborted!" and the last batch read (up to 1,000 lines) is not stored."""
    lines = b"".join(SSH % (i % 60, i) for i in range(5000))
    packed = gzip.compress(lines)
    path = tmp_path / "auth.log.gz"
    path.write_bytes(packed[: len(packed) // 2])
    code, out, err = ingest(tmp_path, path)
    assert code == 1
    [line] = err.splitlines()
    found = re.search(r"at byte (\d+)", line)
    assert found and str(path) in line and "EOFError" in line
    read = lines[: int(found.group(1))]
    assert 0 < len(read) < len(lines)
    assert _count(tmp_path) == len(read.splitlines())  # every line that decompressed, the cut one too
    assert f"{len(read.splitlines())} input events" in out


def test_a_file_that_is_not_gzip_is_reported_in_one_line(tmp_path: Path) -> None:
    """Today: a BadGzipFile traceback."""
    path = tmp_path / "auth.log.gz"
    path.write_bytes(SSH % (1, 1) * 10)
    good = tmp_path / "good.log"
    good.write_bytes(SSH % (2, 2))
    code, _, err = ingest(tmp_path, path, good)
    assert code == 1
    assert err.splitlines() == [f"damaged input: {path}: BadGzipFile: Not a gzipped file (b'<3') at byte 0; "
                                "what could be read is stored"]
    assert _count(tmp_path) == 1  # the next file was still read


def test_an_evtx_file_with_a_corrupt_middle_stores_every_readable_record(tmp_path: Path) -> None:
    """Today: a traceback, and none of the readable records stored."""
    source = corpus_path("evtx", "Credential Access", "etw_rpc_zerologon.evtx")
    data = bytearray(source.read_bytes())
    start = 4096 + 65536 + 600  # inside the second chunk's records
    data[start:start + 3000] = b"\xab" * 3000
    path = tmp_path / "damaged.evtx"
    path.write_bytes(bytes(data))
    readable = 0
    records = evtx.PyEvtxParser(str(path)).records_json()
    for _ in range(100_000):
        try:
            next(records)
        except StopIteration:
            break
        except RuntimeError:
            continue
        readable += 1
    code, out, err = ingest(tmp_path, path)
    assert code == 1
    [line] = err.splitlines()
    assert str(path) in line and "unreadable EVTX chunk" in line
    assert 0 < readable == _count(tmp_path)
    assert f"{readable} input events" in out
