"""Configuration: one documented, validated structure that builds the running service.

Read from a TOML file (``soc.toml``, given to any ``soc`` command as ``--config FILE`` or
``SOC_CONFIG``); ``SOC_STORE`` and ``SOC_TZ`` in the environment override the file, and the
command line overrides both. ``[command.<name>]`` tables hold any option of one command
(``soc_api.config_file`` maps the file onto the commands; ``soc config check`` validates it).
Each input names its component by ``type`` (a registry name) and carries
that component's own options; option names carry their units (``max_batch_events``,
``flush_interval_secs``). Unknown keys are errors, so a typo never passes silently.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from soc_core.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(_Strict):
    """One receiver: its registry ``type``, where it listens, and which parser reads it."""

    type: str = Field(description="Receiver name in the registry, e.g. syslog_tcp, syslog_udp, http, file_tail.")
    listen: str | None = Field(None, description="host:port to listen on (network receivers).")
    paths: list[str] = Field(default_factory=list, description="Files or globs (file_tail).")
    parser: str = Field("auto", description="Parser (event.dataset) for this input, or auto.")
    encoding: str | None = Field(None, description="Encoding of a source that does not send UTF-8: tcvn3 (ABC), "
                                                   "vni, viscii, cp1258 or any Python codec.")
    options: dict[str, Any] = Field(default_factory=dict, description="Receiver-specific options.")


class Settings(_Strict):
    """The whole service configuration."""

    store: str = Field("sqlite:///var/soc.db", description="Store URL: sqlite:///path or http(s)://host:port.")
    timezone: str = Field("UTC", description="Zone of timestamps that carry none (e.g. Asia/Ho_Chi_Minh).")
    rules: list[str] = Field(default_factory=list, description="Sigma rule files or folders to run.")
    inputs: list[InputConfig] = Field(default_factory=list, description="Receivers to start.")
    queue_path: str = Field("var/queue.db", description="The durable queue's file.")
    max_batch_events: int = Field(1000, ge=1, description="Events per pipeline batch.")
    flush_interval_secs: float = Field(1.0, gt=0, description="How often time-driven detections are flushed.")
    retention_days: int | None = Field(None, ge=1, description="Delete stored documents older than this.")
    response: dict[str, Any] = Field(
        default_factory=dict,
        description="Response settings ([response] table): safeguards (never_block sets, max_prefix_v4/v6, "
                    "max_blocks_per_window, dry_run, ...), responders (settings per responder), playbooks "
                    "(extra folders), builtin_playbooks; validated by playbooks.config (docs/responders.md).",
    )
    command: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Options of one soc command by its long option name, e.g. [command.run] api = "
                    "\"127.0.0.1:8080\" or [command.search] limit = 50; the command line overrides them.",
    )


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from a TOML file (optional) and the environment."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    if "SOC_STORE" in env:
        data["store"] = env["SOC_STORE"]
    if "SOC_TZ" in env:
        data["timezone"] = env["SOC_TZ"]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}{problems}") from None
