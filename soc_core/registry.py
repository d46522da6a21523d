"""One registry of components: built-ins plus third-party entry points.

Built-ins are declared by each stage package as ``BUILTINS = {name: "module:attr"}``
(loaded lazily, so asking for one parser does not import them all). Third parties
publish entry points in the groups ``soc.parser``, ``soc.store``, ``soc.receiver``,
``soc.detector``, ``soc.responder`` and ``soc.intel_feed``. A name registered twice is a
start-up error, whoever registered it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal

from soc_core.errors import RegistryError

Kind = Literal["parser", "store", "receiver", "detector", "responder", "intel_feed"]
KINDS: tuple[Kind, ...] = ("parser", "store", "receiver", "detector", "responder", "intel_feed")

# Which package of ours declares the built-ins of each kind (named, never imported here
# at module load: the core imports nothing of ours).
BUILTIN_PACKAGES: dict[Kind, tuple[str, ...]] = {
    "parser": ("parsers",),
    "store": ("soc_store",),
    "receiver": ("ingest",),
    "detector": ("rules", "correlation"),
    "responder": ("responders",),
    "intel_feed": ("correlation",),
}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


@dataclass
class Registry:
    """Maps ``(kind, name)`` to a factory; built lazily on first use."""

    _targets: dict[Kind, dict[str, str | Callable[..., Any]]] = field(default_factory=dict)
    _origins: dict[tuple[Kind, str], str] = field(default_factory=dict)

    def register(self, kind: Kind, name: str, target: str | Callable[..., Any], origin: str) -> None:
        """Add one component; a second registration of the same name is an error."""
        bucket = self._targets.setdefault(kind, {})
        if name in bucket:
            raise RegistryError(
                f"duplicate {kind} name {name!r}: registered by {self._origins[(kind, name)]} and by {origin}"
            )
        bucket[name] = target
        self._origins[(kind, name)] = origin

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._targets.get(kind, {}))

    def get(self, kind: Kind, name: str) -> Any:
        """The factory (usually a class) registered under ``name``."""
        try:
            target = self._targets[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise RegistryError(f"unknown {kind} {name!r} (known: {known})") from None
        if isinstance(target, str):
            target = _load(target)
            self._targets[kind][name] = target
        return target


def build_registry(include_entry_points: bool = True) -> Registry:
    """The registry of every built-in and every installed third-party component."""
    registry = Registry()
    for kind, packages in BUILTIN_PACKAGES.items():
        for package in packages:
            module = importlib.import_module(package)
            for name, target in getattr(module, f"BUILTIN_{kind.upper()}S", {}).items():
                registry.register(kind, name, target, origin=f"built-in {package}")
    if include_entry_points:
        for kind in KINDS:
            for ep in entry_points(group=f"soc.{kind}"):
                registry.register(kind, ep.name, ep.value, origin=f"entry point {ep.value}")
    return registry


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, built once (start-up fails on a duplicate name)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = build_registry()
    return _DEFAULT
