"""Helpers shared by the endpoint (antivirus/EDR) parsers: JSON decoding with our
errors, timestamps and the small ECS conventions Elastic's vendor pipelines share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from soc_core.errors import ParseError
from soc_core.event import Event, RawEvent, add_related, format_timestamp, parse_timestamp, set_field


def load_object(parser_id: str, raw: RawEvent) -> dict[str, Any]:
    """The JSON object of one input line, or :class:`ParseError`."""
    try:
        value = orjson.loads(raw.data)
    except orjson.JSONDecodeError as exc:
        raise ParseError(parser_id, f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ParseError(parser_id, "not a JSON object")
    return value


def to_datetime(value: Any) -> datetime | None:
    """An aware datetime from ISO text or epoch seconds/milliseconds, else ``None``.

    Text without an offset is UTC: the cloud APIs read here all report UTC.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        # Vendors mix epoch seconds and milliseconds; no real event predates 2001-09-09
        # in seconds-from-epoch terms above 10**12, so the magnitude tells them apart.
        seconds = value / 1000 if abs(value) >= 10**12 else value
        try:
            return parse_timestamp(float(seconds))
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        # Python before 3.11 rejected 7 fractional digits; 3.11 accepts up to 6 only
        # in some forms, so trim the fraction to microseconds.
        if "." in text:
            head, _, tail = text.partition(".")
            digits = len(tail) - len(tail.lstrip("0123456789"))
            if digits > 6:
                text = head + "." + tail[:6] + tail[digits:]
        try:
            return parse_timestamp(text)
        except (ValueError, OverflowError):  # malformed, or out of range once in UTC
            return None
    return None


def epoch_nanos(value: Any) -> int | None:
    """Nanoseconds since the epoch of an ISO text, keeping all 9 fraction digits
    (durations between 7-digit Microsoft stamps would otherwise lose 100 ns steps)."""
    dt = to_datetime(value)
    if dt is None:
        return None
    whole = int(dt.replace(microsecond=0).timestamp()) * 1_000_000_000
    fraction = 0
    if isinstance(value, str) and "." in value:
        tail = value.strip().partition(".")[2]
        digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
        fraction = int((digits + "000000000")[:9]) if digits else 0
    else:
        fraction = dt.microsecond * 1000
    return whole + fraction


def put_time(event: Event, path: str, value: Any) -> datetime | None:
    """Set ``path`` (``@timestamp`` or a date field) from ``value``; returns the time."""
    dt = to_datetime(value)
    if dt is not None:
        text = format_timestamp(dt)
        if path == "@timestamp":
            event["@timestamp"] = text
        else:
            set_field(event, path, text)
    return dt


def put_value(event: Event, path: str, value: Any) -> None:
    """Set ``path`` unless ``value`` is None, empty text or an empty list."""
    if value is None or value == "" or value == []:
        return
    set_field(event, path, value)


def related(event: Event, kind: str, *values: Any) -> None:
    """Append non-empty text values to ``related.<kind>`` (anything else is ignored:
    vendor documents sometimes carry objects where text is expected)."""
    kept = [v for v in values if isinstance(v, str) and v]
    if kept:  # add_related would leave an empty list behind otherwise
        add_related(event, kind, *kept)


def put_text(event: Event, path: str, value: Any) -> None:
    """Set ``path`` to a non-empty text value; other types are left out."""
    if isinstance(value, str) and value:
        set_field(event, path, value)


def put_number(event: Event, path: str, value: Any) -> None:
    """Set ``path`` to an integer (a digit string is converted); other types are left out."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        set_field(event, path, value)
    elif isinstance(value, str) and value.strip().isdecimal():
        set_field(event, path, int(value.strip()))


def without_nulls(value: Any) -> Any:
    """A copy of a JSON value with null members removed (as Elastic's pipelines do)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value
