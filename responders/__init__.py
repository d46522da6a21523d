"""Response actions: one module per responder, each with a manifest, all behind safeguards.

Blocking responders (nftables, iptables/ipset, pfSense, FortiGate) take the
:class:`~responders.safeguards.SafeguardPolicy` when they are built and enforce it in
``run``; notifiers (e-mail, webhook) take it too, for one way of building them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from responders.safeguards import SafeguardPolicy
from soc_core.registry import default_registry

BUILTIN_RESPONDERS: dict[str, str] = {
    "nftables": "responders.nftables:NftablesBlock",
    "iptables": "responders.iptables:IpsetBlock",
    "pfsense": "responders.pfsense:PfSenseBlock",
    "fortigate": "responders.fortigate:FortiGateBlock",
    "email": "responders.email:EmailNotifier",
    "webhook": "responders.webhook:WebhookNotifier",
}


def build_responder(name: str, policy: SafeguardPolicy, settings: Mapping[str, Any] | None = None) -> Any:
    """A registered responder built with the policy and its (schema-checked) settings."""
    factory = default_registry().get("responder", name)
    return factory(policy, dict(settings or {}))
