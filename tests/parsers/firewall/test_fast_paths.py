"""The parsers' fast paths give exactly what the plain versions give: the inline
key=value splitter reads as the shared one, the cached ``local_time`` keeps each zone,
``apply_map`` keeps table order whether it walks the table or only the keys present,
SonicWall's stamp reader agrees with ``strptime`` and its IPv6 pre-check with
``ipaddress``, and PAN-OS's comma split with the ``csv`` module."""

from __future__ import annotations

import csv
import ipaddress
import random
import re
from datetime import UTC, datetime, timedelta, timezone

from parsers.firewall import fortinet, panos, sonicwall
from parsers.firewall._common import Table, apply_map, iso, local_time, parse_kv, strip_pri
from parsers.kv import parse_kv as shared_parse_kv


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


def test_fortinet_keeps_its_vendor_fields_by_not_dropping_them() -> None:
    assert not fortinet._KEEP & fortinet._DROP


def _strptime(text: str) -> datetime | None:
    for fmt in sonicwall._TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def test_sonicwall_stamps_read_as_strptime_reads_them() -> None:
    rng = random.Random(11)
    fields = ["01", "1", "12", "13", "00", "31", "29", "24", "59", "60", " 3", "+1", "\u0663"]
    for _ in range(20000):
        sep = rng.choice("/-. ")
        text = (f"{rng.choice(['2007', '0000', '20a7', '9999'])}{sep}{rng.choice(fields)}"
                f"{rng.choice([sep, '/'])}{rng.choice(fields)}{rng.choice([' ', 'T'])}"
                f"{rng.choice(fields)}:{rng.choice(fields)}:{rng.choice(fields)}"
                f"{rng.choice(['', '', ' ', 'Z'])}")
        assert sonicwall._time(text, UTC) == _strptime(text), text


def test_sonicwall_ipv6_precheck_never_skips_an_address() -> None:
    rng = random.Random(12)
    samples = ["::1", "::ffff:1.2.3.4", "fe80::1%eth0", "fe80::1%a.b:c", "1.1.1.1:50:WAN", "::"]
    samples += ["".join(rng.choice("0123456789abcdef:.%") for _ in range(rng.randrange(1, 24)))
                for _ in range(50000)]
    for text in samples:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            continue
        assert ":" not in text or sonicwall._may_be_ipv6(text), text


def test_panos_comma_split_is_what_csv_reads() -> None:
    rng = random.Random(13)
    for _ in range(5000):
        text = "".join(rng.choice('ab,, 1"') for _ in range(rng.randrange(1, 30)))
        if panos._CSV_SPECIAL.intersection(text):
            continue
        assert text.split(",") == next(csv.reader([text]))


def test_strip_pri_reads_as_the_pri_regex() -> None:
    pri = re.compile(r"<(\d{1,3})>")
    rng = random.Random(14)
    for _ in range(20000):
        text = "".join(rng.choice("<>0123456789a \u0663\u00b2") for _ in range(rng.randrange(9)))
        m = pri.match(text)
        expected = (int(m.group(1)), text[m.end():]) if m else (None, text)
        assert strip_pri(text) == expected, text


def test_ascii_kv_pattern_reads_as_the_unicode_one() -> None:
    # On ASCII text \w is exactly [A-Za-z0-9_]; the separators 0x1c-0x1f are Unicode
    # whitespace to both patterns (no re.ASCII flag), so they must split alike too.
    from parsers.firewall._common import KV_PAIR_ASCII, KV_PAIR_PLAIN

    rng = random.Random(15)
    alphabet = 'aZ09_=" .-:\t\x0b\x1c\x1f\n/,@'
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        assert KV_PAIR_ASCII.findall(text) == KV_PAIR_PLAIN.findall(text), text


def test_fortinet_compiled_tables_apply_as_apply_map() -> None:
    # One walk over a type table joined with COMMON gives what apply_map gives for the
    # two in turn, key order included (the document's key order follows the tables).
    import json

    rng = random.Random(16)
    keys = sorted(set(fortinet.TRAFFIC) | set(fortinet.EVENT) | set(fortinet.UTM)
                  | set(fortinet.COMMON))
    for _ in range(3000):
        fields = {k: rng.choice(["", "12", "x", "-3", "A.b", "1.2.3.4"])
                  for k in rng.sample(keys, rng.randrange(1, len(keys)))}
        for table in (fortinet.TRAFFIC, fortinet.EVENT, fortinet.UTM):
            expected: dict[str, object] = {"event": {"kind": "event"}}
            apply_map(expected, fields, table)
            apply_map(expected, fields, fortinet.COMMON)
            ours: dict[str, object] = {"event": {"kind": "event"}}
            fortinet._apply(ours, fields, fortinet._Compiled(table, fortinet.COMMON))
            assert json.dumps(ours) == json.dumps(expected), fields


def test_fortinet_event_start_reads_as_fromtimestamp() -> None:
    rng = random.Random(17)
    samples = [rng.randrange(0, fortinet._EXACT_MS_SECONDS * 1000) for _ in range(20000)]
    for ms in [*samples, 0, 999, fortinet._EXACT_MS_SECONDS * 1000 - 1]:
        whole, rest = divmod(ms, 1000)
        expected = iso(datetime.fromtimestamp(ms / 1000, UTC))
        assert f"{fortinet._epoch_second(whole)}{rest:03d}Z" == expected, ms


def test_panos_column_layout_maps_as_the_plain_walk() -> None:
    import json

    rng = random.Random(18)
    for log_type, table in panos._TABLES.items():
        layout = panos._COMPILED[log_type]
        for _ in range(300):
            cols = [rng.choice(["", "", "7", "x", "-1", "0x1"]) for _ in range(rng.randrange(70))]
            expected: dict[str, object] = {}
            for index, paths, kind in table:  # the plain reading: later columns overwrite
                if index >= len(cols) or not cols[index]:
                    continue
                value: object = cols[index]
                if kind == "int":
                    value = int(cols[index]) if cols[index].lstrip("-").isdigit() else None
                    if value is None:
                        continue
                for path in paths:
                    *parents, leaf = path.split(".")
                    cur = expected
                    for part in parents:
                        cur = cur.setdefault(part, {})  # type: ignore[assignment]
                    cur[leaf] = value
            ours: dict[str, object] = {}
            panos._map_columns(ours, cols, layout)
            assert json.dumps(ours) == json.dumps(expected), (log_type, cols)


def test_panos_quoted_split_is_what_csv_reads() -> None:
    rng = random.Random(19)
    taken = 0
    for _ in range(60000):
        text = "".join(rng.choice('ab,,,"" 1') for _ in range(rng.randrange(1, 25)))
        ours = panos._split_quoted(text) if '"' in text else None
        if ours is not None:  # None sends the line to the csv module itself
            taken += 1
            assert ours == next(csv.reader([text])), text
    assert taken > 1000
