"""Vietnamese text typed in the 8-bit encodings that predate Unicode: TCVN3 (ABC) and VNI.

Old government workbooks set in ``.VnTime`` (TCVN3) or ``VNI-Times`` fonts
store each byte as the Windows character of the same code, so "Phước" reads
"Ph­íc" (TCVN3) or "Phöôùc" (VNI). The tables below are built from the
encodings' layout: for each vowel, its code with no tone, then sắc, huyền,
hỏi, ngã, nặng.
"""

from __future__ import annotations

import re
import unicodedata

TONE_MARKS = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")  # none, sắc, huyền, hỏi, ngã, nặng


def _compose(base: str, tone: int) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", base) + TONE_MARKS[tone])


# TCVN3: one byte per letter (lower case; capitals with tones need the .VnTimeH font,
# which uses these same codes).
_TCVN3_VOWELS = {
    "a": (None, 0xB8, 0xB5, 0xB6, 0xB7, 0xB9),
    "â": (0xA9, 0xCA, 0xC7, 0xC8, 0xC9, 0xCB),
    "ă": (0xA8, 0xBE, 0xBB, 0xBC, 0xBD, 0xC6),
    "e": (None, 0xD0, 0xCC, 0xCE, 0xCF, 0xD1),
    "ê": (0xAA, 0xD5, 0xD2, 0xD3, 0xD4, 0xD6),
    "o": (None, 0xE3, 0xDF, 0xE1, 0xE2, 0xE4),
    "ô": (0xAB, 0xE8, 0xE5, 0xE6, 0xE7, 0xE9),
    "ơ": (0xAC, 0xED, 0xEA, 0xEB, 0xEC, 0xEE),
    "u": (None, 0xF3, 0xEF, 0xF1, 0xF2, 0xF4),
    "ư": (0xAD, 0xF8, 0xF5, 0xF6, 0xF7, 0xF9),
    "i": (None, 0xDD, 0xD7, 0xD8, 0xDC, 0xDE),
    "y": (None, 0xFD, 0xFA, 0xFB, 0xFC, 0xFE),
}
TCVN3: dict[str, str] = {
    chr(code): _compose(base, tone)
    for base, codes in _TCVN3_VOWELS.items()
    for tone, code in enumerate(codes)
    if code is not None
}
TCVN3.update({"\xae": "đ", "\xa1": "Ă", "\xa2": "Â", "\xa3": "Ê", "\xa4": "Ô", "\xa5": "Ơ", "\xa6": "Ư", "\xa7": "Đ"})

# VNI: a base letter followed by a mark byte; a few letters are one byte.
_VNI_TONES = ("ù", "ø", "û", "õ", "ï")  # sắc, huyền, hỏi, ngã, nặng after a vowel
_VNI_HAT = ("â", "á", "à", "å", "ã", "ä")  # ^ with no tone, then each tone
_VNI_BREVE = ("ê", "é", "è", "ú", "ü", "ë")  # ˘ with no tone, then each tone


def _vni_table() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(code: str, base: str, tone: int) -> None:
        table[code] = _compose(base, tone)
        table[code.upper()] = _compose(base.upper(), tone)

    for vowel in ("a", "e", "o", "u", "y"):
        for tone, mark in enumerate(_VNI_TONES, start=1):
            add(vowel + mark, vowel, tone)
    for vowel, hat in (("a", "â"), ("e", "ê"), ("o", "ô")):
        for tone, mark in enumerate(_VNI_HAT):
            add(vowel + mark, hat, tone)
    for tone, mark in enumerate(_VNI_BREVE):
        add("a" + mark, "ă", tone)
    for code, base in (("ô", "ơ"), ("ö", "ư")):
        add(code, base, 0)
        for tone, mark in enumerate(_VNI_TONES, start=1):
            add(code + mark, base, tone)
    for tone, code in enumerate(("í", "ì", "æ", "ó", "ò"), start=1):
        add(code, "i", tone)
    add("î", "y", 5)  # ỵ
    add("ñ", "đ", 0)
    return table


VNI = _vni_table()
_VNI_PATTERN = re.compile("|".join(sorted(map(re.escape, VNI), key=len, reverse=True)))

ENCODING_NAMES = {"tcvn3": "TCVN3 (ABC, phông .VnTime)", "vni": "VNI (phông VNI-Times)"}


def decode(text: str, encoding: str) -> str:
    """Text typed in a legacy encoding, as Unicode NFC."""
    if encoding == "tcvn3":
        return "".join(TCVN3.get(ch, ch) for ch in text)
    if encoding == "vni":
        return _VNI_PATTERN.sub(lambda m: VNI[m[0]], text)
    raise ValueError(encoding)


def looks_legacy(text: str) -> bool:
    """Text with Latin-1 letters but none of Unicode Vietnamese's own (ơ, ư, ạ, …)."""
    has_latin1 = any("\xa0" < ch <= "\xff" for ch in text)
    has_vietnamese = any(ord(ch) > 0xFF and unicodedata.category(ch).startswith("L") for ch in text)
    return has_latin1 and not has_vietnamese
