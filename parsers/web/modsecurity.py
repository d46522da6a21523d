"""ModSecurity audit log parser: ``modsecurity.auditlog``, JSON and native multipart formats.

Three layouts are read, routed by their first bytes (no trial and error):

* the native (``SecAuditLogFormat Native``) serial log, where one transaction spans
  lines in sections ``--<boundary>-A--`` (time, id, client and server addresses),
  ``-B--`` (request line and headers), ``-F--`` (response status and headers),
  ``-H--`` (rule messages, producer) and ``-Z--`` (end), as the ModSecurity 2.x
  reference manual, "Audit Log" section, documents them;
* ModSecurity 2.9 JSON (``SecAuditLogFormat JSON``): ``transaction``, ``request``,
  ``response`` and ``audit_data.messages``;
* libmodsecurity 3 JSON: one ``{"transaction": {...}}`` object with ``client_ip``,
  ``request``, ``response`` and ``messages[].details``.

Output follows ECS as Elastic's integrations map web traffic and WAF findings:
``source``/``destination``, ``http``, ``url``, ``user_agent``, ``rule.*`` and ``tags``
from the matched rules, ``event.category: [web, intrusion_detection]``; the
transaction itself is kept under ``modsec.audit``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import orjson

from parsers.base import BaseParser, MultilineFramer, ParserOptions
from parsers.web import ecs
from parsers.web.modsec_message import anomaly_score, apply_rules, message_summary
from parsers.web.timestamps import TimestampError, ctime_date, http_date
from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, format_timestamp

# A new event starts at a JSON object or at the A section of a native transaction.
START: Final = r"(?:\{|--[0-9A-Za-z]+-A--\s*$)"
_SECTION: Final = re.compile(r"^--([0-9A-Za-z]+)-([A-Z])--\s*$", re.M)
_A_LINE: Final = re.compile(
    r"^\[(?P<time>[^\]]+)\] (?P<id>\S+) (?P<src>\S+) (?P<sport>\d+) (?P<dst>\S+) (?P<dport>\d+)\s*$"
)
_STATUS_LINE: Final = re.compile(r"^(?P<proto>HTTP/[\d.]+) (?P<status>\d{3})(?: .*)?$")


def _headers(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and name and " " not in name:
            out.setdefault(name.strip(), value.strip())
    return out


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return None


class ModsecAuditParser(BaseParser):
    """ModSecurity audit log entries (native serial log or JSON lines)."""

    id = "modsecurity.auditlog"
    framer = MultilineFramer(START)
    json_keys: ClassVar[tuple[str, ...]] = ("transaction",)
    route_signals: ClassVar[tuple[str, ...]] = ('{"transaction":', "-A--")

    def __init__(self, options: ParserOptions | None = None) -> None:
        super().__init__(options)
        ecs.warm_up_user_agents()

    def accepts(self, raw: RawEvent) -> bool:
        text = raw.message.lstrip()
        return text.startswith('{"transaction"') or bool(_SECTION.match(text))

    def parse(self, raw: RawEvent) -> Event:
        text = raw.message.strip()
        event = self.new_event(raw)
        try:
            if text.startswith("{"):
                self._parse_json(event, text)
            elif text.startswith("--"):
                self._parse_native(event, text)
            else:
                raise ParseError(self.id, "neither a JSON audit record nor a native -A-- section")
        except TimestampError as exc:
            raise ParseError(self.id, f"bad timestamp: {exc}") from None
        ev = event["event"]
        ev["category"] = ["web", *(c for c in ev.get("category", []) if c != "web")]
        if "intrusion_detection" not in ev["category"]:
            ev["category"].append("intrusion_detection")
        ev.setdefault("type", ["access"])
        return event

    # --- native multipart ------------------------------------------------------------

    def _parse_native(self, event: Event, text: str) -> None:
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in text.split("\n"):
            m = _SECTION.match(line)
            if m:
                current = sections.setdefault(m.group(2), [])
                continue
            if current is not None:
                current.append(line.rstrip("\r"))
        head = [line for line in sections.get("A", []) if line.strip()]
        if not head:
            raise ParseError(self.id, "native audit entry without an A section")
        a = _A_LINE.match(head[0])
        if a is None:
            raise ParseError(self.id, "A section does not hold time, id and addresses")
        self._set_time(event, a.group("time"))
        self._transaction(event, a.group("id"), a.group("src"), int(a.group("sport")),
                          a.group("dst"), int(a.group("dport")))
        request = list(sections.get("B", []))
        while request and not request[-1].strip():
            request.pop()
        if request:
            self._request_line(event, request[0])
            self._request_headers(event, _headers(request[1:]))
        response = [line for line in sections.get("F", []) if line.strip()]
        if response:
            status = _STATUS_LINE.match(response[0])
            if status:
                self._status(event, int(status.group("status")))
        trailer = sections.get("H", [])
        messages = [line[len("Message: "):] for line in trailer if line.startswith("Message: ")]
        self._messages(event, messages)
        audit = event.setdefault("modsec", {}).setdefault("audit", {})
        for line in trailer:
            name, sep, value = line.partition(": ")
            if sep and name in ("Producer", "Server", "Engine-Mode", "Action", "Apache-Handler"):
                audit[name.lower().replace("-", "_")] = value.strip()
        audit["sections"] = "".join(s for s in sections if s != "Z")

    # --- JSON ------------------------------------------------------------------------

    def _parse_json(self, event: Event, text: str) -> None:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ParseError(self.id, f"invalid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("transaction"), dict):
            raise ParseError(self.id, "JSON without a transaction object")
        tx: dict[str, Any] = doc["transaction"]
        try:
            if "client_ip" in tx:
                self._json_v3(event, tx)
            else:
                self._json_v2(event, doc, tx)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # Malformed records (missing keys, wrong types) are input errors, not bugs.
            raise ParseError(self.id, f"unexpected audit record structure: {exc!r}") from None

    def _json_v3(self, event: Event, tx: dict[str, Any]) -> None:
        self._set_time(event, str(tx["time_stamp"]))
        self._transaction(event, str(tx.get("unique_id", "")), str(tx["client_ip"]), int(tx.get("client_port", 0)),
                          str(tx.get("host_ip", "")), int(tx.get("host_port", 0)))
        request = tx.get("request") or {}
        method, uri = request.get("method"), request.get("uri")
        if method:
            event.setdefault("http", {}).setdefault("request", {})["method"] = str(method)
        if request.get("http_version") is not None:
            event.setdefault("http", {})["version"] = str(request["http_version"])
        if uri:
            ecs.set_url(event, str(uri))
        self._request_headers(event, request.get("headers") or {})
        response = tx.get("response") or {}
        if response.get("http_code") is not None:
            self._status(event, int(response["http_code"]))
        messages: list[dict[str, Any]] = []
        for item in tx.get("messages") or []:
            details = item.get("details") or {}
            summary: dict[str, Any] = {"matched": item.get("message", "")}
            for source, target in (("ruleId", "id"), ("file", "file"), ("lineNumber", "line"), ("data", "data"),
                                   ("severity", "severity"), ("ver", "ver"), ("rev", "rev"), ("match", "match"),
                                   ("reference", "ref"), ("maturity", "maturity"), ("accuracy", "accuracy")):
                if details.get(source) not in (None, ""):
                    summary[target] = str(details[source])
            if item.get("message"):
                summary["msg"] = str(item["message"])
                score = anomaly_score(summary["msg"])
                if score is not None:
                    summary["anomaly_score"] = score
            if details.get("tags"):
                summary["tags"] = [str(t) for t in details["tags"]]
            messages.append(summary)
        self._apply_summaries(event, messages)
        producer = tx.get("producer") or {}
        if producer:
            event.setdefault("modsec", {}).setdefault("audit", {})["producer"] = producer.get("modsecurity")

    def _json_v2(self, event: Event, doc: dict[str, Any], tx: dict[str, Any]) -> None:
        self._set_time(event, str(tx["time"]))
        self._transaction(event, str(tx.get("transaction_id", "")), str(tx["remote_address"]),
                          int(tx.get("remote_port", 0)), str(tx.get("local_address", "")), int(tx.get("local_port", 0)))
        request = doc.get("request") or {}
        if request.get("request_line"):
            self._request_line(event, str(request["request_line"]))
        self._request_headers(event, request.get("headers") or {})
        response = doc.get("response") or {}
        if response.get("status") is not None:
            self._status(event, int(response["status"]))
        audit_data = doc.get("audit_data") or {}
        self._messages(event, [str(m) for m in audit_data.get("messages") or []])
        audit = event.setdefault("modsec", {}).setdefault("audit", {})
        for key in ("engine_mode", "server"):
            if audit_data.get(key):
                audit[key] = audit_data[key]

    # --- shared mapping --------------------------------------------------------------

    def _set_time(self, event: Event, text: str) -> None:
        text = text.strip()
        if text[:1].isdecimal() and "/" in text:
            when: datetime = http_date(text, self.options.tz)  # 09/Jan/2008:12:27:56 +0000
        elif text[:1].isalpha():
            when = ctime_date(text, self.options.tz)  # Mon Nov 29 10:10:10 2021 (v3)
        elif text.isdecimal():
            when = datetime.fromtimestamp(int(text[:10]), UTC)
        else:
            raise TimestampError(f"unknown audit time {text!r}")
        event["@timestamp"] = format_timestamp(when)

    @staticmethod
    def _transaction(event: Event, unique_id: str, src: str, sport: int, dst: str, dport: int) -> None:
        event.setdefault("modsec", {}).setdefault("audit", {})["unique_id"] = unique_id
        event.setdefault("transaction", {})["id"] = unique_id
        ecs.set_endpoint(event, "source", src)
        event["source"]["port"] = sport
        if dst:
            ecs.set_endpoint(event, "destination", dst)
            event["destination"]["port"] = dport

    @staticmethod
    def _request_line(event: Event, line: str) -> None:
        method, _, rest = line.strip().partition(" ")
        target, _, version = rest.rpartition(" ")
        if not version.startswith("HTTP/"):
            target, version = rest, ""
        http: dict[str, Any] = event.setdefault("http", {})
        if method:
            http.setdefault("request", {})["method"] = method
        if version:
            http["version"] = version[5:]
        if target:
            ecs.set_url(event, target)

    @staticmethod
    def _request_headers(event: Event, headers: Mapping[str, Any]) -> None:
        host = _header(headers, "Host")
        if host:
            domain = host.split(":", 1)[0]
            event.setdefault("url", {})["domain"] = domain
            event.setdefault("destination", {}).setdefault("domain", domain)
        agent = _header(headers, "User-Agent")
        if agent:
            ecs.set_user_agent(event, agent)
        referrer = _header(headers, "Referer")
        if referrer:
            event.setdefault("http", {}).setdefault("request", {})["referrer"] = referrer

    @staticmethod
    def _status(event: Event, status: int) -> None:
        event.setdefault("http", {}).setdefault("response", {})["status_code"] = status
        event["event"]["outcome"] = ecs.outcome(status)

    def _messages(self, event: Event, messages: list[str]) -> None:
        self._apply_summaries(event, [message_summary(m) for m in messages])

    @staticmethod
    def _apply_summaries(event: Event, summaries: list[dict[str, Any]]) -> None:
        summaries = [s for s in summaries if s]
        if not summaries:
            return
        event.setdefault("modsec", {})["messages"] = summaries
        event["event"].setdefault("category", ["web"])
        apply_rules(event, summaries)
        denied = [s for s in summaries if str(s.get("action", "")).startswith("Access denied")]
        if denied:
            event["event"]["action"] = "access-denied"
        else:
            event["event"]["action"] = "rule-matched"
