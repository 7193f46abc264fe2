"""Vietnamese text handling: one normal form for display, one key for matching; text a spreadsheet cannot run."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
# Old vs new tone placement differs only in oa, oe, uy ("Hoà"/"Hòa"): in NFD
# move a tone that follows the second vowel back onto the first one.
_NEW_STYLE_TONE = re.compile(rf"([oOuU])([aAeEyY])([{_TONES}])")


@lru_cache(maxsize=1 << 16, typed=True)  # typed: True, 1 and 1.0 are one key otherwise
def clean(value: object) -> str:
    """NFC text with runs of whitespace (line breaks in merged headers too) made one space
    (cached: every submission repeats the template's labels)."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=1 << 16)
def unit_key(value: object) -> str:
    """Key under which two spellings of the same unit name compare equal.

    Keeps the diacritics (Phước Hòa and Phước Hóa are different places) but
    ignores Unicode form, case, spacing and old/new tone placement.
    """
    text = unicodedata.normalize("NFD", clean(value)).casefold()
    text = _NEW_STYLE_TONE.sub(r"\1\3\2", text)
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=1 << 16)
def fold(value: object) -> str:
    """Accent-, case- and whitespace-insensitive key for header labels (cached: every
    submission repeats the same labels)."""
    text = unicodedata.normalize("NFD", clean(value).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d")
    text = re.sub(r"[^\w%]+", " ", text)
    return _SPACES.sub(" ", text).strip()


# A cell starting with one of these is a formula to Excel and LibreOffice ("=HYPERLINK(…)" in a
# unit's name would run when a CSV is opened); tab and carriage return start one too in some
# versions. Every CSV the tool writes guards its text with ``excel_safe`` (OWASP CSV injection advice).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(text: str) -> str:
    """Text that Excel shows as typed: a leading ' makes "=1+2" or "@SUM(…)" a label, not a formula.

    >>> excel_safe("=HYPERLINK(\\"http://x\\")"), excel_safe("Xã Phước Hòa"), excel_safe("-1")
    ('\\'=HYPERLINK("http://x")', 'Xã Phước Hòa', "'-1")
    """
    return "'" + text if text.startswith(FORMULA_START) else text
