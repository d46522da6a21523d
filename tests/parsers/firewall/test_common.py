"""The fast paths in ``parsers.firewall._common`` give exactly what the plain versions
give: the cached ``iso`` is ``format_timestamp``'s text, ``new_event`` is
``soc_core.event.new_event``'s skeleton, and ``apply_map`` keeps table order whether it
walks the table or only the keys present."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from parsers.firewall._common import Table, apply_map, iso, local_time, new_event, parse_kv
from parsers.kv import parse_kv as shared_parse_kv
from soc_core.event import RawEvent, format_timestamp
from soc_core.event import new_event as core_new_event
from tests.parsers.firewall._support import CLOCK_AT

_ZONES = [UTC, timezone(timedelta(hours=-2)), timezone(timedelta(hours=5, minutes=30)),
          ZoneInfo("America/New_York")]


def _stamps() -> list[datetime]:
    rng = random.Random(7)
    out = [datetime(1000, 1, 1, 2, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
           datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=_ZONES[1]),
           datetime(2020, 1, 1, 0, 0, 0, 1000, tzinfo=_ZONES[3])]
    for _ in range(400):
        micro = rng.choice([0, 1000 * rng.randrange(1000), rng.randrange(1_000_000)])
        out.append(datetime(rng.randrange(1001, 9998), rng.randrange(1, 13), rng.randrange(1, 29),
                            rng.randrange(24), rng.randrange(60), rng.randrange(60), micro,
                            tzinfo=rng.choice(_ZONES)))
    return out


def test_iso_is_format_timestamps_text() -> None:
    for dt in _stamps():
        assert iso(dt) == format_timestamp(dt), dt


def test_iso_refuses_naive_times_like_format_timestamp() -> None:
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2020, 1, 1))  # a naive time on purpose


@pytest.mark.parametrize(("offset", "peer"), [(0, None), (1234, None), (None, None),
                                              (None, "10.0.0.1"), (7, "gw.example")])
def test_new_event_is_the_core_skeleton(offset: int | None, peer: str | None) -> None:
    raw = RawEvent.from_bytes(b"date=2020-01-01 x=\xff", "/var/log/fw.log",
                              CLOCK_AT + timedelta(microseconds=1500), offset, peer=peer)
    for dataset in ("fortinet.firewall", "panw.panos"):
        ours, core = new_event(raw, dataset), core_new_event(raw, dataset)
        assert ours == core
        assert list(ours) == list(core) and list(ours["event"]) == list(core["event"])


def test_local_time_cache_keeps_each_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    a, b = local_time("2020-05-01 10:00:00", UTC), local_time("2020-05-01 10:00:00", plus2)
    assert a is not None and b is not None
    assert iso(a) == "2020-05-01T10:00:00.000Z" and iso(b) == "2020-05-01T08:00:00.000Z"
    assert local_time("2020/13/01 10:00:00", UTC) is None


_TABLE: Table = {f"k{i}": (f"x.f{i % 7}", "int" if i % 3 == 0 else "str") for i in range(40)}


def _map(fields: dict[str, str], table: Table) -> dict[str, object]:
    event: dict[str, object] = {}
    apply_map(event, fields, table)
    return event


def test_apply_map_on_few_keys_keeps_table_order() -> None:
    # Fewer fields than rows takes the "present keys only" path; the earlier row must
    # still win a shared path whatever order the record wrote its keys in.
    rng = random.Random(3)
    for _ in range(200):
        keys = rng.sample(sorted(_TABLE), rng.randrange(1, 40))
        fields = {k: rng.choice(["", "12", "x", "-3"]) for k in keys}
        expected: dict[str, object] = {}
        for key, (path, kind) in _TABLE.items():  # the plain reading of the contract
            raw = fields.get(key)
            if not raw:
                continue
            value: object = int(raw) if kind == "int" and raw.lstrip("-").isdigit() else raw
            if kind == "int" and not isinstance(value, int):
                continue
            leaf = path.split(".")[1]
            expected.setdefault("x", {})
            assert isinstance(expected["x"], dict)
            expected["x"].setdefault(leaf, value)
        assert _map(fields, _TABLE) == expected


def test_firewall_kv_is_the_shared_splitter() -> None:
    rng = random.Random(5)
    texts = ['a=1 b="x \\"y\\"" c= a=2 d="open', 'k.e-y=v  z="" w=\'q\'', "", "x=y=z a:b=c"]
    texts += ["".join(rng.choice('ab=" \\.-:\t1') for _ in range(rng.randrange(30)))
              for _ in range(3000)]
    for text in texts:
        ours = parse_kv(text)
        shared = shared_parse_kv(text, quotes='"', key_chars=r"\w\-.", keep_empty=True)
        assert ours == shared and list(ours) == list(shared), text
