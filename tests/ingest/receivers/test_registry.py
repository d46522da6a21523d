"""Every built-in receiver is registered, loads, and says honestly whether it can
acknowledge delivery (UDP cannot)."""

from __future__ import annotations

import pytest

from ingest import BUILTIN_RECEIVERS
from soc_core.registry import build_registry


@pytest.mark.parametrize("name", sorted(BUILTIN_RECEIVERS))
def test_builtin_receiver_loads_with_the_receiver_members(name: str) -> None:
    cls = build_registry(include_entry_points=False).get("receiver", name)
    for member in ("run", "stop", "acknowledges"):
        assert hasattr(cls, member), f"{name} lacks {member}"
    assert cls.acknowledges is (name != "syslog_udp")
