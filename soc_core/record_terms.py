"""The exact-match terms under which a mutable record can be found (``RecordRepository.find``).

Both stores index the same terms, computed here once, so a filter means the same on each:
a top-level scalar ``status: new`` gives ``status=new``; a list of scalars gives one term per
element (``tactics=credential-access``); a dict of scalars or lists (``entities``) gives one term per
value one level down (``entities.source.ip=203.0.113.7``). Deeper structures (timeline, comments,
members) are not searchable: they are read with the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Free text and bulky values do not belong in an exact-match index.
_MAX_TERM_CHARS = 256


def term(name: str, value: object) -> str:
    """The indexed form of one ``name == value`` filter."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"{name}={value}"


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= _MAX_TERM_CHARS


def record_terms(record: Mapping[str, Any]) -> set[str]:
    """Every term a record is found under."""
    found: set[str] = set()
    for name, value in record.items():
        if name == "version":
            continue
        if _scalar(value):
            found.add(term(name, value))
        elif isinstance(value, list):
            found.update(term(name, item) for item in value if _scalar(item))
        elif isinstance(value, dict):
            for sub, inner in value.items():
                items = inner if isinstance(inner, list) else [inner]
                found.update(term(f"{name}.{sub}", item) for item in items if _scalar(item))
    return found


def filter_terms(filters: Mapping[str, str]) -> list[str]:
    """The terms a record must all hold to match ``filters``."""
    return sorted({term(name, value) for name, value in filters.items()})
