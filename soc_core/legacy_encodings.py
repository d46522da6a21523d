"""Legacy Vietnamese encodings for sources that still write them (older Windows
applications, ABC/VNI-font era systems): decoding by a source-configured encoding.

Python ships ``cp1258`` (Windows Vietnamese) but none of these, so they are built here
from the published tables:

* ``viscii``: VISCII 1.1 (RFC 1456), one byte per character, all 134 precomposed letters.
  The table is glibc's ``VISCII`` charmap, which is RFC 1456's.
* ``tcvn3`` (also ``abc``): TCVN 5712:1993 VN3, the encoding of the ABC fonts. Bytes
  0x80-0xFF as in glibc's ``TCVN5712-1`` charmap (VN1, of which VN3 is the subset without
  the capitals that VN1 puts in the C0 range), ASCII below: a log line's control bytes stay
  control bytes. The ABC fonts drew capitals with separate fonts over the same codes, so a
  capital with a tone mark arrives as its small letter: that is the text as stored.
* ``vni``: VNI Windows, two bytes for most letters: the base letter, then a mark byte
  drawn from the Latin-1 range (``Vieät`` is ``Việt``). Built from the Unicode
  decomposition of each Vietnamese letter and the VNI mark of each diacritic.

``decode(data, encoding)`` accepts these names and any codec Python knows (``cp1258``,
``utf-16``...); bytes a table does not define become U+FFFD, and the caller keeps the exact
bytes (``event.original_base64``).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from typing import Final

from soc_core.event import RawEvent

_VISCII_TABLE: Final = (
    "\x00\x01\u1eb2\x03\x04\u1eb4\u1eaa\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
    "\x10\x11\x12\x13\u1ef6\x15\x16\x17\x18\u1ef8\x1a\x1b\x1c\x1d\u1ef4\x1f"
    " !\x22#$%&'()*+,-./"
    "0123456789:;<=>?"
    "@ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZ[\x5c]^_"
    "`abcdefghijklmno"
    "pqrstuvwxyz{|}~\x7f"
    "\u1ea0\u1eae\u1eb0\u1eb6\u1ea4\u1ea6\u1ea8\u1eac\u1ebc\u1eb8\u1ebe\u1ec0\u1ec2\u1ec4\u1ec6\u1ed0"
    "\u1ed2\u1ed4\u1ed6\u1ed8\u1ee2\u1eda\u1edc\u1ede\u1eca\u1ece\u1ecc\u1ec8\u1ee6\u0168\u1ee4\u1ef2"
    "\xd5\u1eaf\u1eb1\u1eb7\u1ea5\u1ea7\u1ea9\u1ead\u1ebd\u1eb9\u1ebf\u1ec1\u1ec3\u1ec5\u1ec7\u1ed1"
    "\u1ed3\u1ed5\u1ed7\u1ee0\u01a0\u1ed9\u1edd\u1edf\u1ecb\u1ef0\u1ee8\u1eea\u1eec\u01a1\u1edb\u01af"
    "\xc0\xc1\xc2\xc3\u1ea2\u0102\u1eb3\u1eb5\xc8\xc9\xca\u1eba\xcc\xcd\u0128\u1ef3"
    "\u0110\u1ee9\xd2\xd3\xd4\u1ea1\u1ef7\u1eeb\u1eed\xd9\xda\u1ef9\u1ef5\xdd\u1ee1\u01b0"
    "\xe0\xe1\xe2\xe3\u1ea3\u0103\u1eef\u1eab\xe8\xe9\xea\u1ebb\xec\xed\u0129\u1ec9"
    "\u0111\u1ef1\xf2\xf3\xf4\xf5\u1ecf\u1ecd\u1ee5\xf9\xfa\u0169\u1ee7\xfd\u1ee3\u1eee"
)
_TCVN3_TABLE: Final = (
    "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
    "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
    " !\x22#$%&'()*+,-./"
    "0123456789:;<=>?"
    "@ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZ[\x5c]^_"
    "`abcdefghijklmno"
    "pqrstuvwxyz{|}~\x7f"
    "\xc0\u1ea2\xc3\xc1\u1ea0\u1eb6\u1eac\xc8\u1eba\u1ebc\xc9\u1eb8\u1ec6\xcc\u1ec8\u0128"
    "\xcd\u1eca\xd2\u1ece\xd5\xd3\u1ecc\u1ed8\u1edc\u1ede\u1ee0\u1eda\u1ee2\xd9\u1ee6\u0168"
    "\xa0\u0102\xc2\xca\xd4\u01a0\u01af\u0110\u0103\xe2\xea\xf4\u01a1\u01b0\u0111\u1eb0"
    "\u0300\u0309\u0303\u0301\u0323\xe0\u1ea3\xe3\xe1\u1ea1\u1eb2\u1eb1\u1eb3\u1eb5\u1eaf\u1eb4"
    "\u1eae\u1ea6\u1ea8\u1eaa\u1ea4\u1ec0\u1eb7\u1ea7\u1ea9\u1eab\u1ea5\u1ead\xe8\u1ec2\u1ebb\u1ebd"
    "\xe9\u1eb9\u1ec1\u1ec3\u1ec5\u1ebf\u1ec7\xec\u1ec9\u1ec4\u1ebe\u1ed2\u0129\xed\u1ecb\xf2"
    "\u1ed4\u1ecf\xf5\xf3\u1ecd\u1ed3\u1ed5\u1ed7\u1ed1\u1ed9\u1edd\u1edf\u1ee1\u1edb\u1ee3\xf9"
    "\u1ed6\u1ee7\u0169\xfa\u1ee5\u1eeb\u1eed\u1eef\u1ee9\u1ef1\u1ef3\u1ef7\u1ef9\xfd\u1ef5\u1ed0"
)

ALIASES: Final = {"viscii": "viscii", "viscii1.1": "viscii", "tcvn3": "tcvn3", "abc": "tcvn3",
                  "tcvn5712-3": "tcvn3", "vn3": "tcvn3", "vni": "vni", "vni-windows": "vni"}

# VNI Windows: the mark byte (as its Latin-1 character) for each tone, after a plain vowel
# or one with a horn (ơ, ư are written ô, ö), and after a circumflex or breve vowel, which
# take one byte for the modifier and the tone together. Small letters take small marks.
_TONES: Final = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")  # none, sắc, huyền, hỏi, ngã, nặng
_VNI_TONE: Final = ("", "ù", "ø", "û", "õ", "ï")
_VNI_CIRCUMFLEX: Final = ("â", "á", "à", "å", "ã", "ä")
_VNI_BREVE: Final = ("ê", "é", "è", "ú", "ü", "ë")
# The letters VNI writes as one byte: i with tones, ỵ, đ, and the horn letters.
_VNI_SINGLE: Final = {"í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î", "đ": "ñ", "ơ": "ô", "ư": "ö"}


def _vni_sequences() -> dict[str, str]:
    """VNI text (as Latin-1 characters) -> the Vietnamese letter, small and capital."""
    out: dict[str, str] = {}
    for base in "aeiouy":
        modifiers: list[tuple[str, tuple[str, ...] | None]] = [("", None)]
        if base in "aeo":
            modifiers.append(("\u0302", _VNI_CIRCUMFLEX))
        if base == "a":
            modifiers.append(("\u0306", _VNI_BREVE))
        if base in "ou":
            modifiers.append(("\u031b", None))
        for modifier, combined in modifiers:
            for tone_index, tone in enumerate(_TONES):
                letter = unicodedata.normalize("NFC", base + modifier + tone)
                if len(letter) != 1 or (not modifier and not tone):
                    continue
                if letter in _VNI_SINGLE:
                    text = _VNI_SINGLE[letter]
                elif combined is not None:
                    text = base + combined[tone_index]
                elif modifier:  # horn: ô/ö then the tone mark
                    text = _VNI_SINGLE[unicodedata.normalize("NFC", base + modifier)] + _VNI_TONE[tone_index]
                elif base == "i":
                    continue  # í ì are themselves; ỉ ĩ ị are in _VNI_SINGLE
                else:
                    text = base + _VNI_TONE[tone_index]
                out[text] = letter
                out[text.upper()] = letter.upper()
    for letter in ("đ", "ơ", "ư", "ỉ", "ĩ", "ị", "ỵ"):
        out[_VNI_SINGLE[letter]] = letter
        out[_VNI_SINGLE[letter].upper()] = letter.upper()
    return out


@lru_cache(maxsize=1)
def _vni() -> tuple[re.Pattern[str], dict[str, str]]:
    table = _vni_sequences()
    # Longest first: "ôù" (ớ) before "ô" (ơ).
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return pattern, table


def _decode_vni(data: bytes) -> str:
    pattern, table = _vni()
    return pattern.sub(lambda m: table[m.group(0)], data.decode("latin-1"))


def canonical(encoding: str) -> str:
    """The encoding's canonical name; ``ValueError`` when neither this module nor Python
    knows it (said at configuration time, not at the first event)."""
    name = encoding.strip().lower()
    if name in ALIASES:
        return ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        known = ", ".join(sorted(set(ALIASES.values())))
        raise ValueError(f"unknown encoding {encoding!r} (legacy Vietnamese: {known}; or any Python codec)") from None


def decode(data: bytes, encoding: str) -> str:
    """Decode ``data`` from ``encoding`` (see the module docstring)."""
    name = canonical(encoding)
    if name == "viscii":
        return codecs.charmap_decode(data, "replace", _VISCII_TABLE)[0]
    if name == "tcvn3":
        return codecs.charmap_decode(data, "replace", _TCVN3_TABLE)[0]
    if name == "vni":
        return _decode_vni(data)
    return data.decode(name, errors="replace")


ENCODING_KEY: Final = "encoding"  # RawEvent.extra key: the source's configured encoding


def with_encoding(raw: RawEvent, encoding: str) -> RawEvent:
    """``raw`` read in its source's configured encoding: the text decoded from it (the
    bytes stay as they came: ``new_event`` keeps them as ``event.original_base64``).
    UTF-8 is the default reading and changes nothing."""
    name = canonical(encoding)
    if name == "utf-8":
        return raw
    return replace(raw, _text=decode(raw.data, name), decode_error=None, extra={**raw.extra, ENCODING_KEY: name})


def as_configured(raw: RawEvent) -> RawEvent:
    """``raw`` read in the encoding its receiver was configured with (``extra``'s
    :data:`ENCODING_KEY`, kept through the durable queue), or as it is."""
    encoding = raw.extra.get(ENCODING_KEY) if raw.extra else None
    return with_encoding(raw, str(encoding)) if encoding else raw
