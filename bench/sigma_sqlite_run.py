"""The SQLite approach to Sigma as a user runs it (Zircolite's way), end to end, one process.

Not part of the project: the anchor ``bench/commands_bench.py`` times ``soc detect``
against. It reads EVTX files with the ``evtx`` package (the Rust parser Zircolite uses
through ``evtx_dump``), flattens every record into one row of named columns the way
Zircolite does (each leaf under its own name; XML attributes as ``<element>_<attribute>``,
an element's text under the element's name, a list of unnamed items one per line), loads
the rows into an in-memory SQLite table whose columns are all ``TEXT COLLATE NOCASE``, registers ``REGEXP``, runs every
converted query, and prints one JSON line per hit (rule title, record number, file).

The rules come already converted (pySigma's SQLite backend with the Sysmon and
Windows-logsource pipelines, written by ``commands_bench.py``), as Zircolite ships its
rule sets already converted.

    python bench/sigma_sqlite_run.py RULES.json EVTX_DIR_OR_FILE...
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import evtx

_MISSING_COLUMN = re.compile(r"no such column: (.+)$")


def evtx_files(paths: list[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path, followlinks=True):
                dirs.sort()
                yield from (os.path.join(root, f) for f in sorted(files) if f.lower().endswith(".evtx"))
        else:
            yield path


def flatten(node: Any, name: str, row: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "#attributes" and isinstance(value, dict):
                for attr, attr_value in value.items():
                    row[f"{name}_{attr}"] = attr_value
            elif key == "#text":
                flatten(value, name, row)
            else:
                flatten(value, key, row)
    elif isinstance(node, list):
        row[name] = "\n".join(str(v) for v in node if v is not None)
    else:
        row[name] = node


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: str, value: Any) -> int:
    return 0 if value is None else int(_regex(pattern).search(str(value)) is not None)


def main(argv: list[str]) -> int:
    rules_file, inputs = argv[0], argv[1:]
    with open(rules_file, encoding="utf-8") as stream:
        rules: list[dict[str, Any]] = json.load(stream)
    rows: list[dict[str, Any]] = []
    where: list[tuple[str, int]] = []
    for path in evtx_files(inputs):
        for record in evtx.PyEvtxParser(path).records_json():
            row: dict[str, Any] = {}
            flatten(json.loads(record["data"]).get("Event", {}), "Event", row)
            rows.append(row)
            where.append((path, record["event_record_id"]))
    columns: dict[str, str] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key.lower(), key)
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    db.execute("CREATE TABLE logs ({})".format(", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in columns.values())))
    names = list(columns.values())
    db.executemany(
        "INSERT INTO logs (rowid, {}) VALUES (?, {})".format(
            ", ".join(f'"{n}"' for n in names), ", ".join("?" * len(names))),
        ([i + 1, *(None if (v := row.get(n)) is None else str(v) for n in names)] for i, row in enumerate(rows)),
    )
    out = sys.stdout
    hits = 0
    for rule in rules:
        for query in rule["queries"]:
            sql = query.replace("SELECT * FROM", "SELECT rowid FROM", 1)
            for _ in range(64):  # a column no record has: add it (NULL everywhere), as Zircolite does
                try:
                    found = [r[0] for r in db.execute(sql)]
                    break
                except sqlite3.OperationalError as exc:
                    missing = _MISSING_COLUMN.search(str(exc))
                    if not missing:
                        raise
                    db.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1).strip(chr(96) + chr(34))}" '
                               "TEXT COLLATE NOCASE")
            else:
                found = []
            for rowid in found:
                path, number = where[rowid - 1]
                hits += 1
                out.write(json.dumps({"rule": rule["title"], "file": path, "record": number}) + "\n")
    out.flush()
    print(f"events={len(rows)} rules={len(rules)} hits={hits}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
