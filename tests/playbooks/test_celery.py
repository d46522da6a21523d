"""Actions on real Celery workers: a real ``redis-server`` on 127.0.0.1 (random port, no
persistence, stopped by PID) and ``soc worker`` processes; blocks land in nftables inside a
network namespace (as root), where a TCP connection from the blocked address is dropped.

Shown here: a playbook step blocks an address (the rule set is checked with ``nft -c -f``),
the block expires on time and the action is reverted, and a worker killed in the middle of
an action neither loses nor repeats it (acks_late + the executor's lease + idempotent nft).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from playbooks.actions import ActionQueue
from playbooks.config import ResponseConfig
from playbooks.loader import load_text
from playbooks.runner import PlaybookObserver
from playbooks.tasks import CeleryDispatcher, make_app
from soc_core.audit import AuditLog
from soc_store.sqlite import SqliteStore
from tests.playbooks.support import incident
from tests.responders.netns import ATTACKER_IP, OTHER_IP, can_connect, namespace_pair, tcp_listener

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = """\
id: block-now
name: Block now
trigger: {tags: [attack.t1110]}
steps:
  - {id: block, type: block_ip, responder: nftables, duration_secs: DURATION}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/install-system-deps.sh installs it)")
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        for _ in range(100):  # bounded: 10 s
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def worker(broker: str, db: Path, config: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One ``soc worker`` process (solo pool), stopped by its PID."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from soc_api.cli import main; main()", "worker", "--broker", broker,
         "--store", f"sqlite:///{db}", "--config", str(config), "--pool", "solo", "--sweep-secs", "0.5",
         "--visibility-timeout-secs", "4", "--lease-secs", "3", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def wait_for(check: Callable[[], Any], timeout_secs: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_secs}s waiting for {what}")


def _setup(tmp_path: Path, netns: str, duration: int, nft: str = "nft") -> tuple[Path, Path, ResponseConfig]:
    config_path = tmp_path / "response.yml"
    config_path.write_text(f"responders:\n  nftables: {{netns: {netns}, nft: {nft}}}\nbuiltin_playbooks: false\n")
    return tmp_path / "soc.db", config_path, ResponseConfig.from_file(config_path)


def _plan(db: Path, config: ResponseConfig, broker: str, duration: int) -> tuple[SqliteStore, str]:
    store = SqliteStore(str(db))
    playbook = load_text(PLAYBOOK.replace("DURATION", str(duration)), "block-now.yml")
    observer = PlaybookObserver(store, config, CeleryDispatcher(make_app(broker)), playbooks=[playbook])
    created = observer.plan_and_dispatch(incident("INC-C", entities={"source.ip": [ATTACKER_IP]}), "created")
    assert len(created) == 1
    return store, str(created[0]["id"])


def _status(store: SqliteStore, action_id: str) -> str:
    return str(ActionQueue.of(store).get(action_id)["status"])


def test_worker_blocks_drops_expires_and_reverts(tmp_path: Path, redis_url: str) -> None:
    with namespace_pair() as pair, tcp_listener(pair):
        db, config_path, config = _setup(tmp_path, pair.defender, 4)
        with worker(redis_url, db, config_path):
            store, action_id = _plan(db, config, redis_url, duration=4)
            wait_for(lambda: _status(store, action_id) == "done", 60, "the block to be done")
            assert not can_connect(pair, ATTACKER_IP), "a packet from the blocked address got through"
            assert can_connect(pair, OTHER_IP)
            ruleset = subprocess.run(["ip", "netns", "exec", pair.defender, "nft", "list", "table", "inet", "soc"],
                                     capture_output=True, text=True, timeout=10, check=True).stdout
            assert ATTACKER_IP in ruleset
            check = subprocess.run(["nft", "-c", "-f", "-"], input=ruleset, capture_output=True, text=True,
                                   timeout=10)
            assert check.returncode == 0, check.stderr
            action = ActionQueue.of(store).get(action_id)
            wait_for(lambda: _status(store, action_id) == "reverted", 30, "the expired block to be reverted")
            reverted = ActionQueue.of(store).get(action_id)
            from playbooks.actions import parse_iso
            assert parse_iso(reverted["reverted_at"]) >= parse_iso(action["expires_at"])  # not before its time
            assert can_connect(pair, ATTACKER_IP)
            assert AuditLog(store.records("audit")).verify() is None


def test_killed_worker_neither_loses_nor_repeats(tmp_path: Path, redis_url: str) -> None:
    with namespace_pair() as pair:
        started, finished = tmp_path / "nft.started", tmp_path / "nft.finished"
        slow_nft = tmp_path / "slow-nft"
        # The call that adds the element (`nft -f -` with "add element", not the `-c` check) is
        # slow the first time, so the test can kill the worker while it changes the firewall.
        nft = shutil.which("nft")
        slow_nft.write_text(
            "#!/bin/sh\n"
            'if [ "$1" = "-f" ]; then\n'
            '  script=$(cat)\n'
            f'  case "$script" in *"add element"*) if [ ! -e {started} ]; then\n'
            f'    touch {started}; sleep 3; printf "%s\\n" "$script" | {nft} "$@"; rc=$?; touch {finished}; exit $rc\n'
            "  fi;; esac\n"
            f'  printf "%s\\n" "$script" | exec {nft} "$@"\n'
            "fi\n"
            f'exec {nft} "$@"\n')
        slow_nft.chmod(0o755)
        db, config_path, config = _setup(tmp_path, pair.defender, 600, nft=str(slow_nft))
        with worker(redis_url, db, config_path) as first:
            store, action_id = _plan(db, config, redis_url, duration=600)
            wait_for(started.exists, 60, "the worker to start changing the firewall")
            assert _status(store, action_id) == "running"
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        wait_for(finished.exists, 15, "the orphaned nft call to finish")
        with worker(redis_url, db, config_path):
            wait_for(lambda: _status(store, action_id) == "done", 60, "the action to be done after the restart")
            time.sleep(2)  # let any redelivered duplicate arrive and be ignored
        action = ActionQueue.of(store).get(action_id)
        assert action["status"] == "done"
        assert action["attempts"] == 2  # claimed by the killed worker, retaken once by the new one
        assert "already blocked" in action["result"]["detail"]  # the effect happened once, not twice
        listing = subprocess.run(["ip", "netns", "exec", pair.defender, "nft", "list", "set", "inet", "soc",
                                  "block_v4"], capture_output=True, text=True, timeout=10, check=True).stdout
        assert listing.count(ATTACKER_IP) == 1
        entries = list(AuditLog(store.records("audit")).entries())
        assert [e["action"] for e in entries].count("action.done") == 1
        assert [e["action"] for e in entries].count("action.run") == 2
