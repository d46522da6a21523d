"""``ecs.document``: JSON documents that shippers send to an Elasticsearch output.

Filebeat, Winlogbeat, Fluent Bit, Vector and Logstash deliver ECS documents: some already
parsed (a Filebeat module, Winlogbeat: ``event.dataset`` or ``winlog`` set), most with the
raw line in ``message`` and the shipper's own fields (``host``, ``agent``, ``log.file.path``,
``input``...). A parsed document is kept as it comes; otherwise ``message`` is parsed with
``auto`` and the shipper's fields are kept where the parser set nothing. When no parser
can read the message, the document is kept as it came and ``error.*`` says why (as a
partial parse, not a dead letter: the shipper's ECS fields are still searchable).

Identity: the event id is ours (source and the document's bytes), so a bulk request the
shipper re-sends after a timeout is stored once.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from parsers.auto import PARTIAL, AutoParser
from parsers.base import BaseParser, ParserOptions
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, new_event

# Fields that say a shipper already parsed the document.
_PARSED_MARKERS: Final = ("winlog",)


def merge_missing(target: dict[str, Any], extra: dict[str, Any]) -> None:
    """Copy into ``target`` what ``extra`` has and ``target`` lacks (objects merged deeply)."""
    for key, value in extra.items():
        mine = target.get(key)
        if mine is None:
            target[key] = value
        elif isinstance(mine, dict) and isinstance(value, dict):
            merge_missing(mine, value)


class EcsDocumentParser(BaseParser):
    """A shipper's JSON document to an ECS event (see the module docstring)."""

    id = "ecs.document"

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        self._auto: AutoParser | None = None  # built on first use: it builds every parser

    def accepts(self, raw: RawEvent) -> bool:
        return raw.message[:1] == "{"

    def parse(self, raw: RawEvent) -> Event:
        try:
            doc = orjson.loads(raw.data)
        except orjson.JSONDecodeError as exc:
            raise ParseError(self.id, f"not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ParseError(self.id, "not a JSON object")
        skeleton = new_event(raw, self.id)
        shipped_event = doc.get("event")
        ecs: dict[str, Any] = shipped_event if isinstance(shipped_event, dict) else {}
        message = doc.get("message")
        if ecs.get("dataset") or any(marker in doc for marker in _PARSED_MARKERS) or not isinstance(message, str):
            return self._as_sent(doc, skeleton, raw)
        if self._auto is None:
            self._auto = AutoParser(self.options)
        line = RawEvent.from_bytes(message.encode("utf-8"), raw.source, raw.received, raw.offset,
                                   peer=raw.peer, receiver=raw.receiver)
        try:
            event = self._auto.parse(line)
        except ParseError as exc:
            event = self._as_sent(doc, skeleton, raw)
            event["error"] = {"message": str(exc), "type": PARTIAL}
            return event
        event["event"]["id"] = skeleton["event"]["id"]
        shipped = {k: v for k, v in doc.items() if k not in ("@timestamp", "message")}
        if "@timestamp" in doc and event["@timestamp"] == skeleton["@timestamp"]:
            shipped["@timestamp"] = doc["@timestamp"]  # the parser found no time of its own
            event.pop("@timestamp")
        merge_missing(event, shipped)
        return event

    @staticmethod
    def _as_sent(doc: dict[str, Any], skeleton: Event, raw: RawEvent) -> Event:
        """The document as the shipper sent it, with our identity and kind added."""
        event: Event = dict(doc)
        ecs = dict(event["event"]) if isinstance(event.get("event"), dict) else {}
        ecs["id"] = skeleton["event"]["id"]
        ecs.setdefault("kind", "event")
        ecs.setdefault("dataset", EcsDocumentParser.id)
        ecs.setdefault("original", doc["message"] if isinstance(doc.get("message"), str) else raw.message)
        event["event"] = ecs
        event.setdefault("@timestamp", skeleton["@timestamp"])
        return event
