"""Issue #21: ``soc ingest`` on hostile and damaged input (items 1, 6 and 12): what can be
read is stored, the rest is reported with file and offset, one line, non-zero exit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from soc_api.cli import cli
from soc_core.query import MatchAll, parse_query
from soc_store.sqlite import SqliteStore

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
