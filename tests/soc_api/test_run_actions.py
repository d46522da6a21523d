"""``soc run`` executes the actions its playbooks plan, in its own process, and a restart loses
no expiring block: a real ``soc run`` (subprocess) receives SSH brute-force lines (loghub
OpenSSH) over TCP syslog on 127.0.0.1, opens the incident, the playbook plans a notification
and a block, and the in-process runner executes both: the webhook responder posts to a local
HTTP server, the nftables responder blocks the address inside a network namespace this test
creates and deletes (never the host's own firewall). The service is stopped, the block's
time runs out while it is down, and the restarted service reverts it.

The response settings come from the ``[response]`` table of the project's TOML file (``--config``).
Needs root, iproute2 and nftables for the namespace; skips clearly otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis

from ingest.health import ServiceHealth
from playbooks.actions import ActionQueue
from playbooks.config import ResponseConfig
from playbooks.loader import load_text
from playbooks.runner import PlaybookObserver
from playbooks.tasks import EXECUTE
from soc_api.commands._response import start_action_runner
from soc_store.sqlite import SqliteStore
from tests.conftest import corpus_path, reap
from tests.playbooks.support import incident
from tests.playbooks.test_celery import redis_url  # noqa: F401 - the real redis-server fixture

ROOT = Path(__file__).resolve().parents[2]
ATTACKER = "187.141.143.180"
BLOCK_SECS = 6

PLAYBOOK = f"""
id: test-brute-force
name: SSH brute force (test)
trigger:
  changes: [created, updated]
  tags: [attack.t1110]
steps:
  - id: notify-soc
    type: notify
    responder: webhook
  - id: block-source
    type: block_ip
    responder: nftables
    entity: source.ip
    duration_secs: {BLOCK_SECS}
"""


@contextmanager
def namespace() -> Iterator[str]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None:
        pytest.skip("a network namespace needs root, iproute2 and nftables")
    name = f"socrun{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, timeout=10)


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"key": self.headers.get("Idempotency-Key"), **json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def soc_run(db: Path, tmp: Path, config: Path) -> Iterator[int]:
    """A real ``soc run`` with one TCP syslog input; yields its port; SIGTERM at the end."""
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--config", str(config),
            "--store", f"sqlite:///{db}", "--syslog-tcp", "127.0.0.1:0=system.auth",
            "--data-dir", str(tmp / "data"), "--action-sweep-secs", "0.5"]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield next(port for name, port in ready["listening"].items() if name.startswith("syslog+tcp"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        reap(proc)


def wait_for(check: Callable[[], Any], timeout_secs: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:  # bounded in time
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout_secs} s: {what}")


def actions(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    store = SqliteStore(db)
    try:
        return list(ActionQueue.of(store).all())
    finally:
        store.close()


def blocked(ns: str) -> str:
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "set", "inet", "soctest", "block_v4"],
                         capture_output=True, text=True, timeout=10)
    return out.stdout


def test_soc_run_executes_planned_actions_and_reverts_after_a_restart(tmp_path: Path) -> None:
    source = corpus_path("loghub", "OpenSSH", "OpenSSH_2k.log")
    lines = [line for line in source.read_text().splitlines() if f"Failed password for root from {ATTACKER}" in line]
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "brute.yml").write_text(PLAYBOOK)
    db = tmp_path / "run.db"
    with namespace() as ns, webhook_server() as (url, posts):
        config = tmp_path / "soc.toml"
        config.write_text(
            "[response]\n"
            f"playbooks = [\"{tmp_path / 'playbooks'}\"]\n"
            "builtin_playbooks = false\n"
            "[response.safeguards]\nmax_prefix_v4 = 24\n"
            "[response.safeguards.never_block]\nown_networks = [\"10.0.0.0/8\"]\n"
            f"[response.responders.nftables]\nnetns = \"{ns}\"\ntable = \"soctest\"\n"
            f"[response.responders.webhook]\nurl = \"{url}\"\n")
        with soc_run(db, tmp_path, config) as port:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall("".join(f"<38>{line}\n" for line in lines[:15]).encode())

            def block_done() -> dict[str, Any] | None:
                return next((a for a in actions(db) if a["step_id"] == "block-source" and a["status"] == "done"),
                            None)

            block = wait_for(block_done, 90, "the block executed by soc run's in-process runner")
            assert block["target"] == f"{ATTACKER}/32" or block["target"].startswith(ATTACKER)
            assert ATTACKER in blocked(ns)  # applied inside the namespace, by the runner of soc run
            wait_for(lambda: posts, 30, "the webhook notification")
            assert posts[0]["key"].startswith("ACT-")
            assert "Sự cố / Incident" in posts[0]["subject"]
        # Down while the block's time runs out: the restarted service's runner reverts it.
        time.sleep(BLOCK_SECS + 1)
        assert block_done() is not None  # nothing reverted it while soc run was down
        with soc_run(db, tmp_path, config):
            reverted = wait_for(lambda: next((a for a in actions(db) if a["id"] == block["id"]
                                              and a["status"] == "reverted"), None), 60, "the revert after a restart")
        assert reverted["id"] == block["id"]
        assert ATTACKER not in blocked(ns)
        assert len(posts) == 1  # the notification was not sent again by the restart


def test_with_a_broker_the_runner_sends_actions_to_celery(tmp_path: Path, redis_url: str) -> None:  # noqa: F811
    """``soc run --broker``: the same runner sends the queued action to Celery (a real
    ``redis-server`` on 127.0.0.1) instead of executing it; ``soc worker`` executes such
    messages (tests/playbooks/test_celery.py)."""
    store = SqliteStore(tmp_path / "x.db")
    try:
        playbook = load_text(PLAYBOOK, "brute.yml")
        config = ResponseConfig.from_dict({"builtin_playbooks": False,
                                           "responders": {"webhook": {"url": "http://127.0.0.1:9/hook"}}})
        planned = PlaybookObserver(store, config, None, playbooks=[playbook]).plan_and_dispatch(
            incident("INC-B", entities={"source.ip": ["203.0.113.7"]}), "created")
        queued = sorted(str(a["id"]) for a in planned if a["status"] == "queued")
        assert queued
        stop = threading.Event()
        thread = start_action_runner(lambda: SqliteStore(tmp_path / "x.db"), config, redis_url, ServiceHealth(),
                                     stop, 0.2)
        client = redis.Redis.from_url(redis_url)
        try:
            messages = wait_for(lambda: client.llen("celery") >= len(queued) and client.lrange("celery", 0, -1),
                                30, "the actions sent to the broker")
        finally:
            stop.set()
            thread.join(10)
        sent = sorted(json.loads(m)["headers"]["argsrepr"].strip("[]()',") for m in messages)
        assert sent == queued
        assert {json.loads(m)["headers"]["task"] for m in messages} == {EXECUTE}
        queue = ActionQueue.of(store)
        # Sent, not run here: the workers run them.
        assert all(queue.get(i)["status"] == "queued" and queue.get(i)["dispatched_at"] for i in queued)
    finally:
        store.close()
