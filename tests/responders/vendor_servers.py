"""Local HTTP servers on 127.0.0.1 that play vendor APIs as their public documentation
describes them (we cannot run a FortiGate or a pfSense here): only the endpoints our
responders use, with the documented authentication, paths, bodies and answer envelopes.

- FortiOS REST API, monitor ``user/banned`` (list, ``add_users`` with ``ip_addresses`` and
  ``expiry``, ``clear_users``), token in ``Authorization: Bearer``, ``vdom`` query parameter,
  answers ``{"http_method", "results", "vdom", "status": "success", "http_status"}``.
- pfSense REST API package v2 (pfrest): ``GET /api/v2/firewall/aliases`` (query filters),
  ``POST``/``PATCH /api/v2/firewall/alias``, ``POST /api/v2/firewall/apply``, key in
  ``X-API-Key``, answers ``{"code", "status", "response_id", "message", "data"}``.
- A webhook receiver that honours ``Idempotency-Key``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.fail_next = 0  # answer 503 to this many requests (a busy appliance)
        self.delay_secs = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        body = self._body()
        with self.server.lock:
            self.server.requests.append((method, url.path, body))
            failing = self.server.fail_next > 0
            if failing:
                self.server.fail_next -= 1
        if self.server.delay_secs:
            time.sleep(self.server.delay_secs)
        if failing:
            self._send(503, {"status": "error", "http_status": 503})
            return
        self.route(method, url.path, parse_qs(url.query), body)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


class FortiGateHandler(_Handler):
    TOKEN = "fgt-test-token"

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            self._send(401, {"status": "error", "http_status": 401})
            return
        banned: dict[str, dict[str, Any]] = self.server.state.setdefault("banned", {})  # type: ignore[attr-defined]
        vdom = query.get("vdom", ["root"])[0]
        envelope = {"http_method": method, "vdom": vdom, "path": "user", "status": "success", "http_status": 200}
        now = int(time.time())
        for ip in [ip for ip, entry in banned.items() if entry["expires"] and entry["expires"] <= now]:
            del banned[ip]  # the appliance expires bans itself
        if method == "GET" and path == "/api/v2/monitor/user/banned":
            self._send(200, {**envelope, "name": "banned", "results": list(banned.values())})
        elif method == "POST" and path == "/api/v2/monitor/user/banned/add_users":
            for ip in body["ip_addresses"]:
                banned[ip] = {"ip_address": ip, "created": now, "expires": now + int(body.get("expiry", 0))
                              if body.get("expiry") else 0, "source": "admin"}
            self._send(200, {**envelope, "name": "banned", "action": "add_users", "results": {}})
        elif method == "POST" and path == "/api/v2/monitor/user/banned/clear_users":
            for ip in body["ip_addresses"]:
                banned.pop(ip, None)
            self._send(200, {**envelope, "name": "banned", "action": "clear_users", "results": {}})
        else:
            self._send(404, {"status": "error", "http_status": 404})


class PfSenseHandler(_Handler):
    KEY = "pfsense-test-key"

    def _ok(self, data: Any) -> None:
        self._send(200, {"code": 200, "status": "ok", "response_id": "SUCCESS", "message": "", "data": data})

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        if self.headers.get("X-API-Key") != self.KEY:
            self._send(401, {"code": 401, "status": "unauthorized", "response_id": "AUTH_FAILED", "data": []})
            return
        aliases: list[dict[str, Any]] = self.server.state.setdefault("aliases", [])  # type: ignore[attr-defined]
        state: dict[str, Any] = self.server.state  # type: ignore[attr-defined]
        if method == "GET" and path == "/api/v2/firewall/aliases":
            found = [a for a in aliases if all(str(a.get(k)) == v[0] for k, v in query.items())]
            self._ok(found)
        elif method == "POST" and path == "/api/v2/firewall/alias":
            alias = {"id": len(aliases), **body}
            aliases.append(alias)
            state["pending"] = True
            self._ok(alias)
        elif method == "PATCH" and path == "/api/v2/firewall/alias":
            alias = aliases[int(body["id"])]
            alias.update({k: v for k, v in body.items() if k != "id"})
            state["pending"] = True
            self._ok(alias)
        elif method == "POST" and path == "/api/v2/firewall/apply":
            state["pending"] = False
            state["applied"] = [dict(a, address=list(a["address"])) for a in aliases]
            self._ok({"applied": True, "pending_subsystems": []})
        else:
            self._send(404, {"code": 404, "status": "not found", "response_id": "ENDPOINT_NOT_FOUND", "data": []})


class WebhookHandler(_Handler):
    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        seen: dict[str, Any] = self.server.state.setdefault("delivered", {})  # type: ignore[attr-defined]
        key = self.headers.get("Idempotency-Key", "")
        seen.setdefault(key, body)  # a repeated key is the same delivery
        self._send(200, {"ok": True})


@contextmanager
def serve(handler: type[_Handler]) -> Iterator[_Server]:
    """Run one of the servers above on 127.0.0.1 (random port) for the duration of a test."""
    server = _Server(handler)
    server.state = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
