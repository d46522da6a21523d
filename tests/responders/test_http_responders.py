"""pfSense, FortiGate and webhook responders against local HTTP servers that play each
vendor's documented API (``tests/responders/vendor_servers.py`` says which parts; we cannot
run the appliances here), and the e-mail responder against a real SMTP server (aiosmtpd)
on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from responders.email import EmailNotifier
from responders.fortigate import FortiGateBlock
from responders.pfsense import PfSenseBlock
from responders.safeguards import SafeguardPolicy, SafeguardRefused, protected
from responders.webhook import WebhookNotifier
from soc_core.contracts import ResponseRequest
from soc_core.errors import ConfigError, PermanentError, RetryableError
from tests.responders.vendor_servers import FortiGateHandler, PfSenseHandler, WebhookHandler, serve

POLICY = SafeguardPolicy(never_block=tuple(protected(["192.0.2.0/28"], "national_center")))


def _req(value: str, secs: int = 600, action: str = "ACT-1", **params: object) -> ResponseRequest:
    return ResponseRequest(action, "ip", value, {"duration_secs": secs, **params})


def test_fortigate_ban_list_add_idempotent_and_clear() -> None:
    with serve(FortiGateHandler) as server:
        fgt = FortiGateBlock(POLICY, {"url": server.url, "token": FortiGateHandler.TOKEN, "timeout_secs": 5})
        assert fgt.run(_req("203.0.113.7", secs=900)).status == "done"
        assert fgt.run(_req("203.0.113.7")).status == "already_done"
        entry = server.state["banned"]["203.0.113.7"]  # type: ignore[attr-defined]
        assert entry["expires"] - entry["created"] == 900
        adds = [r for r in server.requests if r[1].endswith("/add_users")]
        assert adds == [("POST", "/api/v2/monitor/user/banned/add_users",
                         {"ip_addresses": ["203.0.113.7"], "expiry": 900})]
        assert fgt.revert(_req("203.0.113.7")).status == "reverted"
        assert fgt.revert(_req("203.0.113.7")).status == "already_done"
        assert server.state["banned"] == {}  # type: ignore[attr-defined]


def test_fortigate_refusals_and_errors() -> None:
    with serve(FortiGateHandler) as server:
        fgt = FortiGateBlock(POLICY, {"url": server.url, "token": FortiGateHandler.TOKEN, "timeout_secs": 5})
        with pytest.raises(SafeguardRefused):
            fgt.run(_req("192.0.2.3"))
        with pytest.raises(PermanentError, match="single addresses"):
            fgt.run(_req("203.0.113.0/24"))
        server.fail_next = 1
        with pytest.raises(RetryableError, match="503"):
            fgt.run(_req("203.0.113.8"))
        bad = FortiGateBlock(POLICY, {"url": server.url, "token": "wrong", "timeout_secs": 5})
        with pytest.raises(PermanentError, match="401"):
            bad.run(_req("203.0.113.8"))
        assert not any(r[1].endswith("/add_users") for r in server.requests)


def test_fortigate_timeout_is_retryable() -> None:
    with serve(FortiGateHandler) as server:
        server.delay_secs = 1.0
        fgt = FortiGateBlock(POLICY, {"url": server.url, "token": FortiGateHandler.TOKEN, "timeout_secs": 0.2})
        with pytest.raises(RetryableError, match="timeout"):
            fgt.run(_req("203.0.113.9"))


def test_pfsense_alias_created_extended_applied_and_reverted() -> None:
    with serve(PfSenseHandler) as server:
        pf = PfSenseBlock(POLICY, {"url": server.url, "api_key": PfSenseHandler.KEY, "alias": "SOC_BLOCK"})
        assert pf.run(_req("203.0.113.7", action="ACT-a")).status == "done"
        assert pf.run(_req("198.51.100.0/24", action="ACT-b")).status == "done"
        assert pf.run(_req("203.0.113.7", action="ACT-a")).status == "already_done"
        applied = server.state["applied"]  # type: ignore[attr-defined]
        assert applied[0]["name"] == "SOC_BLOCK" and applied[0]["address"] == ["203.0.113.7", "198.51.100.0/24"]
        assert applied[0]["detail"] == ["soc ACT-a", "soc ACT-b"]
        assert pf.revert(_req("203.0.113.7")).status == "reverted"
        assert server.state["applied"][0]["address"] == ["198.51.100.0/24"]  # type: ignore[attr-defined]
        assert server.state["pending"] is False  # type: ignore[attr-defined]
        with pytest.raises(SafeguardRefused):
            pf.run(_req("192.0.2.0/24"))


def test_missing_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="url"):
        PfSenseBlock(POLICY, {})
    with pytest.raises(ConfigError, match="timeout_secs"):
        FortiGateBlock(POLICY, {"url": "http://127.0.0.1:1", "token": "x", "timeout_secs": "soon"})


def test_webhook_sends_idempotency_key() -> None:
    with serve(WebhookHandler) as server:
        hook = WebhookNotifier(POLICY, {"url": server.url + "/hook", "timeout_secs": 5})
        request = ResponseRequest("ACT-w", "incident", "INC-1", {"subject": "s", "text": "t"})
        assert hook.run(request).status == "done"
        assert hook.run(request).status == "done"
        assert list(server.state["delivered"]) == ["ACT-w"]  # type: ignore[attr-defined]
        server.fail_next = 1
        with pytest.raises(RetryableError):
            hook.run(request)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Collect(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


def test_email_through_a_real_smtp_server() -> None:
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        mail = EmailNotifier(POLICY, {"host": "127.0.0.1", "port": controller.port, "sender": "soc@example.vn",
                                      "to": ["analyst@example.vn"], "timeout_secs": 5})
        text = "Sự cố / Incident INC-1 — dò mật khẩu SSH\n"
        result = mail.run(ResponseRequest("ACT-m", "incident", "INC-1", {"subject": "[SOC] Sự cố INC-1", "text": text}))
        assert result.status == "done"
        assert len(handler.messages) == 1
        msg = handler.messages[0]
        assert msg["Message-ID"] == "<ACT-m@soc-pipeline>"  # type: ignore[index]
        assert msg["To"] == "analyst@example.vn"  # type: ignore[index]
        assert "dò mật khẩu" in msg.get_payload(decode=True).decode("utf-8")  # type: ignore[attr-defined]
    finally:
        controller.stop()
    with pytest.raises(RetryableError):  # the server is gone: connection refused is retryable
        mail.run(ResponseRequest("ACT-m", "incident", "INC-1", {"text": "x"}))
