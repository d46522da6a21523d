"""Property: the SQL the embedded store runs returns exactly what the reference evaluator
returns, over generated events (mixed types, lists, missing fields) and generated queries."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soc_core.event import Event
from soc_core.query import matches
from soc_core.query.ast import And, Cidr, Exists, MatchAll, Node, Not, Or, Range, Term, Text, Wildcard
from soc_store.sqlite import SqliteStore

FIELDS = ["a", "b.c", "source.ip", "user.name", "tags", "n"]
WORDS = ["alpha", "beta", "gamma", "Delta", "ẹp", "x1"]
STRINGS = ["alpha", "Alpha", "beta", "a*b", "10.0.0.1", "10.0.1.7", "192.168.5.5", "true", "5", "", "x?y"]
_ids = itertools.count()

scalars = st.one_of(
    st.sampled_from(STRINGS),
    st.integers(min_value=-3, max_value=12),
    st.sampled_from([0.5, 5.0, -1.25]),
    st.booleans(),
)
values = st.one_of(
    scalars,
    st.none(),
    st.lists(st.one_of(scalars, st.none()), max_size=3),
    st.just({}),
    st.fixed_dictionaries({"k": scalars}),
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    event: Event = {
        "@timestamp": f"2026-01-01T00:00:{draw(st.integers(0, 59)):02d}Z",
        "event": {"id": f"e{next(_ids)}", "kind": "event"},
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=5)):
        value = draw(values)
        if name == "b.c":
            event["b"] = {"c": value}
        elif name == "source.ip":
            event["source"] = {"ip": value}
        elif name == "user.name":
            event["user"] = {"name": value}
        else:
            event[name] = value
    if draw(st.booleans()):
        event["message"] = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)))
    return event


literals = st.one_of(st.sampled_from(STRINGS), st.integers(-3, 12).map(str), st.just("5.0"), st.just("false"))
bounds = st.one_of(st.none(), st.integers(-3, 12).map(str), st.sampled_from(["alpha", "b", "10.0.0.5"]))
leaves = st.one_of(
    st.just(MatchAll()),
    st.builds(Term, st.sampled_from(FIELDS), literals),
    st.builds(Wildcard, st.sampled_from(FIELDS), st.sampled_from(["al*", "*a", "?lpha", "a\\*b", "10.0.*", "*"])),
    st.builds(Range, st.sampled_from(FIELDS), bounds, bounds, st.booleans(), st.booleans()),
    st.builds(Cidr, st.sampled_from(FIELDS), st.sampled_from(["10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16"])),
    st.builds(Exists, st.sampled_from([*FIELDS, "b", "nope"])),
    st.builds(Text, st.sampled_from(["alpha", "beta gamma", "delta", "ep", "x1 alpha", "gam", "..."]),
              st.booleans(), st.booleans()),
)
queries: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: Or(tuple(xs))),
        inner.map(Not),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(events(), min_size=1, max_size=12), query=queries)
def test_sql_equals_reference(tmp_path: Path, docs: list[Event], query: Node) -> None:
    store = SqliteStore(":memory:")
    try:
        assert store.write(docs).written == len(docs)
        got = {e["event"]["id"] for e in store.search("events", query, limit=1000).events}
        want = {d["event"]["id"] for d in docs if matches(query, d)}
        assert got == want, query
    finally:
        store.close()
