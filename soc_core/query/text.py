"""Word splitting for full-text search on ``message``, shared by every store.

Free text searches the event's ``message``; a parsed event that keeps none (several
parsers move the message into fields) is searched on its ``event.original`` instead, so the
line an event came from always finds it (Filebeat keeps ``message`` for the same reason).
An original that is a JSON document (a Windows event record, a JSON log) is not free text:
its values are the event's fields, searched by field; indexing its whole text too would
make writing Windows events three times slower for words nobody types.

It mirrors SQLite FTS5's ``unicode61`` tokenizer with ``remove_diacritics 2``: words are
runs of letters and digits, compared case- and accent-insensitively (so Vietnamese text
can be searched with or without its marks).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

_WORD = re.compile(r"[^\W_]+")


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding one character at a time, filled on first sight."""

    MAX_ENTRIES = 65536  # hostile input could name every code point: start afresh past this

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code).lower())
        # đ (U+0111) is a letter of its own, not d with a mark: NFKD leaves it, so fold it by name.
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")
        if len(self) >= self.MAX_ENTRIES:
            self.clear()
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lower-case and strip accents (NFKD, combining marks dropped), character by character."""
    if text.isascii():  # most log text: nothing to decompose
        return text.lower()
    return text.translate(_FOLD)


# ASCII text: every character that is not a letter or digit separates words (the same
# words as _WORD finds, split in C: twice as fast on long originals).
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def words(text: str) -> list[str]:
    """The searchable words of a text, folded."""
    folded = fold(text)
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _WORD.findall(folded)


def searchable_text(event: Mapping[str, Any]) -> str | None:
    """The text free-text search looks at: ``message``, else ``event.original``."""
    message = event.get("message")
    if isinstance(message, str):
        return message
    meta = event.get("event")
    original = meta.get("original") if isinstance(meta, Mapping) else None
    if not isinstance(original, str) or original.lstrip()[:1] in ("{", "["):
        return None
    return original


def fts_text(event: Mapping[str, Any]) -> str | None:
    """:func:`searchable_text` for SQLite FTS5's ``unicode61 remove_diacritics 2``
    tokenizer, which folds case and marks itself (in C) but not ``đ``/``Đ``: those are
    folded here, so its words are the words of :func:`words`."""
    text = searchable_text(event)
    return None if text is None else text.replace("đ", "d").replace("Đ", "D")


def searchable_words(event: Mapping[str, Any]) -> str | None:
    """The folded words of :func:`searchable_text`, space-joined (what the stores index)."""
    text = searchable_text(event)
    return None if text is None else " ".join(words(text))
