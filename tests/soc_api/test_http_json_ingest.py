"""Issue #20 item 8: JSON posted to ``/ingest`` of a running ``soc run`` is stored, not
dead-lettered: ECS documents as they are, other objects under ``json.*``; the answer says
how many entries became dead letters. A real service process, a real SQLite store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
KEY = "json-key"
ECS_DOC = {"@timestamp": "2026-12-07T10:00:00+07:00", "ecs": {"version": "8.11.0"},
           "event": {"dataset": "custom.app", "action": "login", "outcome": "failure"},
           "source": {"ip": "10.1.2.3"}, "user": {"name": "an"}, "message": "Đăng nhập thất bại"}
PLAIN = {"user": "binh", "action": "download", "bytes": 1234, "nested": {"path": "/srv/a"}}
BAD_ECS = {"@timestamp": "yesterday-ish", "event": {"action": "x"}}


def _search(client: httpx.Client, q: str, collection: str = "events") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get("/search", params={"q": q, "collection": collection}).json()["events"]
    return events


def test_json_documents_are_stored_and_dead_letters_counted(tmp_path: Path) -> None:
    args = [sys.executable, "-c", "from soc_api.cli import main; main()", "run", "--http", "127.0.0.1:0",
            "--api", "127.0.0.1:0", "--api-key", KEY, "--data-dir", str(tmp_path / "data")]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ports = json.loads(proc.stdout.readline())["listening"]
        http = next(v for k, v in ports.items() if k.startswith("http://"))
        body = "\n".join(json.dumps(d) for d in (ECS_DOC, PLAIN, BAD_ECS)) + "\n"
        answer = httpx.post(f"http://127.0.0.1:{http}/ingest", content=body.encode(),
                            headers={"X-API-Key": KEY}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"accepted": 3, "dead_letters": 1}
        with httpx.Client(base_url=f"http://127.0.0.1:{ports['api']}", timeout=10,
                          headers={"X-API-Key": KEY}) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_search(client, "*")) < 2:
                time.sleep(0.1)
            ecs = _search(client, "source.ip:10.1.2.3 AND event.action:login")
            assert len(ecs) == 1
            stored = ecs[0]
            assert stored["@timestamp"] == "2026-12-07T03:00:00.000Z"
            # As it is: every field of the document, unchanged (ids and kind added).
            for key in ("ecs", "source", "user", "message"):
                assert stored[key] == ECS_DOC[key]
            assert stored["event"]["dataset"] == "custom.app" and stored["event"]["outcome"] == "failure"
            assert len(_search(client, "dang nhap")) == 1
            plain = _search(client, "json.user:binh AND json.nested.path:\\/srv\\/a")
            assert len(plain) == 1 and plain[0]["json"] == PLAIN
            assert plain[0]["event"]["dataset"] == "json"
            letters = _search(client, "*", "dead_letters")
            assert len(letters) == 1 and "@timestamp" in letters[0]["error"]["message"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
