"""The one event model: nested Elastic Common Schema documents.

An event is a plain nested ``dict`` (ECS field sets as nested objects), because the hot
path must stay cheap. Invariants every stage may rely on:

* ``@timestamp`` is an ISO-8601 string in UTC ending in ``Z``;
* ``event.kind`` is ``event``, ``alert`` or ``pipeline_error``;
* ``event.id`` is deterministic: derived from the source and the original bytes and offset,
  so a re-sent or re-read event is stored once;
* ``event.original`` keeps the input text; events read from files carry ``log.file.path``
  and ``log.offset`` (byte offset of the event's first line); when the input bytes were
  not UTF-8, ``event.original_base64`` keeps them exactly (parsed events and dead letters);
* an input cut at a size limit (``RawEvent.extra["truncated_from"]``, its real length) says
  so: ``log.flags`` holds ``truncated`` (Filebeat's marker for lines over ``max_bytes``)
  and ``log.original_length`` the length in bytes before the cut;
* stores write what :func:`store_document` gives: integers beyond the signed 64-bit
  range, NaN and infinities become their text, over-long or empty keys are rewritten,
  and ``soc.sanitized`` lists the paths that were changed (both stores alike).

``RawEvent`` is what a receiver hands to the pipeline before any parser has run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import orjson

Event = dict[str, Any]

KIND_EVENT: Final = "event"
KIND_ALERT: Final = "alert"
KIND_PIPELINE_ERROR: Final = "pipeline_error"
KINDS: Final = (KIND_EVENT, KIND_ALERT, KIND_PIPELINE_ERROR)
# The default ``RawEvent.extra``: one shared read-only mapping, not a new dict per event.
NO_EXTRA: Final[Mapping[str, Any]] = MappingProxyType({})


@dataclass(slots=True)
class RawEvent:
    """One input event before parsing.

    ``data`` holds the exact bytes received; ``message`` their text (UTF-8, undecodable
    bytes replaced: the bytes themselves stay in ``data`` and reach the dead letters).
    ``source`` names where it came from (a file path or ``syslog+tcp://host``) and
    ``offset`` is the byte offset of its first line in a file, else ``None``.
    """

    data: bytes
    source: str
    received: datetime
    offset: int | None = None
    peer: str | None = None
    receiver: str | None = None
    decode_error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: NO_EXTRA)
    # Decoded once, on first use: parsers read ``message`` several times per event.
    # (Not frozen, for speed on the hot path: treat a RawEvent as immutable.)
    _text: str | None = field(default=None, repr=False, compare=False)

    @property
    def message(self) -> str:
        if self._text is None:
            self._text = self.data.decode("utf-8", errors="replace")
        return self._text

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        source: str,
        received: datetime,
        offset: int | None = None,
        **kw: Any,
    ) -> RawEvent:
        """Build a raw event, noting (not raising) when the bytes are not UTF-8."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return cls(data, source, received, offset, decode_error=f"invalid UTF-8 at byte {exc.start}: {exc.reason}",
                       **kw)
        if kw:
            return cls(data, source, received, offset, _text=text, **kw)
        # Positional, no keywords: the common case of a plain file or receiver line.
        return cls(data, source, received, offset, None, None, None, NO_EXTRA, text)

    @property
    def event_id(self) -> str:
        return compute_event_id(self.source, self.offset, self.data)


@lru_cache(maxsize=1024)
def _source_key(source: str) -> bytes:
    # A handful of sources (files, receivers) name millions of events: encode each once.
    return source.encode("utf-8", "surrogatepass") + b"\x00"


def compute_event_id(source: str, offset: int | None, original: bytes) -> str:
    """A stable id: the same source, offset and bytes always give the same id.

    BLAKE2b-128 of ``source NUL offset NUL bytes`` (offset ``-`` when there is none),
    hashed in one call: the id of an event never changes between versions."""
    position = b"-\x00" if offset is None else b"%d\x00" % offset
    return hashlib.blake2b(_source_key(source) + position + original, digest_size=16).hexdigest()


@lru_cache(maxsize=4096)
def format_timestamp(dt: datetime) -> str:
    """Render an aware datetime as ECS ``@timestamp`` text in UTC (``...Z``).

    Cached: a file's events share one receipt time and logs repeat their stamps.
    """
    if dt.tzinfo is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    dt = dt.astimezone(UTC)
    if dt.microsecond % 1000 == 0:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str | datetime | int | float) -> datetime:
    """Read an ISO-8601 text, epoch seconds or datetime into an aware UTC datetime.

    A text without an offset is taken as UTC (ECS stores UTC).
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)):
        dt = datetime.fromtimestamp(float(value), UTC)
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def timestamp_micros(value: str | datetime) -> int:
    """``@timestamp`` as integer microseconds since the epoch (for ordering and SQL)."""
    dt = parse_timestamp(value)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def get_field(event: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ECS path, or ``None``; a literal dotted key also counts."""
    if path in event:
        return event[path]
    cur: Any = event
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        nxt = cur.get(part)
        if nxt is None:
            return None
        cur = nxt
    return cur


def set_field(event: Event, path: str, value: Any) -> None:
    """Set a dotted ECS path, creating the nested objects on the way."""
    *parents, leaf = path.split(".")
    ensure_object(event, parents)[leaf] = value


def ensure_object(root: dict[str, Any], parts: Iterable[str]) -> dict[str, Any]:
    """The object at ``parts`` under ``root``, created on the way (a value that is not an
    object where one is needed is replaced: the path wins)."""
    cur = root
    for part in parts:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = cur[part] = {}
        cur = nxt
    return cur


def existing_path(root: dict[str, Any], parts: Iterable[str]) -> dict[str, Any] | None:
    """Like :func:`ensure_object`, but a value in the way is kept: ``None`` then (the
    ingest processors' "first writer wins" for vendor field tables)."""
    cur = root
    for part in parts:
        nxt = cur.get(part)
        if nxt is None:
            nxt = cur[part] = {}
        elif not isinstance(nxt, dict):
            return None
        cur = nxt
    return cur


def pop_field(event: Event, path: str) -> Any:
    """Remove a dotted path and return its value (``None`` when absent)."""
    parts = path.split(".")
    cur: Any = event
    for part in parts[:-1]:
        cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur.pop(parts[-1], None) if isinstance(cur, dict) else None


def iter_flat(event: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted.path, value)`` for every leaf; lists are leaves."""
    for key, value in event.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            yield from iter_flat(value, path)
        else:
            yield path, value


def flatten(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as one flat dict of dotted keys."""
    return dict(iter_flat(event))


def unflatten(flat: Mapping[str, Any]) -> Event:
    """Turn dotted keys into nested objects (the inverse of :func:`flatten`)."""
    out: Event = {}
    for key, value in flat.items():
        set_field(out, key, value)
    return out


def add_related(event: Event, kind: str, *values: Any) -> None:
    """Append to ``related.ip|user|hosts|hash`` without duplicates, keeping order."""
    fresh = [v for v in values if v not in (None, "", "-")]
    if not fresh:
        return  # never leave an empty related.<kind> behind
    bucket: list[Any] = event.setdefault("related", {}).setdefault(kind, [])
    for value in fresh:
        if value not in bucket:
            bucket.append(value)


@lru_cache(maxsize=256)
def _module_of(dataset: str) -> str:
    return dataset.split(".", 1)[0]


def new_event(raw: RawEvent, dataset: str | None = None, *, stamped: bool = True) -> Event:
    """The skeleton every parser starts from: identity, original text, file position.

    ``stamped=False`` reserves ``@timestamp`` (first key) without formatting the receipt
    time, for parsers that read the time from nearly every line and fall back themselves.
    """
    offset = raw.offset
    text = raw._text
    if text is None:
        text = raw.message
    if dataset:
        meta: dict[str, Any] = {
            "id": compute_event_id(raw.source, offset, raw.data), "kind": KIND_EVENT, "original": text,
            "dataset": dataset, "module": _module_of(dataset)}
    else:
        meta = {"id": compute_event_id(raw.source, offset, raw.data), "kind": KIND_EVENT, "original": text}
    event: Event = {"@timestamp": format_timestamp(raw.received) if stamped else None, "event": meta}
    if raw.decode_error or (raw.extra and "encoding" in raw.extra):
        # ``original`` had undecodable bytes replaced, or was decoded from a configured legacy
        # encoding (soc_core.legacy_encodings): the exact bytes are kept beside it.
        meta["original_base64"] = base64.b64encode(raw.data).decode("ascii")
    if offset is not None:
        event["log"] = {"file": {"path": raw.source}, "offset": offset}
    if raw.peer:
        event["log"] = {**event.get("log", {}), "source": {"address": raw.peer}}
    if raw.extra and "truncated_from" in raw.extra:
        event["log"] = {**event.get("log", {}), "flags": ["truncated"],
                        "original_length": raw.extra["truncated_from"]}
    return event


def pipeline_error(raw: RawEvent, component: str, reason: str) -> Event:
    """A dead letter: the original kept whole, with who failed and why."""
    event = new_event(raw)
    event["event"]["kind"] = KIND_PIPELINE_ERROR
    event["event"]["dataset"] = component
    event["error"] = {"message": reason, "type": component}
    if raw.decode_error:
        event["error"]["message"] = f"{reason}; {raw.decode_error}"
    return event


def utf8_cut(data: bytes | bytearray, limit: int) -> bytes:
    """The first ``limit`` bytes of ``data``, shortened so no UTF-8 character is split
    (inputs cut at a size limit stay valid text)."""
    if len(data) <= limit:
        return bytes(data)
    end = limit
    # Back off over continuation bytes (10xxxxxx): at most three in valid UTF-8.
    while end > limit - 3 and end > 0 and data[end] & 0xC0 == 0x80:
        end -= 1
    return bytes(data[:end])


def dumps(event: Mapping[str, Any]) -> bytes:
    """Serialise an event as compact JSON (one NDJSON line without the newline).

    A key that is not a string (an int from a vendor table, say) is written as its text;
    orjson's option for that costs ~40% more per event, so it is only used when needed.

    The result is a copy: orjson's own bytes keep its whole growth buffer (16 KiB for a
    1.4 KB line), and batches (``soc parse`` output, store inserts) hold thousands of
    lines; the copy costs ~0.13 us and halves the peak memory of ``soc parse``."""
    try:
        return bytes(memoryview(orjson.dumps(event)))
    except TypeError:
        pass
    try:
        return bytes(memoryview(orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)))
    except TypeError:
        # An integer beyond 64 bits (from Python's own JSON reader, say): the value's text.
        return bytes(memoryview(orjson.dumps(store_safe(dict(event)), option=orjson.OPT_NON_STR_KEYS)))


def loads(data: bytes | str) -> Any:
    """Parse JSON text (an event or anything else)."""
    return orjson.loads(data)


# -- values every store holds exactly ---------------------------------------------------

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
# Field names longer than this are no field anyone will query, and every store pays for
# them (mappings, indexes): cut them (see _safe_key).
MAX_KEY_CHARS: Final = 256


def store_document(event: Event) -> tuple[Event, bytes]:
    """The document a store writes for ``event`` (:func:`store_safe`) and its JSON."""
    safe = store_safe(event) if _unsafe_object(event) else event
    return safe, dumps(safe)


def _unsafe_object(value: dict[Any, Any]) -> bool:
    # The exact check without building paths or copies: the hot path of every store
    # write (about as costly as serialising the event, where a regex over the JSON
    # text costs more and still needs this walk to confirm).
    for key, item in value.items():
        if type(key) is not str or not 0 < len(key) <= MAX_KEY_CHARS:
            return True
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is dict:
            if _unsafe_object(item):
                return True
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return True
        elif kind is float:
            if item - item != 0.0:
                return True
        elif kind is list:
            if _unsafe_list(item):
                return True
        else:
            return True  # a subclass or another type: the full walk decides
    return False


def _unsafe_list(value: list[Any]) -> bool:
    for item in value:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is dict:
            if _unsafe_object(item):
                return True
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                return True
        elif kind is float:
            if item - item != 0.0:
                return True
        elif kind is list:
            if _unsafe_list(item):
                return True
        else:
            return True
    return False


def store_safe(event: Event) -> Event:
    """``event`` itself when every value is one both stores hold exactly, else a copy
    where those values are rewritten alike for every store:

    * integers outside the signed 64-bit range (SQLite's INTEGER, Elasticsearch's
      ``long``) become their decimal text; NaN and infinities (JSON has none) become
      ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
    * a key that is empty or longer than :data:`MAX_KEY_CHARS` characters becomes ``_``,
      or its first characters plus a hash of the whole key (two long keys stay apart).

    ``soc.sanitized`` lists the dotted paths that were rewritten, so a reader knows the
    document differs from its input (``event.original`` still holds the input). Objects
    nested deeper than a store allows (Elasticsearch: 20 levels) are that store's refusal:
    the pipeline makes them dead letters that keep the document.
    """
    changed: list[str] = []
    out = _safe_value(event, "", changed)
    if not changed:
        return event
    assert isinstance(out, dict)
    soc = out.get("soc")
    soc = dict(soc) if isinstance(soc, dict) else {}
    previous = soc.get("sanitized")
    soc["sanitized"] = [*(previous if isinstance(previous, list) else []), *changed]
    out["soc"] = soc
    return out


def _safe_key(key: str) -> str:
    if not key:
        return "_"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
    return f"{key[:MAX_KEY_CHARS - 17]}~{digest}"


def _safe_value(value: Any, path: str, changed: list[str]) -> Any:
    """``value`` itself when it is safe, else a rewritten copy; every rewrite appends its
    path to ``changed``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        changed.append(path)
        return str(int(value))
    if isinstance(value, float):
        if value - value == 0.0:  # false for NaN and both infinities
            return value
        changed.append(path)
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        items = [_safe_value(item, path, changed) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if not isinstance(value, dict):
        return value  # other types are the serialiser's business (dumps refuses them)
    copy: dict[Any, Any] | None = None
    for index, (key, item) in enumerate(value.items()):
        name = key
        if isinstance(key, str) and not 0 < len(key) <= MAX_KEY_CHARS:
            name = _safe_key(key)
        child = f"{path}.{name}" if path else str(name)
        safe = _safe_value(item, child, changed)
        if name is not key:
            changed.append(child)
        if copy is None and (safe is not item or name is not key):
            copy = dict(list(value.items())[:index])
        if copy is not None:
            copy[name] = safe
    return value if copy is None else copy
