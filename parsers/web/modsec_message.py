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
from collections.abc import Callable
from functools import lru_cache
from itertools import compress
from operator import itemgetter, not_
from typing import Any, Final, NamedTuple, cast

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
# Where the items begin (text.find(" [") does the same, at 1.7x the cost on CRS lines).
_FIRST_ITEM: Final = re.compile(r" \[")
# Where an item could begin: no such text before the items, or the fast path does not apply.
_ITEM_START: Final = re.compile(r'\[\w+ "')
# The text between the values of consecutive items, with the key: "] [key " (see _layout).
_KEY: Final = re.compile(r'(?:\] )?\[(\w+) ')

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


# severity_number of the spellings CRS writes, looked up without the call and the tests.
_SEVERITY_TEXTS: Final = {**SEVERITIES, **{str(n): n for n in range(8)}}

_SUMMARY_KEYS: Final = ("id", "msg", "file", "line", "data", "severity", "ver", "rev", "maturity",
                        "accuracy", "hostname", "uri", "unique_id", "ref")


def _split_items(text: str, first_item: int) -> list[str] | None:
    """The items of the usual rule message cut at their quotes, else ``None``.

    ``first_item`` is where ``" ["`` first occurs. This is :func:`parse_items` without a
    regex match per item (most of the cost of a CRS line), for the layout ModSecurity
    writes: no item before ``first_item``, then items up to the last ``[`` of the text.
    With no ``\\"`` in those items (and no backslash before a newline, which ``_ITEM``
    does not cross), every quote delimits a value, so one split on quotes gives
    ``['[key ', value, '] [key ', value, ..., ']']``; :func:`_layout` then checks the
    texts between the values once per sequence of keys. Anything else returns ``None``
    (or no layout) and takes the regex, so the items are always those of
    :func:`parse_items`.
    """
    # The last item ends at the second quote after the last "[" (values have no quotes).
    opening = text.find('"', text.rfind("["))
    closing = text.find('"', opening + 1) if opening != -1 else -1
    if closing == -1 or text[closing + 1:closing + 2] != "]":
        return None
    items = text[first_item + 1:closing + 2]
    # A value ending in a backslash or with one before a newline reads differently with
    # _ITEM (an escaped quote; no match): leave those to it. One-character test first,
    # since the two-character ones scan the text about 40x slower.
    if "\\" in items and ('\\"' in items or "\\\n" in items):
        return None
    if _ITEM_START.search(text, 0, first_item) is not None:
        return None
    return items.split('"')


def _getter(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """The items at ``indexes`` of a list, always as a tuple (``itemgetter`` of one is not)."""
    if len(indexes) > 1:
        return cast("Callable[[list[str]], tuple[str, ...]]", itemgetter(*indexes))
    if indexes:
        index = indexes[0]
        return lambda values: (values[index],)
    return lambda values: ()


class _Layout(NamedTuple):
    """Where the summary finds its items among the values of one sequence of keys."""

    names: tuple[str, ...]  # summary keys present, in _SUMMARY_KEYS order
    values: Callable[[list[str]], tuple[str, ...]]  # their values: the first item of each key
    tags: Callable[[list[str]], tuple[str, ...]] | None  # the tag values in order, if any
    # Every key a summary of this layout can have, in order: copying it presizes the
    # summary and fixes its key order (keys then found empty are deleted).
    template: dict[str, Any]


# Layouts by their texts between values joined with '"' (which none of them holds, so
# the joined text tells the sequences apart): hashing one text costs less than hashing
# a tuple of twenty. One rule set writes a few sequences (they differ in tag count).
_LAYOUTS: dict[str, _Layout | None] = {}
_MAX_LAYOUTS: Final = 1024  # emptied when full


def _layout_of(parts: list[str]) -> _Layout | None:
    """The layout of what :func:`_split_items` returned (``None``: not the usual one)."""
    between = parts[0::2]
    key = '"'.join(between)
    try:
        return _LAYOUTS[key]
    except KeyError:
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        layout = _LAYOUTS[key] = _layout(between)
        return layout


def _layout(between: list[str]) -> _Layout | None:
    """The layout of the texts between values that :func:`_split_items` cut, or ``None``
    unless they are ``[key `` (the first), ``] [key `` and ``]`` (the last): items one
    space apart, as ``_ITEM`` would find them one after the other."""
    keys: list[str] = []
    for index, text in enumerate(between[:-1]):
        m = _KEY.fullmatch(text)
        if m is None or (index == 0) != (text[0] == "["):
            return None
        keys.append(m.group(1))
    if between[-1] != "]":
        return None
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    names = tuple(key for key in _SUMMARY_KEYS if key in first)
    tags = [index for index, key in enumerate(keys) if key == "tag"]
    template = dict.fromkeys(("action", "matched", *names, *(("tags",) if tags else ())))
    return _Layout(names, _getter([first[name] for name in names]), _getter(tags) if tags else None, template)


# The action text after "ModSecurity: ", whole: what the action group of _ACTION accepts.
_ACTION_TEXT: Final = re.compile(r"[A-Z][A-Za-z ]*?(?: with code \d+)?(?: \(phase \d+\))?")


@lru_cache(maxsize=256)  # "Warning", "Access denied with code 403 (phase 2)": a few texts
def _action_text(text: str) -> str | None:
    """``text`` stripped when it is a whole action, else ``None``."""
    return text.strip() if _ACTION_TEXT.fullmatch(text) else None


def _head_parts(head: str) -> tuple[str | None, str]:
    """The action (if any) and the match text (may be empty) before the items."""
    # _ACTION reads the action up to the first "." after the first "ModSecurity: " (its
    # text has no dot); when that text is an action followed by a blank or the end, that
    # is _ACTION's match, found by its cached text instead of the regex.
    start = head.find("ModSecurity: ")
    if start != -1:
        dot = head.find(".", start + 13)
        if dot != -1 and (dot + 1 == len(head) or head[dot + 1].isspace()):
            action_text = _action_text(head[start + 13:dot])
            if action_text is not None:
                return action_text, head[dot + 1:].strip()
    action = _ACTION.match(head)
    if action:
        return action.group("action").strip(), action.group("detail").strip()
    return None, head.split("ModSecurity: ", 1)[-1].strip()


def message_summary(text: str) -> dict[str, Any]:
    """One rule message as a ``modsec`` dict: action, match text, rule and request details."""
    first = _FIRST_ITEM.search(text)
    first_item = first.start() if first is not None else -1
    action, detail = _head_parts(text[:first_item] if first_item != -1 else text)
    parts = _split_items(text, first_item) if first_item != -1 else None
    layout = _layout_of(parts) if parts is not None else None
    out: dict[str, Any]
    if parts is not None and layout is not None:
        out = layout.template.copy()
        if action is None:
            del out["action"]
        else:
            out["action"] = action
        if detail:
            out["matched"] = detail
        else:
            del out["matched"]
        values = parts[1::2]
        found = layout.values(values)
        out.update(zip(layout.names, found, strict=False))  # same length (strict costs 40% more)
        if "" in found:  # an empty item counts as absent
            for name in compress(layout.names, map(not_, found)):
                del out[name]
        if layout.tags is not None:
            out["tags"] = list(layout.tags(values))
    else:
        out = {} if action is None else {"action": action}
        if detail:
            out["matched"] = detail
        items = parse_items(text)
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
    rule = event.get("rule")
    if rule is None:
        rule = event["rule"] = {"id": rule_id}
    else:
        rule["id"] = rule_id
    if "msg" in message:
        rule["description"] = message["msg"]
    version = message.get("ver")
    if version:
        rule["ruleset"], _, rule["version"] = _ruleset_version(version)
    tags = message.get("tags")
    severity = message.get("severity")
    number = _SEVERITY_TEXTS.get(severity) if severity else None  # severity_number, mostly
    if number is None and severity:
        number = severity_number(severity)
    _finish(event, list(dict.fromkeys(tags)) if tags else [], number,
            str(message.get("action", "")).startswith("Access denied"))


@lru_cache(maxsize=256)  # a handful of rule sets ("OWASP_CRS/3.3.0"): split each once
def _ruleset_version(ver: str) -> tuple[str, str, str]:
    # "OWASP_CRS/3.3.0" -> ruleset "OWASP_CRS", version "3.3.0"; a bare name is both.
    name, slash, number = ver.partition("/")
    return name, slash, number if slash else name


def _finish(event: Event, tags: list[str], severity: int | None, denied: bool) -> None:
    if tags:
        existing = event.get("tags")
        # No tags yet (every error-log event): the rule's, already without repeats.
        event["tags"] = [*existing, *(t for t in tags if t not in existing)] if existing else tags
    ev = event["event"]
    if severity is not None:
        ev["severity"] = severity
    # The WAF is the observer that reported the finding (ECS observer.type "waf").
    observer = event.get("observer")
    event["observer"] = ({"product": "ModSecurity", "type": "waf"} if observer is None
                         else {**observer, "product": "ModSecurity", "type": "waf"})
    category = ev.get("category") or []
    if "intrusion_detection" not in category:
        ev["category"] = [*category, "intrusion_detection"]
    if denied:
        types = ev.get("type") or []
        if "denied" not in types:
            ev["type"] = [*types, "denied"]


@lru_cache(maxsize=256)  # "Warning", "Access denied with code 403 (phase 2)", ...: a few texts
def _event_action(action: str) -> str:
    """``event.action`` of a ModSecurity action text: ``warning``, ``access-denied``."""
    return action.lower().split(" with ", 1)[0].replace(" ", "-")


def apply_modsec_message(event: Event, message: str) -> None:
    """Enrich an Apache/nginx error event whose message is a ModSecurity rule message."""
    summary = message_summary(message)
    if not summary:
        return
    modsec = event.get("modsec")
    if modsec is None:
        event["modsec"] = summary  # a new dict, only read below: no copy needed
    else:
        modsec.update(summary)
    action = summary.get("action")
    if action:
        event["event"]["action"] = _event_action(action)
    _apply_rule(event, summary)
    uri = summary.get("uri")
    if uri:
        if "url" in event:
            ecs.set_url(event, uri)
        else:  # the same object, built in one go
            event["url"] = ecs.url_fields(uri)
    hostname = summary.get("hostname")
    if hostname:
        key = "ip" if ecs.as_ip(hostname) is not None else "domain"
        destination = event.get("destination")
        if destination is None:
            event["destination"] = {key: hostname}
        else:
            destination[key] = hostname
        if key == "domain":
            event.setdefault("url", {})["domain"] = hostname
