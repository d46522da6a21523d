"""Notify by webhook: one JSON POST per action, with the action id as ``Idempotency-Key``.

A receiver that honours the header (as chat and ticketing APIs commonly do) sees a
redelivered action once. Timeouts are always on; a timeout, a connection failure, 429 or
a 5xx answer is retryable, any other non-2xx answer is permanent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from responders.base import ANY, HTTP_SETTINGS, Manifest, http_call, http_client
from responders.safeguards import SafeguardPolicy
from soc_core.contracts import ResponseRequest, ResponseResult
from soc_core.errors import ConfigError

MANIFEST = Manifest(
    name="webhook",
    description="POST a JSON notification about an incident to a URL.",
    observables=frozenset({ANY}),
    reversible=False,
    settings_schema={
        "type": "object", "additionalProperties": False, "required": ["url"],
        "properties": {
            **HTTP_SETTINGS,
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
)


class WebhookNotifier:
    name = "webhook"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not settings or "url" not in settings:
            raise ConfigError("responder webhook: settings.url is required")
        conf = MANIFEST.validate_settings(settings)
        self.url = str(conf["url"])
        self.headers = dict(conf.get("headers", {}))
        self.client = http_client(conf, transport=transport)

    def run(self, request: ResponseRequest) -> ResponseResult:
        body = {"action_id": request.action_id, "observable_type": request.observable_type, "value": request.value,
                "subject": request.params.get("subject", ""), "text": request.params.get("text", ""),
                "incident": request.params.get("incident")}
        if request.dry_run:
            return ResponseResult("dry_run", f"would POST to {self.url}")
        response = http_call(self.client, "POST", self.url, "webhook", json=body,
                             headers={**self.headers, "Idempotency-Key": request.action_id})
        return ResponseResult("done", f"POST {self.url}: HTTP {response.status_code}")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        return ResponseResult("skipped", "a notification cannot be taken back")
