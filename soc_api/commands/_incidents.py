"""Wiring of the incident stage for ``soc ingest`` and ``soc run``: alert handling, grouping and
the observers that run playbooks when an incident is created or changes.

The grouping options come from an optional YAML file (``--incident-config``):

    grouping: {max_gap_secs: 86400, hub_max_sources: 10, never_link: [10.0.0.1, 192.0.2.0/24]}
    handling: {dedup_window_secs: 600}
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click
import yaml

from incidents.grouping import GroupingOptions
from incidents.handling import AlertHandler, HandlingOptions
from incidents.service import IncidentService
from incidents.stage import IncidentStage
from soc_core.clock import Clock
from soc_core.contracts import IncidentObserver, Store
from soc_core.errors import ConfigError

incident_config_option = click.option(
    "--incident-config", "incident_config", type=click.Path(exists=True, dir_okay=False),
    help="YAML with incident grouping (never_link, max_gap_secs, hub_max_sources) and handling options.",
)


def incident_observers(store: Store) -> list[IncidentObserver]:
    """The observers told about every incident change: the playbooks plan their actions into
    the durable queue (built-in playbooks, default safeguards). Planning only: the actions run
    where a runner runs (``soc actions run`` in-process, or ``soc worker`` on Celery)."""
    from playbooks.config import ResponseConfig  # loaded only where incidents are built
    from playbooks.runner import PlaybookObserver

    return [PlaybookObserver(store, ResponseConfig(), dispatcher=None)]


def load_incident_config(path: str | None) -> tuple[GroupingOptions, HandlingOptions]:
    """Grouping and handling options from a YAML file (defaults without one)."""
    if path is None:
        return GroupingOptions(), HandlingOptions()
    data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"grouping", "handling"}:
        raise ConfigError(f"{path}: expected a mapping with 'grouping' and/or 'handling'")
    handling = data.get("handling") or {}
    try:
        handling_options = HandlingOptions(**handling)
    except TypeError as exc:
        raise ConfigError(f"{path}: handling: {exc}") from None
    return GroupingOptions.from_mapping(data.get("grouping") or {}), handling_options


def build_alert_stage(store: Store, clock: Clock, config_path: str | None = None) -> IncidentStage:
    """Alert handling and incident grouping over ``store``."""
    grouping, handling = load_incident_config(config_path)
    service = IncidentService(store, clock=clock, options=grouping, observers=incident_observers(store))
    return IncidentStage(AlertHandler(store, clock, handling), service)


def incident_service(store: Store, clock: Clock, config_path: str | None = None) -> IncidentService:
    """The service analysts' commands use (same observers as the pipeline)."""
    grouping, _ = load_incident_config(config_path)
    return IncidentService(store, clock=clock, options=grouping, observers=incident_observers(store))


def default_actor() -> str:
    return f"cli:{getpass.getuser()}"


actor_option = click.option(
    "--actor", "actor", envvar="SOC_ACTOR", default=default_actor,
    help="Who makes the change, for the audit trail (env SOC_ACTOR; default cli:<login>).",
)
