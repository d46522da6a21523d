"""Response settings from the project's configuration file (``[response]`` of ``--config``):
every command that plans or runs actions refuses a bad table at start with the file and the
key, and ``soc run``'s action runner survives its errors and reports them to ``/health``."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.health import ServiceHealth
from playbooks.config import ResponseConfig
from soc_api.cli import cli
from soc_api.commands._response import RUNNER_TASK, start_action_runner
from soc_core.contracts import Store
from soc_core.errors import StoreError

BAD = {
    "[response.safeguards]\nmax_prefix_v4 = \"24\"\n": "response: max_prefix_v4 must be a whole number, got '24'",
    "[response.safeguards]\ndry_run = \"yes\"\n": "response: dry_run must be true or false",
    "[response.safeguards.never_block]\ngateways = [\"10.0.0.300\"]\n": "never_block.gateways",
    "[response.responders.nftables]\ntable = \"bad name\"\n": "response: responders.nftables:",
    "[response.responders.nosuch]\nx = 1\n": "response: responders.nosuch: unknown responder 'nosuch'",
    "[response]\nsafety = {}\n": "response: unknown settings ['safety']",
}
COMMANDS = {
    "ingest": ["ingest", "--store", "sqlite:///{db}", "{log}"],
    "run": ["run", "--store", "sqlite:///{db}", "--syslog-tcp", "127.0.0.1:0"],
    "actions run": ["actions", "run", "--store", "sqlite:///{db}", "--once"],
    "actions approve": ["actions", "approve", "--store", "sqlite:///{db}", "--by", "x", "ACT-0"],
    "worker": ["worker", "--broker", "redis://127.0.0.1:1/0", "--store", "sqlite:///{db}"],
    "incidents list": ["incidents", "list", "--store", "sqlite:///{db}"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("text", sorted(BAD))
def test_a_bad_response_table_fails_every_command_at_start(tmp_path: Path, command: str, text: str) -> None:
    config = tmp_path / "soc.toml"
    config.write_text(text)
    log = tmp_path / "auth.log"
    log.write_text("")
    args = [a.format(db=tmp_path / "x.db", log=log) for a in COMMANDS[command]]
    result = CliRunner().invoke(cli, [*args[:1], *(args[1:2] if command.count(" ") else []), "--config", str(config),
                                      *args[1 + command.count(" "):]])
    assert result.exit_code == 2, result.output
    assert str(config) in result.output and BAD[text] in result.output


def test_config_check_validates_the_response_table(tmp_path: Path) -> None:
    config = tmp_path / "soc.toml"
    config.write_text("[response.safeguards]\nmax_prefix_v4 = 40\n")
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert result.exit_code == 1 and "max_prefix_v4 must be 0..32" in result.output
    config.write_text("[response.safeguards]\nmax_prefix_v4 = 28\ndry_run = true\n"
                      "[response.responders.webhook]\nurl = \"http://127.0.0.1:9/hook\"\n")
    result = CliRunner().invoke(cli, ["config", "check", str(config)])
    assert result.exit_code == 0, result.output


def test_the_runner_survives_a_failing_store_and_reports_it(tmp_path: Path) -> None:
    """A store that cannot be opened: the runner thread keeps trying, /health names it; once the
    store opens, the failure clears."""
    health = ServiceHealth()
    attempts: list[int] = []
    opened = threading.Event()

    def open_store() -> Store:
        attempts.append(1)
        if len(attempts) < 3:
            raise StoreError("database is locked")
        from soc_store.sqlite import SqliteStore

        opened.set()
        return SqliteStore(tmp_path / "x.db")

    stop = threading.Event()
    thread = start_action_runner(open_store, ResponseConfig(), None, health, stop, 0.05)
    try:
        for _ in range(200):  # bounded: 10 s
            if health.problems(0):
                break
            stop.wait(0.05)
        assert any(f"background task {RUNNER_TASK} failing" in p and "database is locked" in p
                   for p in health.problems(0))
        assert opened.wait(10)
        for _ in range(200):  # bounded: 10 s, until a successful sweep clears the failure
            if not health.problems(0):
                break
            stop.wait(0.05)
        assert health.problems(0) == []
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
