"""YARA: compile rule files once, scan files or bytes, and turn matches into ECS alerts.

Every rule file is first compiled on its own so that a broken file is reported with its
path and line (:class:`soc_core.errors.RuleError`) while the others still load; the good
files are then compiled together, one namespace per file. Rules from signature-base and
THOR expect the external variables ``filename``, ``filepath``, ``extension``, ``filetype``
and ``owner``: they are declared empty at compile time and set per scanned file.

An alert carries ``file.*`` (path, name, extension, size, hashes), ``rule.*`` (from the rule
name and its meta), ``yara.*`` (namespace, tags, and each matched string with its offsets)
and a deterministic ``event.id`` (rule, file hash, path), so a rescan stores nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yara

from soc_core.clock import Clock, SystemClock
from soc_core.errors import RuleError
from soc_core.event import KIND_ALERT, Event, format_timestamp

BUILTIN_DIR = Path(__file__).resolve().parent
RULE_SUFFIXES = (".yar", ".yara")
EXTERNALS: tuple[str, ...] = ("filename", "filepath", "extension", "filetype", "owner")
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
DEFAULT_TIMEOUT_SECS = 60
MAX_INSTANCES_PER_STRING = 10  # enough to locate the evidence; a string can match millions of times
_PREVIEW_BYTES = 64
_LINE = re.compile(r"\((\d+)\):\s*")
SEVERITY = {"informational": 21, "low": 21, "medium": 47, "high": 73, "critical": 99}

# filetype values that signature-base rules test, by magic bytes first, then extension.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "EXE"), (b"\x7fELF", "ELF"), (b"\xcf\xfa\xed\xfe", "MACH-O"), (b"\xce\xfa\xed\xfe", "MACH-O"),
    (b"\xca\xfe\xba\xbe", "MACH-O"), (b"{\\rtf", "RTF"), (b"%PDF", "PDF"), (b"GIF8", "GIF"), (b"MDMP", "MDMP"),
)
_BY_EXTENSION = {
    ".php": "PHP", ".jsp": "JSP", ".jspx": "JSP", ".asp": "ASP", ".aspx": "ASP", ".vbs": "VBS",
    ".bat": "BATCH", ".cmd": "BATCH", ".ps1": "PowerShell", ".psm1": "PowerShell", ".py": "Python",
}


@dataclass(frozen=True, slots=True)
class YaraRuleset:
    """Compiled rules and what loading them reported."""

    rules: Any  # yara.Rules (yara-python ships no type information)
    files: tuple[str, ...]
    errors: tuple[RuleError, ...]
    rule_count: int


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The rule files named by ``paths``: files as given, directories searched recursively."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in RULE_SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def _rule_error(path: Path, exc: Exception) -> RuleError:
    message = str(exc)
    match = _LINE.search(message)
    line = int(match.group(1)) if match else None
    if match:
        message = message[match.end():]
    return RuleError(message, str(path), line)


def compile_rules(paths: Iterable[str | Path] = (), include_builtin: bool = True) -> YaraRuleset:
    """Compile the built-in rules and those under ``paths``; broken files are reported, not fatal."""
    candidates = rule_files([BUILTIN_DIR] if include_builtin else []) + rule_files(paths)
    externals = dict.fromkeys(EXTERNALS, "")
    good: dict[str, str] = {}
    errors: list[RuleError] = []
    for path in dict.fromkeys(candidates):
        if not path.is_file():
            errors.append(RuleError("no such rule file", str(path)))
            continue
        try:
            yara.compile(filepath=str(path), externals=externals)
        except yara.Error as exc:  # the library's error, turned into ours with file and line
            errors.append(_rule_error(path, exc))
            continue
        good[f"{len(good)}:{path}"] = str(path)
    compiled = yara.compile(filepaths=good, externals=externals) if good else None
    count = sum(1 for _ in compiled) if compiled is not None else 0
    return YaraRuleset(compiled, tuple(good.values()), tuple(errors), count)


def guess_filetype(head: bytes, extension: str) -> str:
    """The ``filetype`` external: magic bytes first, then the extension, else empty."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return _BY_EXTENSION.get(extension.lower(), "")


def _owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):  # no passwd entry for the uid, or the file vanished: unknown owner
        return ""


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """The bytes to scan and what is known about where they came from."""

    data: bytes
    path: str = ""
    owner: str = ""

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def extension(self) -> str:
        return os.path.splitext(self.path)[1].lower()


@dataclass
class ScanStats:
    """What a scanner did: files scanned, skipped as too large or unreadable, timeouts, alerts."""

    scanned: int = 0
    too_large: int = 0
    unreadable: int = 0
    timeouts: int = 0
    alerts: int = 0


class YaraScanner:
    """Scans bytes or files with one compiled rule set; returns ECS alerts."""

    def __init__(
        self,
        ruleset: YaraRuleset,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        timeout_secs: int = DEFAULT_TIMEOUT_SECS,
        clock: Clock | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.max_file_bytes = max_file_bytes
        self.timeout_secs = timeout_secs
        self.clock = clock or SystemClock()
        self.stats = ScanStats()

    def scan(self, target: ScanTarget, timestamp: str | None = None) -> list[Event]:
        """Alerts for one target; ``timestamp`` defaults to the clock (scan time)."""
        if self.ruleset.rules is None:
            return []
        if len(target.data) > self.max_file_bytes:
            self.stats.too_large += 1
            return []
        externals = {
            "filename": target.name,
            "filepath": target.path,
            "extension": target.extension,
            "filetype": guess_filetype(target.data[:8], target.extension),
            "owner": target.owner,
        }
        try:
            matches = self.ruleset.rules.match(data=target.data, externals=externals, timeout=self.timeout_secs)
        except yara.TimeoutError:
            self.stats.timeouts += 1
            return []
        self.stats.scanned += 1
        when = timestamp or format_timestamp(self.clock.now())
        alerts = [yara_alert(m, target, when) for m in matches]
        self.stats.alerts += len(alerts)
        return alerts

    def scan_path(self, path: str | Path) -> list[Event]:
        """Scan one file from disk (skipped, and counted, when larger than the limit)."""
        file = Path(path)
        try:
            size = file.stat().st_size
            if size > self.max_file_bytes:
                self.stats.too_large += 1
                return []
            data = file.read_bytes()
        except OSError:
            self.stats.unreadable += 1
            return []
        return self.scan(ScanTarget(data=data, path=str(file.resolve()), owner=_owner(file)))

    def scan_paths(self, paths: Sequence[str | Path]) -> Iterator[Event]:
        """Scan files and directories (recursively, symlinks not followed), in a stable order."""
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                for root, dirs, files in os.walk(path):
                    dirs.sort()
                    for name in sorted(files):
                        file = Path(root, name)
                        if not file.is_symlink():
                            yield from self.scan_path(file)
            else:
                yield from self.scan_path(path)


def _matched_strings(match: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for string in match.strings:
        instances = string.instances[:MAX_INSTANCES_PER_STRING]
        out.append({
            "identifier": string.identifier,
            "offsets": [i.offset for i in instances],
            "length": instances[0].matched_length if instances else 0,
            "count": len(string.instances),
            "preview": instances[0].matched_data[:_PREVIEW_BYTES].decode("latin-1") if instances else "",
        })
    return out


def yara_alert(match: Any, target: ScanTarget, timestamp: str) -> Event:
    """The ECS alert for one YARA match on one target."""
    meta: dict[str, Any] = dict(match.meta)
    sha256 = hashlib.sha256(target.data).hexdigest()
    identity = hashlib.blake2b(digest_size=16)
    identity.update(f"{match.namespace}\x00{match.rule}\x00{sha256}\x00{target.path}".encode())
    namespace_file = match.namespace.split(":", 1)[-1]
    file: dict[str, Any] = {
        "size": len(target.data),
        "hash": {
            "md5": hashlib.md5(target.data, usedforsecurity=False).hexdigest(),
            "sha1": hashlib.sha1(target.data, usedforsecurity=False).hexdigest(),
            "sha256": sha256,
        },
    }
    if target.path:
        file.update(path=target.path, name=target.name)
        if target.extension:
            file["extension"] = target.extension.lstrip(".")
    if target.owner:
        file["owner"] = target.owner
    rule: dict[str, Any] = {"name": match.rule, "ruleset": os.path.basename(namespace_file), "category": "yara"}
    for key in ("description", "author", "reference", "id", "version", "license"):
        if key in meta:
            rule[key] = str(meta[key])
    if "uuid" in meta and "uuid" not in rule:
        rule["uuid"] = str(meta["uuid"])
    severity = str(meta.get("severity", "")).lower()
    event: dict[str, Any] = {
        "id": identity.hexdigest(),
        "kind": KIND_ALERT,
        "module": "yara",
        "dataset": "yara.scan",
        "category": ["malware", "file"],
        "type": ["info"],
    }
    if severity in SEVERITY:
        event["severity"] = SEVERITY[severity]
    alert: Event = {
        "@timestamp": timestamp,
        "event": event,
        "message": f"YARA rule {match.rule} matched {target.path or 'content'}",
        "file": file,
        "rule": rule,
        "yara": {
            "namespace": namespace_file,
            "tags": list(match.tags),
            "matched_strings": _matched_strings(match),
            "meta": {k: v for k, v in meta.items() if isinstance(v, (str, int, bool))},
        },
    }
    technique = meta.get("mitre_attack")
    if isinstance(technique, str) and technique:
        alert["threat"] = {"framework": "MITRE ATT&CK", "technique": {"id": [technique]}}
    return alert
