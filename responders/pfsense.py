"""Block addresses on pfSense through the pfSense REST API package (v2), in a firewall alias.

The package (pfrest, ``pfSense-pkg-RESTAPI``) documents these endpoints (API key in the
``X-API-Key`` header; answers wrap their payload in ``{"code", "status", "data", ...}``):

- ``GET   /api/v2/firewall/aliases?name=NAME`` finds the alias (``data``: list of aliases with
  ``id``, ``name``, ``type``, ``address`` and ``detail`` lists);
- ``POST  /api/v2/firewall/alias`` creates it; ``PATCH /api/v2/firewall/alias`` with its ``id``
  replaces its ``address``/``detail`` lists;
- ``POST  /api/v2/firewall/apply`` applies pending firewall changes.

A block rule referencing the alias is set up once by the firewall's administrator. An alias
entry has no timeout of its own: the action queue's expiry reverts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from responders.base import HTTP_SETTINGS, IP, Manifest, http_call, http_client
from responders.safeguards import SafeguardPolicy, unblock_target
from soc_core.contracts import ResponseRequest, ResponseResult
from soc_core.errors import ConfigError

MANIFEST = Manifest(
    name="pfsense",
    description="Add an IP address or network to a pfSense firewall alias (pfSense REST API v2).",
    observables=frozenset({IP}),
    blocks=True,
    settings_schema={
        "type": "object", "additionalProperties": False, "required": ["url", "api_key"],
        "properties": {
            **HTTP_SETTINGS,
            "api_key": {"type": "string", "minLength": 1},
            "alias": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,31}$"},
        },
    },
)


class PfSenseBlock:
    name = "pfsense"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> None:
        if not settings or "url" not in settings:
            raise ConfigError("responder pfsense: settings url and api_key are required")
        conf = MANIFEST.validate_settings(settings)
        self.policy = policy
        self.base = str(conf["url"]).rstrip("/")
        self.alias = str(conf.get("alias", "SOC_BLOCK"))
        self.client = http_client(conf, {"X-API-Key": str(conf["api_key"]), "Accept": "application/json"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return http_call(self.client, method, f"{self.base}{path}", "pfsense", **kwargs).json().get("data")

    def find_alias(self) -> dict[str, Any] | None:
        data = self._call("GET", "/api/v2/firewall/aliases", params={"name": self.alias})
        return next((a for a in data or [] if a.get("name") == self.alias), None)

    def run(self, request: ResponseRequest) -> ResponseResult:
        target = self.policy.enforce_block(request.value)
        text = str(target.network_address) if target.prefixlen == target.max_prefixlen else str(target)
        if request.dry_run:
            return ResponseResult("dry_run", f"would add {text} to alias {self.alias} on {self.base}")
        alias = self.find_alias()
        detail = f"soc {request.action_id}"
        if alias is None:
            self._call("POST", "/api/v2/firewall/alias", json={
                "name": self.alias, "type": "network", "descr": "Blocked by the SOC (soc-pipeline)",
                "address": [text], "detail": [detail]})
        elif text in alias.get("address", []):
            return ResponseResult("already_done", f"{text} already in alias {self.alias}")
        else:
            addresses, details = _lists(alias)
            self._call("PATCH", "/api/v2/firewall/alias", json={
                "id": alias["id"], "address": [*addresses, text], "detail": [*details, detail]})
        self._call("POST", "/api/v2/firewall/apply")
        return ResponseResult("done", f"{text} added to alias {self.alias} on {self.base}")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        target = unblock_target(request.value)
        text = str(target.network_address) if target.prefixlen == target.max_prefixlen else str(target)
        if request.dry_run:
            return ResponseResult("dry_run", f"would remove {text} from alias {self.alias}")
        alias = self.find_alias()
        if alias is None or text not in alias.get("address", []):
            return ResponseResult("already_done", f"{text} not in alias {self.alias}")
        addresses, details = _lists(alias)
        keep = [i for i, a in enumerate(addresses) if a != text]
        self._call("PATCH", "/api/v2/firewall/alias", json={
            "id": alias["id"], "address": [addresses[i] for i in keep], "detail": [details[i] for i in keep]})
        self._call("POST", "/api/v2/firewall/apply")
        return ResponseResult("reverted", f"{text} removed from alias {self.alias}")


def _lists(alias: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    addresses = [str(a) for a in alias.get("address", [])]
    details = [str(d) for d in alias.get("detail", [])]
    details += [""] * (len(addresses) - len(details))  # pfSense keeps one detail per address
    return addresses, details[:len(addresses)]
