"""Issue #20 items 9 and 10: what a new user hits first gets one line and a non-zero exit,
never a traceback and never a silent wrong answer.

Real processes, real files, real sockets. The read-only cases use a read-only bind mount
(root only: the tests run as root on these machines, and root ignores file modes), and
are skipped with the reason where mounting is not possible.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from soc_api.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SSHD = "Jan  1 00:00:0{i} host sshd[1]: Failed password for root from 10.0.0.{i} port 22 ssh2\n"


def soc(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The ``soc`` CLI as a separate process (so a traceback would show on stderr)."""
    return subprocess.run(
        [sys.executable, "-c", "from soc_api.cli import main; main()", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(writable dir, the same dir mounted read-only)."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    mounted = subprocess.run(["mount", "--bind", str(rw), str(ro)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr!r}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True, check=False)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr!r}")
        yield rw, ro
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def _log(tmp_path: Path, n: int = 3) -> Path:
    path = tmp_path / "auth.log"
    path.write_text("".join(SSHD.format(i=i) for i in range(1, n + 1)))
    return path


def test_search_on_a_mistyped_path_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "store.db"
    result = soc("search", "--store", f"sqlite:///{missing}", "--count", "*")
    one_line_error(result, "no store at", str(missing))
    assert not missing.exists() and not missing.parent.exists()


def test_search_reads_a_store_on_a_read_only_file_system(tmp_path: Path, read_only_dir: tuple[Path, Path]) -> None:
    rw, ro = read_only_dir
    assert soc("ingest", "--store", f"sqlite:///{rw / 's.db'}", str(_log(tmp_path))).returncode == 0
    result = soc("search", "--store", f"sqlite:///{ro / 's.db'}", "--count", '"failed password"')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_writing_to_a_read_only_store_or_directory_is_one_line(
    tmp_path: Path, read_only_dir: tuple[Path, Path]
) -> None:
    rw, ro = read_only_dir
    log = _log(tmp_path)
    assert soc("ingest", "--store", f"sqlite:///{rw / 's.db'}", str(log)).returncode == 0
    one_line_error(soc("ingest", "--store", f"sqlite:///{ro / 's.db'}", str(log)), "cannot open the store", str(ro))
    one_line_error(soc("ingest", "--store", f"sqlite:///{ro / 'new' / 's.db'}", str(log)),
                   "cannot open the store", "Read-only file system")
    one_line_error(soc("run", "--data-dir", str(ro / "data"), "--syslog-udp", "127.0.0.1:0"),
                   "data directory", str(ro / "data"), "--data-dir")
    one_line_error(soc("run", "--data-dir", str(ro), "--syslog-udp", "127.0.0.1:0"),
                   "data directory", "not writable")


def test_api_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = soc("run", "--data-dir", str(tmp_path / "d"), "--syslog-udp", "127.0.0.1:0",
                     "--api", f"127.0.0.1:{port}")
    one_line_error(result, f"127.0.0.1:{port}", "cannot listen", "--api")


def test_http_without_key_names_the_variable_that_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOC_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--data-dir", str(tmp_path / "d"),
         "--http", "127.0.0.1:0"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert result.returncode != 0
    assert "SOC_API_KEYS" in result.stderr and "Traceback" not in result.stderr


def test_an_impossible_cidr_is_an_error_not_zero_hits(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert soc("ingest", "--store", db, str(_log(tmp_path))).returncode == 0
    result = CliRunner().invoke(cli, ["search", "--store", db, "--count", "source.ip:10.0.0.0/33"])
    assert result.exit_code == 2
    assert "prefix length must be 0 to 32" in result.output


def test_every_rule_failing_to_load_is_a_failure(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yml").write_text("title: broken\ndetection:\n  condition: nothing_defined\n")
    db = f"sqlite:///{tmp_path / 's.db'}"
    log = _log(tmp_path)
    ingest = soc("ingest", "--store", db, "--rules", str(rules), str(log))
    assert ingest.returncode != 0 and "none of the rules" in ingest.stderr, ingest.stderr
    assert soc("ingest", "--store", db, str(log)).returncode == 0
    hunt = soc("hunt", "--store", db, "--rules", str(rules))
    assert hunt.returncode != 0 and "none of the rules" in hunt.stderr, hunt.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    hunt = soc("hunt", "--store", db, "--rules", str(empty))
    assert hunt.returncode != 0 and "no Sigma rule found" in hunt.stderr, hunt.stderr


def test_an_interrupted_ingest_says_what_it_stored(tmp_path: Path) -> None:
    """A FIFO stands for a long input: the command is interrupted (SIGINT, as Ctrl-C)
    while it waits for more, and must say how much it stored; the store agrees."""
    fifo = tmp_path / "input.log"
    os.mkfifo(fifo)
    db = f"sqlite:///{tmp_path / 's.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from soc_api.cli import main; main()", "ingest", "--store", db, str(fifo)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        with open(fifo, "w") as writer:
            writer.write("".join(SSHD.format(i=i % 10) for i in range(5000)))
            writer.flush()
            time.sleep(3)  # the reader has the lines; the writer stays open, so it waits for more
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    line = next(x for x in err.splitlines() if x.startswith("interrupted:"))
    stored = int(line.split("stored ")[1].split(" ")[0])
    counts = [soc("search", "--store", db, "--count", "--collection", c, "*").stdout.strip()
              for c in ("events", "dead_letters", "alerts")]
    assert sum(int(c) for c in counts) == stored, (line, counts)
