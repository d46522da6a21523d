"""The CLI on folders of evidence: recursion, --include/--exclude, names with spaces,
a progress line on terminals only, and the per-file summary."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
import pytest
from click.testing import CliRunner

from soc_api.cli import cli
from soc_api.commands._inputs import Progress, expand_inputs
from tests.conftest import corpus_path

SSHD = "Dec  1 10:00:0{n} web01 sshd[1234]: Failed password for invalid user admin from 10.0.0.{n} port 22 ssh2\n"


def stable(ndjson: str, started: datetime) -> list[Any]:
    """The documents without the times the run itself wrote (receipt and creation times)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not is_run_time(v)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    def is_run_time(value: Any) -> bool:
        if not isinstance(value, str) or not value[:4].isdecimal():
            return False
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")) >= started
        except ValueError:
            return False

    return [strip(orjson.loads(line)) for line in ndjson.splitlines()]


def run(*args: str) -> click.testing.Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "case 42"
    (root / "web server" / "old logs").mkdir(parents=True)
    (root / "web server" / "auth log.txt").write_text(SSHD.format(n=1) + SSHD.format(n=2))
    (root / "web server" / "old logs" / "auth.log.1").write_text(SSHD.format(n=3) + "not a log line at all\n")
    (root / "notes.md").write_text("# analyst notes\n")
    return root


def test_folders_are_read_recursively_in_a_stable_order(tmp_path: Path) -> None:
    root = evidence(tmp_path)
    files = expand_inputs([str(root)])
    assert [Path(f).relative_to(root).as_posix() for f in files] == [
        "notes.md", "web server/auth log.txt", "web server/old logs/auth.log.1"]
    only = expand_inputs([str(root)], include=["auth*"], exclude=["*/old logs/*"])
    assert [Path(f).name for f in only] == ["auth log.txt"]
    assert [Path(f).name for f in expand_inputs([str(root)], include=["**/auth.log*"])] == ["auth.log.1"]
    with pytest.raises(click.UsageError, match="no file to read"):
        expand_inputs([str(root)], include=["*.evtx"])


def test_parse_a_folder_equals_parsing_its_files(tmp_path: Path) -> None:
    root = evidence(tmp_path)
    started = datetime.now(UTC)
    by_folder = run("parse", "--exclude", "*.md", str(root)).stdout
    files = [str(root / "web server" / "auth log.txt"), str(root / "web server" / "old logs" / "auth.log.1")]
    by_files = run("parse", *files).stdout
    assert stable(by_folder, started) == stable(by_files, started)
    events = [orjson.loads(line) for line in by_folder.splitlines()]
    assert [e["event"]["kind"] for e in events] == ["event", "event", "event", "pipeline_error"]
    assert events[0]["log"]["file"]["path"].endswith("web server/auth log.txt")


def test_piped_runs_stay_quiet_and_stats_give_the_per_file_summary(tmp_path: Path) -> None:
    root = evidence(tmp_path)
    assert run("parse", "--exclude", "*.md", str(root)).stderr == ""
    summary = run("parse", "--stats", "--exclude", "*.md", str(root)).stderr.splitlines()
    assert "tệp/file\tsự kiện/events\tlỗi/dead letters" in summary
    assert any(line.endswith("auth log.txt\t2\t0") for line in summary)
    assert any(line.endswith("auth.log.1\t1\t1") for line in summary)
    assert "tổng/total\t3\t1" in summary


def test_ingest_a_folder_prints_the_per_file_summary(tmp_path: Path) -> None:
    root = evidence(tmp_path)
    out = run("ingest", "--store", f"sqlite:///{tmp_path / 's.db'}", "--no-builtin-rules", "--include", "auth*",
              str(root)).stdout
    assert "ingested 2 file(s): 4 input events, 3 parsed, 1 dead letters" in out
    assert any(line.endswith("auth.log.1\t1\t0\t1") for line in out.splitlines())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_only() -> None:
    ticks = iter(float(n) for n in range(100))
    screen = _Terminal()
    progress = Progress(2, stream=screen, clock=lambda: next(ticks))
    counts = progress.start_file("a.log")
    counts.events, counts.dead_letters = 1500, 3
    progress.tick()
    progress.close()
    assert "[1/2] tệp/files · 1,500 sự kiện/events" in screen.getvalue()
    assert "3 lỗi/dead letters" in screen.getvalue()
    piped = io.StringIO()
    quiet = Progress(2, stream=piped)
    quiet.start_file("a.log")
    quiet.close()
    assert piped.getvalue() == "" and quiet.enabled is False


def test_detect_on_the_evtx_folder_equals_listing_its_files(tmp_path: Path) -> None:
    evtx = corpus_path("evtx")
    rules = corpus_path("sigma", "sigmahq", "rules", "windows", "builtin", "security")
    folder = tmp_path / "evidence with spaces"
    shutil.copytree(evtx, folder)
    files = expand_inputs([str(folder)], include=["*.evtx"])
    assert len(files) > 100
    started = datetime.now(UTC)
    by_folder = stable(run("detect", "--rules", str(rules), "--include", "*.evtx", str(folder)).stdout, started)
    by_files = stable(run("detect", "--rules", str(rules), *files).stdout, started)
    assert by_folder, "the security rules fire on the corpus EVTX"
    assert by_folder == by_files
