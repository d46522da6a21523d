"""``json``: one JSON object per event, for JSON no other parser claims (HTTP ``/ingest``,
NDJSON files).

Two cases, told apart by the document itself:

* **An ECS document** (an ``@timestamp`` and an ``event`` object or an ``ecs`` version, as
  Beats, Elastic Agent and ``soc parse`` write them) is stored as it is: its fields are
  not renamed or dropped. Only what the store needs is added where missing:
  ``event.id`` (derived from source, offset and bytes, so re-sending stores nothing twice),
  ``event.kind`` (``event``) and ``event.original`` (the JSON text); ``@timestamp`` is
  normalised to UTC.
* **Any other JSON object** becomes an event (``event.dataset: json``) with the object's
  fields under the ``json`` namespace, as Filebeat's JSON input does when the keys are not
  put under the root: ``{"user": "an"}`` is stored as ``json.user``. Its ``@timestamp`` is
  the receipt time (the object's own time fields are kept, not interpreted);
  ``event.original`` keeps the text, so free-text search finds it.

``auto`` routes here the JSON objects that no parser's JSON keys, signals or program claim.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from parsers.base import BaseParser
from soc_core.errors import ParseError
from soc_core.event import (
    KIND_EVENT,
    Event,
    RawEvent,
    compute_event_id,
    format_timestamp,
    new_event,
    parse_timestamp,
)

NAMESPACE: Final = "json"


def is_ecs_document(doc: dict[str, Any]) -> bool:
    """An ECS document: an ``@timestamp`` and an ``event`` object or an ``ecs`` version."""
    return isinstance(doc.get("@timestamp"), str) and (isinstance(doc.get("event"), dict) or "ecs" in doc)


class JsonDocumentParser(BaseParser):
    """See the module docstring."""

    id = "json"

    def parse(self, raw: RawEvent) -> Event:
        try:
            doc = orjson.loads(raw.data)
        except orjson.JSONDecodeError as exc:
            raise ParseError(self.id, f"invalid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ParseError(self.id, f"a JSON {type(doc).__name__} is not an event (a JSON object is)")
        if is_ecs_document(doc):
            return self._ecs(raw, doc)
        event = new_event(raw, NAMESPACE)
        event[NAMESPACE] = doc
        return event

    def _ecs(self, raw: RawEvent, doc: dict[str, Any]) -> Event:
        try:
            stamp = format_timestamp(parse_timestamp(doc["@timestamp"]))
        except ValueError:
            raise ParseError(self.id, f"ECS document with an unreadable @timestamp {doc['@timestamp']!r}") from None
        meta = doc.get("event")
        meta = dict(meta) if isinstance(meta, dict) else {}
        meta.setdefault("id", compute_event_id(raw.source, raw.offset, raw.data))
        meta.setdefault("kind", KIND_EVENT)
        # The document's own original (the log line a shipper read) is the better one.
        meta.setdefault("original", raw.message)
        return {**doc, "@timestamp": stamp, "event": meta}
