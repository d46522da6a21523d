"""The ``yara_content`` detector: YARA over file content that arrives with events.

Quarantine uploads and analytics-node firmware images reach the pipeline as events that
carry the file in one of two ways:

* ``file.content_base64``: the bytes, base64-encoded (standard alphabet, padding required);
* ``file.path``: a path that must resolve (symlinks followed) inside one of the configured
  quarantine folders; any other path is refused, so an event cannot make us read
  ``/etc/shadow``.

Content larger than ``max_bytes`` (default 16 MiB) is not scanned: its size is checked before
decoding or reading. Skips are never silent: each reason is counted in ``stats``. Alerts keep
the event's ``@timestamp``, ``host`` and ``observer``, and name it in ``yara.event_id``.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rules.yara.scanner import ScanTarget, YaraRuleset, YaraScanner, compile_rules
from soc_core.event import Event, get_field

CONTENT_FIELD = "file.content_base64"
PATH_FIELD = "file.path"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


@dataclass
class ContentStats:
    """Why events with content were or were not scanned."""

    scanned: int = 0
    too_large: int = 0
    bad_base64: int = 0
    outside_quarantine: int = 0
    unreadable: int = 0


class YaraContentDetector:
    """Scans the file content carried by events; returns one alert per matching rule."""

    name = "yara_content"

    def __init__(
        self,
        ruleset: YaraRuleset | None = None,
        *,
        quarantine_dirs: Sequence[str | Path] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout_secs: int = 60,
    ) -> None:
        self.ruleset = ruleset if ruleset is not None else compile_rules()
        self.errors = list(self.ruleset.errors)
        self.scanner = YaraScanner(self.ruleset, max_file_bytes=max_bytes, timeout_secs=timeout_secs)
        self.max_bytes = max_bytes
        self.quarantine_dirs = tuple(Path(os.path.realpath(d)) for d in quarantine_dirs)
        self.stats = ContentStats()

    def detect(self, event: Event) -> list[Event]:
        target = self._target(event)
        if target is None:
            return []
        self.stats.scanned += 1
        timestamp = event.get("@timestamp")
        alerts = self.scanner.scan(target, timestamp if isinstance(timestamp, str) else None)
        for alert in alerts:
            alert["yara"]["event_id"] = get_field(event, "event.id")
            for key in ("host", "observer"):
                if key in event:
                    alert[key] = event[key]
        return alerts

    def flush(self, now: datetime) -> list[Event]:
        return []  # nothing here waits for time

    def _target(self, event: Event) -> ScanTarget | None:
        encoded = get_field(event, CONTENT_FIELD)
        path = get_field(event, PATH_FIELD)
        owner = get_field(event, "file.owner")
        owner_text = owner if isinstance(owner, str) else ""
        if isinstance(encoded, str):
            text = "".join(encoded.split())
            # Decoded size is known before decoding: refuse big content without allocating it.
            if len(text) // 4 * 3 > self.max_bytes + 2:
                self.stats.too_large += 1
                return None
            if len(text) % 4 or not _BASE64.fullmatch(text):
                self.stats.bad_base64 += 1
                return None
            data = base64.b64decode(text)
            if len(data) > self.max_bytes:
                self.stats.too_large += 1
                return None
            name = path if isinstance(path, str) else str(get_field(event, "file.name") or "")
            return ScanTarget(data=data, path=name, owner=owner_text)
        if isinstance(path, str) and path:
            return self._quarantined(path, owner_text)
        return None

    def _quarantined(self, path: str, owner: str) -> ScanTarget | None:
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(root) for root in self.quarantine_dirs):
            self.stats.outside_quarantine += 1
            return None
        try:
            if not real.is_file():
                self.stats.unreadable += 1
                return None
            if real.stat().st_size > self.max_bytes:
                self.stats.too_large += 1
                return None
            data = real.read_bytes()
        except OSError:  # vanished or unreadable between the check and the read
            self.stats.unreadable += 1
            return None
        return ScanTarget(data=data, path=str(real), owner=owner)
