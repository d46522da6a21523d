"""ModSecurity / OWASP CRS rule messages: the ``[key "value"]`` list to ``rule.*`` and ``modsec.*``.

ModSecurity writes one message per matched rule, in the Apache or nginx error log and in
section H (or ``messages``) of its audit log. The layout is documented in the ModSecurity
reference manual ("Audit log", "Error messages"), for example::

    ModSecurity: Warning. Pattern match "..." at ARGS:a. [file "/.../REQUEST-930-...conf"]
    [line "47"] [id "930100"] [msg "Path Traversal Attack (/../)"] [data "..."]
    [severity "CRITICAL"] [ver "OWASP_CRS/3.3.0"] [tag "attack-lfi"] [hostname "localhost"]
    [uri "/"] [unique_id "YVW7KjiKxXlACWj0fjsbkgAAAEk"]

(The nginx connector appends nginx's ``, client: ..., request: "..."`` context, which
:mod:`parsers.web.nginx` maps for every nginx error line.)
Fields are mapped as Wazuh's ``modsecurity`` decoder and Elastic's ECS guidelines do:
``rule.id``, ``rule.description`` (msg), ``rule.ruleset`` (ver), ``rule.version`` (rev),
``tags``, the client in ``source.*`` and the URI in ``url.*``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from parsers.web import ecs
from soc_core.event import Event

# One [key "value"] item; values escape quotes as \" (ModSecurity's log_escape). The value
# is the unrolled loop [^"\\]*(?:\\.[^"\\]*)*: the same matches as (?:[^"\\]|\\.)*, without
# one alternation per character (2.7x faster on CRS lines, whose values are long regexes).
_ITEM: Final = re.compile(r'\[(\w+) "([^"\\]*(?:\\.[^"\\]*)*)"\]')
# "Warning." or "Access denied with code 403 (phase 2)." before the match description;
# audit-log messages may also start directly with the description ("Pattern match ...").
_ACTION: Final = re.compile(
    r"(?:.*?ModSecurity: )?(?P<action>[A-Z][A-Za-z ]*?(?: with code \d+)?(?: \(phase \d+\))?)\.(?:\s+|$)(?P<detail>.*)",
    re.S,
)
_SCORE: Final = re.compile(r"Total (?:Inbound )?Score: (\d+)")

# CRS severities as syslog numbers (ModSecurity accepts both spellings).
SEVERITIES: Final = {
    "EMERGENCY": 0, "ALERT": 1, "CRITICAL": 2, "ERROR": 3, "WARNING": 4, "NOTICE": 5, "INFO": 6, "DEBUG": 7,
}


def parse_items(text: str) -> dict[str, Any]:
    """The ``[key "value"]`` items of one message; ``tag`` is collected into a list."""
    out: dict[str, Any] = {}
    tags: list[str] = []
    escaped = '\\"' in text  # one test per line instead of one replace per item
    for key, value in _ITEM.findall(text):
        if escaped:
            value = value.replace('\\"', '"')
        if key == "tag":
            tags.append(value)
        elif key not in out:
            out[key] = value
    if tags:
        out["tag"] = tags
    return out


def severity_number(value: str) -> int | None:
    """``CRITICAL`` or ``2`` to the syslog severity number."""
    if value.isdecimal():
        return int(value)
    return SEVERITIES.get(value.upper())


_SUMMARY_KEYS: Final = ("id", "msg", "file", "line", "data", "severity", "ver", "rev", "maturity",
                        "accuracy", "hostname", "uri", "unique_id", "ref")


def message_summary(text: str) -> dict[str, Any]:
    """One rule message as a ``modsec`` dict: action, match text, rule and request details."""
    items = parse_items(text)
    first_item = text.find(' [')
    head = text[:first_item] if first_item != -1 else text
    out: dict[str, Any] = {}
    action = _ACTION.match(head)
    if action:
        out["action"] = action.group("action").strip()
        detail = action.group("detail").strip()
        if detail:
            out["matched"] = detail
    else:
        detail = head.split("ModSecurity: ", 1)[-1].strip()
        if detail:
            out["matched"] = detail
    for key in _SUMMARY_KEYS:
        value = items.get(key)
        if value:
            out[key] = value
    if "tag" in items:
        out["tags"] = items["tag"]
    if "Score: " in text:
        score = anomaly_score(text)
        if score is not None:
            out["anomaly_score"] = score
    return out


def anomaly_score(text: str) -> int | None:
    """The CRS anomaly total in "Inbound Anomaly Score Exceeded (Total Score: 10)"."""
    score = _SCORE.search(text)
    return int(score.group(1)) if score else None


def apply_rules(event: Event, messages: list[dict[str, Any]]) -> None:
    """``rule.*``, ``tags``, ``event.severity`` and the WAF category from rule messages."""
    if len(messages) == 1:
        _apply_rule(event, messages[0])
        return
    ids = [m["id"] for m in messages if "id" in m]
    if not ids:
        return
    descriptions = [m["msg"] for m in messages if "msg" in m]
    rule: dict[str, Any] = event.setdefault("rule", {})
    rule["id"] = ids[0] if len(ids) == 1 else ids
    if descriptions:
        rule["description"] = descriptions[0] if len(descriptions) == 1 else descriptions
    versions = [m["ver"] for m in messages if "ver" in m]
    if versions:
        rule["ruleset"], _, rule["version"] = _ruleset_version(versions[0])
    tags: list[str] = []
    for m in messages:
        for tag in m.get("tags", ()):
            if tag not in tags:
                tags.append(tag)
    severities = [n for n in (severity_number(m.get("severity", "")) for m in messages) if n is not None]
    denied = any(str(m.get("action", "")).startswith("Access denied") for m in messages)
    _finish(event, tags, min(severities) if severities else None, denied)


def _apply_rule(event: Event, message: dict[str, Any]) -> None:
    """:func:`apply_rules` for one message (every error-log line): no lists to merge."""
    rule_id = message.get("id")
    if rule_id is None:
        return
    rule: dict[str, Any] = event.setdefault("rule", {})
    rule["id"] = rule_id
    if "msg" in message:
        rule["description"] = message["msg"]
    version = message.get("ver")
    if version:
        rule["ruleset"], _, rule["version"] = _ruleset_version(version)
    tags = message.get("tags")
    severity = message.get("severity")
    _finish(event, list(dict.fromkeys(tags)) if tags else [],
            severity_number(severity) if severity else None,
            str(message.get("action", "")).startswith("Access denied"))


def _ruleset_version(ver: str) -> tuple[str, str, str]:
    # "OWASP_CRS/3.3.0" -> ruleset "OWASP_CRS", version "3.3.0"; a bare name is both.
    name, slash, number = ver.partition("/")
    return name, slash, number if slash else name


def _finish(event: Event, tags: list[str], severity: int | None, denied: bool) -> None:
    if tags:
        existing = event.get("tags", [])
        event["tags"] = [*existing, *(t for t in tags if t not in existing)]
    if severity is not None:
        event["event"]["severity"] = severity
    # The WAF is the observer that reported the finding (ECS observer.type "waf").
    event["observer"] = {**event.get("observer", {}), "product": "ModSecurity", "type": "waf"}
    ev = event["event"]
    category = ev.get("category") or []
    if "intrusion_detection" not in category:
        ev["category"] = [*category, "intrusion_detection"]
    types = ev.get("type") or []
    if denied and "denied" not in types:
        ev["type"] = [*types, "denied"]


def apply_modsec_message(event: Event, message: str) -> None:
    """Enrich an Apache/nginx error event whose message is a ModSecurity rule message."""
    summary = message_summary(message)
    if not summary:
        return
    event.setdefault("modsec", {}).update(summary)
    action = summary.get("action")
    if action:
        event["event"]["action"] = action.lower().split(" with ", 1)[0].replace(" ", "-")
    apply_rules(event, [summary])
    uri = summary.get("uri")
    if uri:
        ecs.set_url(event, uri)
    hostname = summary.get("hostname")
    if hostname:
        if ecs.as_ip(hostname) is not None:
            event.setdefault("destination", {})["ip"] = hostname
        else:
            event.setdefault("destination", {})["domain"] = hostname
            event.setdefault("url", {})["domain"] = hostname
