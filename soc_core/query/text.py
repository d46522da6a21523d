"""Word splitting for full-text search on ``message``, shared by every store.

Free text searches the event's ``message``; a parsed event that keeps none (several
parsers move the message into fields) is searched on its ``event.original`` instead, so the
line an event came from always finds it (Filebeat keeps ``message`` for the same reason).

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


def fold(text: str) -> str:
    """Lower-case and strip accents (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    # đ (U+0111) is a letter of its own, not d with a mark: NFKD leaves it, so fold it by name.
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")


def words(text: str) -> list[str]:
    """The searchable words of a text, folded."""
    return _WORD.findall(fold(text))


def searchable_text(event: Mapping[str, Any]) -> str | None:
    """The text free-text search looks at: ``message``, else ``event.original``."""
    message = event.get("message")
    if isinstance(message, str):
        return message
    meta = event.get("event")
    original = meta.get("original") if isinstance(meta, Mapping) else None
    return original if isinstance(original, str) else None


def searchable_words(event: Mapping[str, Any]) -> str | None:
    """The folded words of :func:`searchable_text`, space-joined (what the stores index)."""
    text = searchable_text(event)
    return None if text is None else " ".join(words(text))
