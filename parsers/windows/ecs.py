"""Map a Winlogbeat-shaped ``winlog`` object to ECS, per channel, as Elastic does.

The fields every Windows event gets (``@timestamp`` from ``TimeCreated``,
``event.code``/``event.provider``, ``host.name``, ``log.level``, ``event.outcome`` from
the audit keywords) are set here; the channel-specific ingest pipelines of Elastic's
``system`` and ``windows`` integrations live in ``security.py``, ``sysmon.py``,
``powershell.py`` and ``defender.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Final

from parsers.windows import defender, powershell, security, sysmon
from soc_core.event import Event, format_timestamp, parse_timestamp

# event.dataset per channel, as the Elastic integrations name their data streams.
CHANNEL_DATASETS: Final = {
    "security": "system.security",
    "system": "system.system",
    "application": "system.application",
    "microsoft-windows-sysmon/operational": "windows.sysmon_operational",
    "windows powershell": "windows.powershell",
    "microsoft-windows-powershell/operational": "windows.powershell_operational",
    "forwardedevents": "windows.forwarded",
    "microsoft-windows-windows defender/operational": "windows.windows_defender",
}

Mapper = Callable[[dict[str, Any], Event], None]

# Which pipeline applies is decided by provider, so forwarded events (channel
# ForwardedEvents) are mapped like the channel they came from.
PROVIDER_MAPPERS: Final[dict[str, Mapper]] = {
    "microsoft-windows-security-auditing": security.map_security,
    "microsoft-windows-eventlog": security.map_security,
    "microsoft-windows-sysmon": sysmon.map_sysmon,
    "powershell": powershell.map_powershell,
    "microsoft-windows-powershell": powershell.map_powershell,
    "microsoft-windows-windows defender": defender.map_defender,
}


def winlog_to_ecs(winlog: dict[str, Any], event: Event, parser_id: str) -> None:
    """Fill ``event`` (already holding identity and original) from ``winlog``."""
    event["winlog"] = winlog
    ev = event["event"]
    channel = str(winlog.get("channel", ""))
    dataset = CHANNEL_DATASETS.get(channel.lower(), parser_id)
    ev["dataset"] = dataset
    ev["module"] = dataset.split(".", 1)[0]
    ev["kind"] = "event"
    ev["code"] = winlog["event_id"]
    provider = winlog.get("provider_name")
    if provider:
        ev["provider"] = provider
    created = winlog.get("time_created")
    if isinstance(created, str) and created:
        # A malformed (or out of range) stamp keeps the receive time already set.
        with contextlib.suppress(ValueError, OverflowError):
            event["@timestamp"] = format_timestamp(parse_timestamp(created))
    if winlog.get("outcome") in ("success", "failure"):
        ev["outcome"] = winlog["outcome"]
    level = winlog.get("level")
    if isinstance(level, str) and level:
        event.setdefault("log", {})["level"] = level.lower()
    computer = winlog.get("computer_name")
    if computer:
        event.setdefault("host", {})["name"] = computer
    mapper = PROVIDER_MAPPERS.get(str(provider or "").lower())
    if mapper is not None:
        mapper(winlog, event)
