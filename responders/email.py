"""Notify by e-mail over SMTP (optionally STARTTLS and login), with timeouts.

The ``Message-ID`` derives from the action id, so a redelivered action sends a message
that mail clients and ticket systems recognise as the same one. Connection failures,
timeouts and 4xx SMTP answers are retryable; 5xx answers (a refused recipient) are not.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from responders.base import ANY, DEFAULT_HTTP_TIMEOUT_SECS, Manifest
from responders.safeguards import SafeguardPolicy
from soc_core.contracts import ResponseRequest, ResponseResult
from soc_core.errors import ConfigError, PermanentError, RetryableError

MANIFEST = Manifest(
    name="email",
    description="Send an e-mail about an incident through an SMTP server.",
    observables=frozenset({ANY}),
    reversible=False,
    settings_schema={
        "type": "object", "additionalProperties": False, "required": ["host", "sender", "to"],
        "properties": {
            "host": {"type": "string", "minLength": 1},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "sender": {"type": "string", "pattern": "@"},
            "to": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "@"}},
            "starttls": {"type": "boolean"},
            "username": {"type": "string"},
            "password": {"type": "string"},
            "timeout_secs": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        },
    },
)


class EmailNotifier:
    name = "email"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> None:
        if not settings or "host" not in settings:
            raise ConfigError("responder email: settings host, sender and to are required")
        conf = MANIFEST.validate_settings(settings)
        self.host = str(conf["host"])
        self.port = int(conf.get("port", 25))
        self.sender = str(conf["sender"])
        self.to = [str(x) for x in conf["to"]]
        self.starttls = bool(conf.get("starttls", False))
        self.username = conf.get("username")
        self.password = conf.get("password")
        self.timeout_secs = float(conf.get("timeout_secs", DEFAULT_HTTP_TIMEOUT_SECS))

    def message(self, request: ResponseRequest) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        to = request.params.get("to")
        msg["To"] = ", ".join([str(to)] if to and "@" in str(to) else self.to)
        msg["Subject"] = str(request.params.get("subject") or f"[SOC] {request.value}")
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = f"<{request.action_id}@soc-pipeline>"
        msg.set_content(str(request.params.get("text") or request.value), charset="utf-8")
        return msg

    def run(self, request: ResponseRequest) -> ResponseResult:
        msg = self.message(request)
        if request.dry_run:
            return ResponseResult("dry_run", f"would mail {msg['To']} via {self.host}:{self.port}")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_secs) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, str(self.password or ""))
                smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            err = RetryableError if 400 <= exc.smtp_code < 500 else PermanentError
            raise err(f"smtp {self.host}:{self.port}: {exc.smtp_code} {exc.smtp_error!r}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"smtp {self.host}:{self.port}: recipients refused {list(exc.recipients)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetryableError(f"smtp {self.host}:{self.port}: {exc}") from None
        return ResponseResult("done", f"mailed {msg['To']} via {self.host}:{self.port} ({msg['Message-ID']})")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        return ResponseResult("skipped", "an e-mail cannot be taken back")
