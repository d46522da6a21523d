"""``key=value`` and CSV helpers for vendor parsers (FortiGate, iptables, Sophos, PAN-OS...).

Both are single regex / C-level passes per line: :func:`parse_kv` uses one compiled
``finditer`` (the regex built once per option set), :func:`parse_csv` uses the ``csv``
module on one line. Neither raises on malformed input: a value that never closes its
quote runs to the end of the line, and what cannot be read as a pair is skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["csv_fields", "parse_csv", "parse_kv", "unescape_backslashes"]


@lru_cache(maxsize=64)
def _kv_regex(kv_sep: str, pair_sep: str, quotes: str, key_chars: str) -> re.Pattern[str]:
    key = f"[{key_chars}]+" if key_chars else rf"[^{re.escape(kv_sep)}{pair_sep}\"']+"
    # A quoted value: runs of plain characters and backslash escapes, written "unrolled"
    # (plain* (escape plain*)*), which matches the same text as (plain|escape)* at twice
    # the speed in Python's backtracking engine.
    alternatives = [
        rf"{re.escape(q)}([^{re.escape(q)}\\]*(?:\\.[^{re.escape(q)}\\]*)*)(?:{re.escape(q)}|$)"
        for q in quotes
    ]
    # An unquoted value runs to the next pair separator.
    alternatives.append(rf"([^{pair_sep}]*)")
    return re.compile(rf"({key}){re.escape(kv_sep)}(?:{'|'.join(alternatives)})", re.S)


@lru_cache(maxsize=64)
def _key_may_hold_space(kv_sep: str, pair_sep: str, key_chars: str) -> bool:
    """Whether a key matched for this option set can contain whitespace: when it cannot,
    the ``strip()`` of every key is a no-op that the hot path skips."""
    key = re.compile(f"[{key_chars}]" if key_chars else rf"[^{re.escape(kv_sep)}{pair_sep}\"']")
    return any(key.match(chr(c)) for c in range(0x3001) if chr(c).isspace())


def parse_kv(
    text: str,
    *,
    kv_sep: str = "=",
    pair_sep: str = r"\s",
    quotes: str = "\"'",
    key_chars: str = "",
    keep_empty: bool = False,
    lowercase_keys: bool = False,
    unescape: bool = True,
) -> dict[str, str]:
    """Read ``k1=v1 k2="quoted value" k3='x'`` into a dict (the first of a repeated key wins).

    ``pair_sep`` is a regex character-class body (``\\s`` by default, ``,\\s`` for
    comma-separated pairs); ``key_chars`` restricts key characters the same way. Quoted
    values may contain escaped quotes (``\\"``), which are unescaped when ``unescape``.
    """
    # findall gives one tuple per pair: (key, one group per quote char, unquoted value);
    # groups that did not take part are "", so the value is the first non-empty one, and
    # a non-empty value from a quote group is a quoted one (the only kind unescaped).
    pairs = _kv_regex(kv_sep, pair_sep, quotes, key_chars).findall(text)
    strip = _key_may_hold_space(kv_sep, pair_sep, key_chars)
    unescape = unescape and "\\" in text
    if len(quotes) == 1 and keep_empty and not (strip or unescape or lowercase_keys):
        # The common case (every firewall parser): one comprehension, C speed. It keeps
        # the last of a repeated key, so fall back to the loop below when keys repeat.
        out: dict[str, str] = {key: quoted or bare for key, quoted, bare in pairs}
        if len(out) == len(pairs):
            return out
    out = {}
    for key, *values in pairs:
        value = next((v for v in values if v), "")
        if unescape and value and not values[-1] and "\\" in value:
            value = unescape_backslashes(value)
        if not value and not keep_empty:
            continue
        if strip:
            key = key.strip()
        if lowercase_keys:
            key = key.lower()
        out.setdefault(key, value)
    return out


_BACKSLASH = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def unescape_backslashes(value: str) -> str:
    """``\\"`` -> ``"``, ``\\\\`` -> ``\\``, ``\\n`` -> newline (and ``\\r``, ``\\t``)."""
    return _BACKSLASH.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def parse_csv(text: str, delimiter: str = ",", quotechar: str = '"') -> list[str]:
    """One CSV record (RFC 4180 quoting, ``""`` inside quotes) as a list of strings."""
    try:
        return next(csv.reader([text], delimiter=delimiter, quotechar=quotechar, strict=False), [])
    except csv.Error:
        # csv only refuses NUL bytes and similar; fall back to a plain split, never raise.
        return text.split(delimiter)


def csv_fields(
    text: str,
    names: Sequence[str | None],
    delimiter: str = ",",
    quotechar: str = '"',
    keep_empty: bool = False,
) -> dict[str, str]:
    """One CSV record as ``{name: value}`` for the given column names (``None`` skips a column).

    Extra columns are ignored; missing ones are absent from the result.
    """
    values = parse_csv(text, delimiter, quotechar)
    return {
        name: value
        for name, value in zip(names, values, strict=False)
        if name is not None and (keep_empty or value != "")
    }
