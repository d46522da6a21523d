"""Block addresses on a FortiGate through the FortiOS REST API's banned-IP (quarantine) list.

FortiOS documents the monitor endpoints used here (API token in ``Authorization: Bearer``,
``vdom`` as a query parameter):

- ``GET  /api/v2/monitor/user/banned`` lists banned addresses (``results``: ``ip_address``,
  ``expires``, ...);
- ``POST /api/v2/monitor/user/banned/add_users`` with ``{"ip_addresses": [...], "expiry": N}``
  bans for N seconds (the FortiGate expires the ban itself);
- ``POST /api/v2/monitor/user/banned/clear_users`` with ``{"ip_addresses": [...]}`` lifts a ban.

The banned list holds single addresses, so a network target is refused (use nftables, or a
FortiGate address group managed by hand, for ranges).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from responders.base import HTTP_SETTINGS, IP, Manifest, http_call, http_client
from responders.safeguards import SafeguardPolicy, parse_target
from soc_core.contracts import ResponseRequest, ResponseResult
from soc_core.errors import ConfigError, PermanentError

MANIFEST = Manifest(
    name="fortigate",
    description="Ban an IP address on a FortiGate (FortiOS REST API, banned-IP list with expiry).",
    observables=frozenset({IP}),
    blocks=True,
    settings_schema={
        "type": "object", "additionalProperties": False, "required": ["url", "token"],
        "properties": {
            **HTTP_SETTINGS,
            "token": {"type": "string", "minLength": 1},
            "vdom": {"type": "string", "minLength": 1},
        },
    },
)


class FortiGateBlock:
    name = "fortigate"
    accepts = MANIFEST.observables
    manifest = MANIFEST

    def __init__(self, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> None:
        if not settings or "url" not in settings:
            raise ConfigError("responder fortigate: settings url and token are required")
        conf = MANIFEST.validate_settings(settings)
        self.policy = policy
        self.base = str(conf["url"]).rstrip("/")
        self.vdom = str(conf.get("vdom", "root"))
        self.client = http_client(conf, {"Authorization": f"Bearer {conf['token']}", "Accept": "application/json"})

    def _address(self, value: str, refuse_networks: bool) -> str:
        target = self.policy.enforce_block(value) if refuse_networks else parse_target(value)
        if target.prefixlen != target.max_prefixlen:
            raise PermanentError(f"fortigate: the banned-IP list takes single addresses, not {target}")
        return str(target.network_address)

    def banned(self) -> set[str]:
        response = http_call(self.client, "GET", f"{self.base}/api/v2/monitor/user/banned", "fortigate",
                             params={"vdom": self.vdom})
        return {str(item.get("ip_address")) for item in response.json().get("results", [])}

    def run(self, request: ResponseRequest) -> ResponseResult:
        address = self._address(request.value, refuse_networks=True)
        duration = self.policy.block_duration(request.params.get("duration_secs"))
        if request.dry_run:
            return ResponseResult("dry_run", f"would ban {address} on {self.base} for {duration}s")
        if address in self.banned():
            return ResponseResult("already_done", f"{address} already banned on {self.base}")
        http_call(self.client, "POST", f"{self.base}/api/v2/monitor/user/banned/add_users", "fortigate",
                  params={"vdom": self.vdom}, json={"ip_addresses": [address], "expiry": duration})
        return ResponseResult("done", f"{address} banned on {self.base} (vdom {self.vdom}) for {duration}s")

    def revert(self, request: ResponseRequest) -> ResponseResult:
        address = self._address(request.value, refuse_networks=False)
        if request.dry_run:
            return ResponseResult("dry_run", f"would lift the ban of {address} on {self.base}")
        if address not in self.banned():
            return ResponseResult("already_done", f"{address} not banned on {self.base} (expired or lifted)")
        http_call(self.client, "POST", f"{self.base}/api/v2/monitor/user/banned/clear_users", "fortigate",
                  params={"vdom": self.vdom}, json={"ip_addresses": [address]})
        return ResponseResult("reverted", f"ban of {address} lifted on {self.base}")
