"""The registry: built-ins load lazily, a duplicate name is a start-up error."""

from __future__ import annotations

import pytest

from soc_core.errors import RegistryError
from soc_core.registry import Registry, build_registry


def test_duplicate_names_stop_start_up() -> None:
    registry = Registry()
    registry.register("parser", "x.log", "parsers.base:BaseParser", origin="built-in")
    with pytest.raises(RegistryError, match=r"duplicate parser name 'x\.log'"):
        registry.register("parser", "x.log", "thirdparty:Parser", origin="entry point thirdparty")


def test_unknown_names_list_the_known_ones() -> None:
    registry = build_registry(include_entry_points=False)
    with pytest.raises(RegistryError, match=r"unknown store 'nope' \(known: .*sqlite"):
        registry.get("store", "nope")


def test_builtins_resolve_lazily() -> None:
    registry = build_registry()
    from soc_store.sqlite import SqliteStore

    assert registry.get("store", "sqlite") is SqliteStore
    assert "auto" in registry.names("parser")
