"""The response configuration: safeguards, responder settings and extra playbook folders.

One YAML file (``--config``) read by ``soc playbooks``, ``soc actions`` and ``soc worker``
alike, so the in-process runner and every Celery worker apply the same safeguards::

    safeguards:            # responders.safeguards.SafeguardPolicy.from_dict
      never_block:
        own_networks: [10.0.0.0/8]
        gateways: [{cidr: 10.0.0.1, label: core router}]
        national_center: [203.0.113.0/28]
      max_prefix_v4: 24
      max_blocks_per_window: 50
      dry_run: false
    responders:            # settings per responder, checked against its manifest's schema
      nftables: {table: soc}
      webhook: {url: "https://chat.example/hook"}
    playbooks: [/etc/soc/playbooks]
    builtin_playbooks: true
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from playbooks.loader import load_playbooks
from playbooks.model import Playbook
from responders import build_responder
from responders.safeguards import SafeguardPolicy
from soc_core.errors import ConfigError


@dataclass(frozen=True)
class ResponseConfig:
    policy: SafeguardPolicy = field(default_factory=SafeguardPolicy)
    responders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    playbook_paths: tuple[str, ...] = ()
    builtin_playbooks: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<config>") -> ResponseConfig:
        unknown = sorted(set(data) - {"safeguards", "responders", "playbooks", "builtin_playbooks"})
        if unknown:
            raise ConfigError(f"{source}: unknown settings {unknown}")
        responders = data.get("responders") or {}
        if not isinstance(responders, Mapping):
            raise ConfigError(f"{source}: responders must map a responder name to its settings")
        return cls(
            policy=SafeguardPolicy.from_dict(data.get("safeguards") or {}, source),
            responders={str(k): dict(v or {}) for k, v in responders.items()},
            playbook_paths=tuple(str(p) for p in data.get("playbooks") or ()),
            builtin_playbooks=bool(data.get("builtin_playbooks", True)),
        )

    @classmethod
    def from_file(cls, path: str | Path | None) -> ResponseConfig:
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: the configuration must be a mapping")
        return cls.from_dict(data, str(path))

    def playbooks(self) -> list[Playbook]:
        return load_playbooks(self.playbook_paths, include_builtin=self.builtin_playbooks)

    def responder(self, name: str) -> Any:
        return build_responder(name, self.policy, self.responders.get(name))
