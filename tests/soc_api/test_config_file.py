"""Issue #20 item 11: every command takes its options from ``--config FILE`` (the command
line overriding the file), ``soc run`` runs from one file, ``soc config check`` validates."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from soc_api.cli import cli

ROOT = Path(__file__).resolve().parents[2]
LINES = "".join(f"Dec  7 10:00:0{i} srv sshd[{i}]: Failed password for root from 10.0.0.{i} port 22 ssh2\n"
                for i in range(1, 6))


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "soc.toml"
    path.write_text(
        f'store = "sqlite:///{tmp_path / "soc.db"}"\ntimezone = "Asia/Ho_Chi_Minh"\n'
        f'queue_path = "{tmp_path / "data" / "queue.db"}"\n'
        '[[inputs]]\ntype = "syslog_udp"\nlisten = "127.0.0.1:0"\nparser = "system.auth"\n'
        '[command.run]\napi = "127.0.0.1:0"\napi_key = ["file-key"]\n'
        '[command.search]\nlimit = 2\n' + extra
    )
    return path


def test_commands_read_the_file_and_the_command_line_wins(tmp_path: Path) -> None:
    config = _config(tmp_path)
    log = tmp_path / "auth.log"
    log.write_text(LINES)
    runner = CliRunner()
    ingest = runner.invoke(cli, ["ingest", "--config", str(config), str(log)], catch_exceptions=False)
    assert ingest.exit_code == 0, ingest.output
    assert (tmp_path / "soc.db").exists()
    hits = runner.invoke(cli, ["search", "--config", str(config), "*"]).output.splitlines()
    assert len(hits) == 2  # limit from the file
    assert json.loads(hits[0])["event"]["timezone"] == "Asia/Ho_Chi_Minh"  # timezone from the file
    assert len(runner.invoke(cli, ["search", "--config", str(config), "--limit", "4", "*"]).output.splitlines()) == 4
    other = tmp_path / "other.db"
    runner.invoke(cli, ["ingest", "--config", str(config), "--store", f"sqlite:///{other}", str(log)])
    assert other.exists()  # the command line overrides the file


def test_config_check(tmp_path: Path) -> None:
    good = CliRunner().invoke(cli, ["config", "check", str(_config(tmp_path))])
    assert good.exit_code == 0, good.output
    assert "valid" in good.output and "soc run: api, api_key, data_dir, store, syslog_udp, tz" in good.output
    for extra, words in [
        ('[command.search]\nlimt = 3\n', "limt"),
        ('[command.serach]\nlimit = 3\n', "command.serach: no such command"),
        ('[command.run]\nbatch_size = "many"\n', "batch_size for soc run"),
        ('[[inputs]]\ntype = "smtp"\nlisten = "127.0.0.1:25"\n', "unknown receiver 'smtp'"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(f'store = "sqlite:///{tmp_path / "x.db"}"\n' + extra)
        bad = CliRunner().invoke(cli, ["config", "check", str(path)])
        assert bad.exit_code == 1, (extra, bad.output)
        assert words in bad.output and str(path) in bad.output, bad.output


def test_soc_run_from_one_file(tmp_path: Path) -> None:
    config = _config(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--config",
                             str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())["listening"]
        udp = next(v for k, v in ports.items() if k.startswith("syslog+udp"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(LINES.splitlines()[0].encode(), ("127.0.0.1", udp))
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['api']}", timeout=10,
                          headers={"X-API-Key": "file-key"}) as client:
            deadline = time.monotonic() + 60
            events: list[dict[str, object]] = []
            while not events and time.monotonic() < deadline:
                events = client.get("/search", params={"q": "*"}).json()["events"]
                time.sleep(0.1)
        assert events and events[0]["event"]["dataset"] == "system.auth"  # type: ignore[index]
        assert (tmp_path / "data" / "queue.db").exists() and (tmp_path / "soc.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
