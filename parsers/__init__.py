"""Parsers: raw input to nested ECS events, one parser per ``event.dataset``.

Each group package (``parsers.linux``, ``parsers.firewall``...) declares
``PARSERS = {dataset: "module:Class"}``; they are merged here into the built-in
catalogue the registry reads, and a dataset claimed by two groups stops start-up.
"""

from __future__ import annotations

import importlib

from soc_core.errors import RegistryError

GROUPS = (
    "parsers.linux",
    "parsers.cisco",
    "parsers.firewall",
    "parsers.web",
    "parsers.endpoint",
    "parsers.windows",
)


def _catalogue() -> dict[str, str]:
    merged: dict[str, str] = {"auto": "parsers.auto:AutoParser", "json": "parsers.json_document:JsonDocumentParser"}
    for group in GROUPS:
        for name, target in importlib.import_module(group).PARSERS.items():
            if name in merged:
                raise RegistryError(f"parser {name!r} declared twice ({merged[name]} and {target})")
            merged[name] = target
    return merged


BUILTIN_PARSERS: dict[str, str] = _catalogue()
