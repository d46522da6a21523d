"""Word splitting for full-text search on ``message``, shared by every store.

It mirrors SQLite FTS5's ``unicode61`` tokenizer with ``remove_diacritics 2``: words are
runs of letters and digits, compared case- and accent-insensitively (so Vietnamese text
can be searched with or without its marks).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case and strip accents (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("đ", "d")


def words(text: str) -> list[str]:
    """The searchable words of a text, folded."""
    return _WORD.findall(fold(text))
