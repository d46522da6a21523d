"""The CorrelationState contract: every implementation (in memory now, Redis later) runs
these tests through the ``state`` fixture, with the in-memory one as reference semantics."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from correlation.state import CorrelationState, MemoryState, WindowEntry

IMPLEMENTATIONS: dict[str, Callable[[], CorrelationState]] = {"memory": MemoryState}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def state(request: pytest.FixtureRequest) -> CorrelationState:
    return IMPLEMENTATIONS[request.param]()


def entry(ts: int, seq: int, rule: str = "r", value: object = None) -> WindowEntry:
    return WindowEntry(ts, rule, (f"e{seq}",), value, seq)


def test_is_a_correlation_state(state: CorrelationState) -> None:
    assert isinstance(state, CorrelationState)


def test_entries_come_back_in_time_then_arrival_order(state: CorrelationState) -> None:
    for e in (entry(50, 1), entry(10, 2), entry(50, 3), entry(30, 4, value=["a", 1])):
        state.append("k", e)
    assert [(e.timestamp_us, e.seq) for e in state.load("k")] == [(10, 2), (30, 4), (50, 1), (50, 3)]
    assert state.load("k")[1] == entry(30, 4, value=["a", 1])
    assert state.load("other") == []


def test_keys_replace_and_count(state: CorrelationState) -> None:
    state.append("a\x1f[1]", entry(1, 1))
    state.append("a\x1f[1]", entry(2, 2))
    state.append("b\x1f[null]", entry(3, 3))
    assert sorted(state.window_keys()) == ["a\x1f[1]", "b\x1f[null]"]
    assert state.entry_count() == 3
    state.replace("a\x1f[1]", [entry(2, 2)])
    assert state.load("a\x1f[1]") == [entry(2, 2)]
    state.replace("b\x1f[null]", [])
    assert state.window_keys() == ["a\x1f[1]"]
    assert state.entry_count() == 1


def test_load_returns_a_copy(state: CorrelationState) -> None:
    state.append("k", entry(1, 1))
    state.load("k").clear()
    assert state.entry_count() == 1
