"""The compiled rule-set cache: a second ``soc detect`` skips loading and compiling.

Loading 2,400 SigmaHQ rules with pySigma and analysing them for the matcher takes
seconds; linking an analysed rule set into closures takes a fraction of one. The cache
keeps what the slow part produces: each rule's metadata (title, id, level, tags,
logsource... everything an alert or a correlation reads) and the engine's analysis
(:class:`~rules.sigma.engine.EngineCode`, plain data), in one file per rule set.

The key is a BLAKE2b digest of every rule file's path and bytes, the placeholder values,
the source of the engine's modules (so any change of the engine invalidates every
entry), and the Python and pySigma versions. A file is trusted only when it is ours (owned by this
user, not writable by others, in a folder only we can write), starts with the magic and
the key we expect, and its payload matches the digest stored beside it; otherwise it is
rebuilt. Writing goes to a temporary file renamed over the old one, so a crash or a
concurrent run never leaves half a file behind.

A restored rule is a :class:`CachedRule`: a ``SigmaRule`` whose ``detection`` (which
only compiling needs) is re-read from its file on first access. Rule sets with
correlation rules are not cached (their resolution needs the full rules); they load as
before.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sigma.rule import SigmaDetections, SigmaRule

from rules.sigma.compiler import VariantCode
from rules.sigma.engine import EngineCode, SigmaEngine, StoredVariant
from rules.sigma.loader import RuleSet, iter_rule_files, load_rules
from rules.sigma.route import Route
from soc_core.errors import RuleError

MAGIC = b"SOC-SIGMA-CACHE\x01"
_DIGEST = 32
_PACKAGE_DIR = Path(__file__).resolve().parent

ErrorTuple = tuple[str, str | None, int | None]


def default_cache_dir() -> Path:
    """``$SOC_CACHE_DIR``, else ``$XDG_CACHE_HOME/soc-pipeline``, else ``~/.cache/soc-pipeline``."""
    explicit = os.environ.get("SOC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "soc-pipeline"


# The modules whose code decides what a cached entry holds (loading, analysis, routing,
# field names, the entry's own format): any change to one of them is a new engine version.
ENGINE_MODULES = ("cache.py", "compiler.py", "engine.py", "fieldmap.py", "loader.py", "logsource.py", "route.py")


def engine_fingerprint() -> bytes:
    """The engine version: the bytes of :data:`ENGINE_MODULES` plus the library versions."""
    h = hashlib.blake2b(digest_size=_DIGEST)
    for name in ENGINE_MODULES:
        h.update(name.encode() + b"\x00" + (_PACKAGE_DIR / name).read_bytes() + b"\x00")
    h.update(sys.version.encode())
    h.update(metadata.version("pysigma").encode())
    return h.digest()


def cache_key(paths: Sequence[str], placeholders: Mapping[str, list[str]] | None) -> str:
    """Digest of the rule files (paths and bytes), the placeholders and the engine version.

    Raises :class:`RuleError` for a path that does not exist, as loading would.
    """
    h = hashlib.blake2b(engine_fingerprint(), digest_size=_DIGEST)
    for path in iter_rule_files(paths):
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError:
            data = b"\xff<unreadable>"  # the loader reports it; the key must still differ
        h.update(len(path).to_bytes(4, "big") + path.encode("utf-8", "surrogateescape"))
        h.update(len(data).to_bytes(8, "big") + data)
    for name in sorted(placeholders or {}):
        h.update(b"\x01" + name.encode() + b"\x00" + "\x00".join((placeholders or {})[name]).encode())
    return h.hexdigest()


class CachedRule(SigmaRule):
    """A rule restored from the cache: its metadata unpacked on first use (most rules of
    a set never fire), its detection (which only compiling needs) read back on demand."""

    def __getattribute__(self, name: str) -> Any:
        # Dunder look-ups (pickling, ``__dict__``, ``__class__``) must not unpack.
        if not name.startswith("__"):
            state = object.__getattribute__(self, "__dict__")
            if "_packed" in state:
                state.update(pickle.loads(state.pop("_packed")))  # noqa: S301 - from our checked file
        return object.__getattribute__(self, name)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        state = object.__getattribute__(self, "__dict__")
        packed = state.get("_packed")
        if packed is None:
            unpacked = {k: v for k, v in state.items() if k != "_detection"}
            packed = pickle.dumps(unpacked, protocol=pickle.HIGHEST_PROTOCOL)
        return (_cached_rule, (packed,))

    @property
    def detection(self) -> SigmaDetections:
        found: SigmaDetections | None = self.__dict__.get("_detection")
        if found is None:
            found = self.__dict__["_detection"] = _reload_detection(self)
        return found

    @detection.setter
    def detection(self, value: SigmaDetections) -> None:
        self.__dict__["_detection"] = value


Origin = tuple[str, int, tuple[str, ...], "dict[str, list[str]] | None"]


def _cached_rule(packed: bytes) -> CachedRule:
    """Unpickling a :class:`CachedRule`: its state stays packed until first used."""
    rule: CachedRule = CachedRule.__new__(CachedRule)
    object.__getattribute__(rule, "__dict__")["_packed"] = packed
    return rule


def _reload_detection(rule: CachedRule) -> SigmaDetections:
    """Load the rule's file again (with the filters and placeholders of its set)."""
    origin: Origin = getattr(rule, "_origin")  # noqa: B009 - set by _shell, not a declared field
    path, position, filter_files, placeholders = origin
    fresh = load_rules([path, *filter_files], placeholders)
    mine = [r for r in fresh.rules if fresh.source_of(r) == path]
    if position >= len(mine) or mine[position].title != rule.title:
        raise RuleError("rule file changed since the rule set was loaded", path=path, line=1)
    return mine[position].detection


def _shell(rule: SigmaRule, origin: Origin) -> CachedRule:
    # Without the detection (rebuilt on demand) and pySigma's source location (a Path per
    # rule, slow to unpickle; our own ``RuleSet.sources`` keeps the file).
    state = {k: v for k, v in rule.__dict__.items() if k not in ("detection", "_detection", "source")}
    state["source"] = None
    state["_origin"] = origin
    return _cached_rule(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass(frozen=True)
class PickledVariant:
    """An analysed variant kept serialised until a plan needs it (most never are)."""

    route: Route
    blob: bytes

    def resolve(self) -> VariantCode:
        tree, atoms = pickle.loads(self.blob)  # noqa: S301 - from our checked file
        return VariantCode(self.route, tree, atoms)


@dataclass
class _Entry:
    """What one cache file holds (pickled)."""

    rules: list[CachedRule]
    sources: list[str]
    loader_errors: list[ErrorTuple]
    code: EngineCode
    engine_errors: list[ErrorTuple]


def _stored_code(code: EngineCode) -> EngineCode:
    """``code`` with each variant pickled on its own, routes shared by name."""
    routes: dict[str, Route] = {}
    variants: list[tuple[int, StoredVariant]] = []
    for index, stored in code.variants:
        variant = stored.resolve()
        route = routes.setdefault(variant.route.name, variant.route)
        blob = pickle.dumps((variant.tree, variant.atoms), protocol=pickle.HIGHEST_PROTOCOL)
        variants.append((index, PickledVariant(route, blob)))
    return EngineCode(variants, list(code.unrouted), [])


def _errors_out(errors: Sequence[RuleError]) -> list[ErrorTuple]:
    return [(e.reason, e.path, e.line) for e in errors]


def _errors_in(errors: Sequence[ErrorTuple]) -> list[RuleError]:
    return [RuleError(reason, path=path, line=line) for reason, path, line in errors]


def _trusted(path: Path) -> bool:
    """Ours and not writable by anyone else (a pickle must come from us only)."""
    try:
        folder, info = path.parent.stat(), path.stat()
    except OSError:
        return False
    uid = os.getuid()
    loose = stat.S_IWGRP | stat.S_IWOTH
    return info.st_uid == uid and folder.st_uid == uid and not (info.st_mode | folder.st_mode) & loose


def _read(path: Path, key: str) -> _Entry | None:
    """The entry stored at ``path`` for ``key``, or ``None`` (absent, stale, corrupt)."""
    if not _trusted(path):
        return None
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    head = MAGIC + key.encode()
    if not blob.startswith(head) or len(blob) < len(head) + _DIGEST:
        return None
    digest, payload = blob[len(head): len(head) + _DIGEST], blob[len(head) + _DIGEST:]
    if hashlib.blake2b(payload, digest_size=_DIGEST).digest() != digest:
        return None
    try:
        entry = pickle.loads(payload)  # noqa: S301 - digest-checked file of our own
    except Exception:
        return None
    return entry if isinstance(entry, _Entry) else None


def _write(path: Path, key: str, entry: _Entry) -> None:
    payload = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.blake2b(payload, digest_size=_DIGEST).digest()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".cache")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(MAGIC + key.encode() + digest)
            stream.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _prune(path.parent, keep=path)


KEEP_ENTRIES = 8


def _prune(folder: Path, keep: Path) -> None:
    """Keep the :data:`KEEP_ENTRIES` most recently written rule sets (each edit of a rule
    or of the engine makes a new one; the old ones would pile up)."""
    def written(entry: Path) -> int:
        try:
            return entry.stat().st_mtime_ns
        except OSError:  # removed meanwhile by a concurrent run
            return 0

    entries = sorted(folder.glob("*.rules"), key=written, reverse=True)
    for old in entries[KEEP_ENTRIES:]:
        if old != keep:
            old.unlink(missing_ok=True)


@dataclass
class CacheOutcome:
    """How :func:`load_engine` got its engine: ``hit``, ``miss`` (built and stored),
    ``rebuilt`` (an unusable file replaced), ``skipped`` (not cacheable) or ``off``."""

    status: str
    path: Path | None = None
    detail: str = ""


def load_engine(
    paths: Sequence[str],
    placeholders: Mapping[str, list[str]] | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> tuple[SigmaEngine, CacheOutcome]:
    """The engine for the rules under ``paths``, from the cache when it holds them.

    The result is the same as ``SigmaEngine(load_rules(paths, placeholders))``: same
    rules in the same order, same errors, same matches.
    """
    if not use_cache:
        return SigmaEngine(load_rules(paths, placeholders)), CacheOutcome("off")
    # Loading creates hundreds of thousands of long-lived objects: the cyclic collector
    # would walk them all again and again (a third of the time); nothing here is garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_engine(paths, placeholders, cache_dir)
    finally:
        if collecting:
            gc.enable()


def _load_engine(paths: Sequence[str], placeholders: Mapping[str, list[str]] | None,
                 cache_dir: Path | None) -> tuple[SigmaEngine, CacheOutcome]:
    key = cache_key(paths, placeholders)
    path = (cache_dir or default_cache_dir()) / f"{key}.rules"
    existed = path.exists()
    entry = _read(path, key) if existed else None
    if entry is not None:
        ruleset = RuleSet(rules=list(entry.rules), errors=_errors_in(entry.loader_errors))
        ruleset.sources = {id(r): s for r, s in zip(ruleset.rules, entry.sources, strict=True)}
        ruleset.errors.extend(_errors_in(entry.engine_errors))
        code = EngineCode(entry.code.variants, entry.code.unrouted, _errors_in(entry.engine_errors))
        return SigmaEngine(ruleset, code), CacheOutcome("hit", path)
    ruleset = load_rules(paths, placeholders)
    loader_errors = _errors_out(ruleset.errors)
    engine = SigmaEngine(ruleset)
    if ruleset.correlations:
        return engine, CacheOutcome("skipped", path, "correlation rules are not cached")
    filter_files = tuple(sorted({s for f in ruleset.filters if (s := ruleset.sources.get(id(f)))}))
    frozen = dict(placeholders) if placeholders is not None else None
    shells: list[CachedRule] = []
    sources: list[str] = []
    seen: dict[str, int] = {}
    for rule in ruleset.rules:
        source = ruleset.source_of(rule) or ""
        position = seen.get(source, 0)
        seen[source] = position + 1
        shells.append(_shell(rule, (source, position, filter_files, frozen)))
        sources.append(source)
    entry = _Entry(shells, sources, loader_errors, _stored_code(engine.code), _errors_out(engine.code.errors))
    try:
        _write(path, key, entry)
    except (OSError, pickle.PicklingError) as exc:
        return engine, CacheOutcome("skipped", path, f"cache not written: {exc}")
    return engine, CacheOutcome("rebuilt" if existed else "miss", path)


def describe(outcome: CacheOutcome) -> str:
    """One line for ``--stats``."""
    where = f" ({outcome.path})" if outcome.path else ""
    return f"rule cache: {outcome.status}{where}{': ' + outcome.detail if outcome.detail else ''}"


__all__ = ["CacheOutcome", "CachedRule", "cache_key", "default_cache_dir", "describe", "load_engine"]

