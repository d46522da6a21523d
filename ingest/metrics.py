"""Counters and gauges of the running service, rendered in the Prometheus text format.

Receivers count what they received, queued and dropped; the worker counts what each
stage parsed, failed and stored; gauges (queue depth, lag) are read when rendered.
One :class:`Metrics` object per service: no module-level state, so tests stay isolated.
:func:`parse_text` reads the format back (``soc status`` and the tests use it).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Labels = tuple[tuple[str, str], ...]
Kind = Literal["counter", "gauge"]

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _labels(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class Family:
    """One metric name: its kind, help text and a value per label set."""

    name: str
    kind: Kind
    help: str
    values: dict[Labels, float] = field(default_factory=dict)
    reader: Callable[[], Mapping[Labels, float]] | None = None


class Metrics:
    """A set of metric families; ``inc``/``set`` are safe from any thread."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}
        self._lock = threading.Lock()

    def declare(self, name: str, kind: Kind, help_text: str,
                reader: Callable[[], Mapping[Labels, float]] | None = None) -> None:
        """Declare a family once; ``reader`` computes its values at render time."""
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        with self._lock:
            if name not in self._families:
                self._families[name] = Family(name, kind, help_text, reader=reader)

    def inc(self, name: str, by: float = 1, **labels: str) -> None:
        key = _labels(labels)
        with self._lock:
            values = self._families[name].values
            values[key] = values.get(key, 0) + by

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._families[name].values[_labels(labels)] = value

    def value(self, name: str, **labels: str) -> float:
        """One current value (0 when never set)."""
        return self.snapshot().get(name, {}).get(_labels(labels), 0.0)

    def snapshot(self) -> dict[str, dict[Labels, float]]:
        """Every family's values, gauges read now."""
        with self._lock:
            families = list(self._families.values())
            out = {f.name: dict(f.values) for f in families}
        for family in families:
            if family.reader is not None:
                out[family.name].update(family.reader())
        return out

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        snap = self.snapshot()
        lines: list[str] = []
        for name in sorted(snap):
            family = self._families[name]
            lines.append(f"# HELP {name} {family.help}")
            lines.append(f"# TYPE {name} {family.kind}")
            for labels, value in sorted(snap[name].items()):
                label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                shown = "NaN" if math.isnan(value) else repr(float(value)) if value % 1 else str(int(value))
                lines.append(f"{name}{{{label_text}}} {shown}" if label_text else f"{name} {shown}")
        return "\n".join(lines) + "\n"


def parse_text(text: str) -> dict[str, dict[Labels, float]]:
    """Read Prometheus text back into ``{name: {labels: value}}`` (comments skipped)."""
    out: dict[str, dict[Labels, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a Prometheus sample: {line!r}")
        name, label_text, value = m.groups()
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in _LABEL.findall(label_text or "")}
        out.setdefault(name, {})[_labels(labels)] = float(value)
    return out
