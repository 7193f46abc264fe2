"""Numbers as Vietnamese users type and read them: 97,8 and 1.234, not 97.8 and 1,234."""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from typing import NamedTuple

from .text import clean

TYPED = "typed"  # a number typed as text, read unambiguously
AMBIGUOUS = "ambiguous"  # a number typed as text that has two readings

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?\d+[.,]\d+")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:([.,])\d{3})+")  # 1.234 / 1,234,567
_GROUPED_VN = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+")  # 1.234,5
_GROUPED_EN = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d+")  # 1,234.5
_SPACE_GROUPED = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:[.,]\d+)?")  # 1 234


class Reading(NamedTuple):  # a tuple: one is made for every cell read
    """A cell's value as a number, the text that is not one, or None when blank."""

    value: float | str | None
    note: str | None = None  # TYPED or AMBIGUOUS when the value came from text
    alternative: float | None = None  # the other reading of an ambiguous text


def interpret(raw: object, number_format: str = "General", percent: bool = False) -> Reading:
    """Read a cell the way the person who typed it meant it.

    Rates: 0.978 in a percent-formatted cell is 97.8 (what Excel shows), and
    "97,8%" is 97.8. "1.234" is a thousands-grouped 1234 for a count (said to
    be ambiguous) but 1.234 for a rate, which cannot exceed 100.
    """
    if raw is None:
        return Reading(None)
    if isinstance(raw, bool):
        return Reading("TRUE" if raw else "FALSE")  # as Excel shows it
    if isinstance(raw, (int, float)):
        value = float(raw)
        if not math.isfinite(value):
            return Reading(str(raw))
        if percent and _is_percent_format(number_format):
            value = round(value * 100, 10)
        # -0.0 becomes 0.0; any other float stays the very object read, so value and raw are one
        return Reading(0.0 if value == 0 and math.copysign(1.0, value) < 0 else value)
    if isinstance(raw, (dt.datetime, dt.date)):
        return Reading(f"{raw:%d/%m/%Y}")  # a date where a number belongs, shown as the unit sees it
    if isinstance(raw, dt.time):
        return Reading(f"{raw:%H:%M}")
    if not isinstance(raw, str):
        return Reading(str(raw))
    text = _SPACES.sub(" ", raw).strip()
    if not text:
        return Reading(None)
    if percent and text.endswith("%"):
        text = text[:-1].strip()
    if _SPACE_GROUPED.fullmatch(text):
        text = text.replace(" ", "")
    value, alternative = _number(text, percent)
    if value is None or not math.isfinite(value):  # 400 typed digits are text, not infinity
        return Reading(clean(raw))
    return Reading(value, AMBIGUOUS if alternative is not None else TYPED, alternative)


_QUOTED = re.compile(r'"[^"]*"|\\.')


@lru_cache(maxsize=256)
def _is_percent_format(number_format: str | None) -> bool:
    """A format that shows the value ×100 with "%": not one where "%" is quoted or escaped text."""
    return "%" in _QUOTED.sub("", number_format or "")


def _number(text: str, percent: bool) -> tuple[float | None, float | None]:
    if _INT.fullmatch(text):
        return float(text), None
    if _GROUPED_VN.fullmatch(text):
        return float(text.replace(".", "").replace(",", ".")), None
    if _GROUPED_EN.fullmatch(text):
        return float(text.replace(",", "")), None
    m = _GROUPED.fullmatch(text)
    if m and not text.lstrip("+-").startswith("0"):  # "0,500" cannot be a thousands group
        grouped = float(re.sub(r"[.,]", "", text))
        if text.count(m[1]) > 1:
            return grouped, None
        decimal = float(text.replace(",", "."))
        # one group of three digits: 1.234 is 1234 or 1,234
        return (decimal, None) if percent else (grouped, decimal)
    if _DECIMAL.fullmatch(text):
        return float(text.replace(",", ".")), None
    return None, None


def format_number(value: object, decimals: int = 2) -> str:
    if value is None:
        return "(trống)"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"“{value}”"
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


# "5 người": a number a unit typed with its unit word. Still an error (a figure must be typed as a
# number, and text stays out of the totals), but the rules that tie figures together are checked with
# the number meant, so a broken Tổng số is said in the same round as the typing, not after its fix.
_WITH_UNIT = re.compile(r"([+-]?\d[\d.,]*)\s*([^\W\d_][^\W\d_ .]*(?:[ .]+[^\W\d_][^\W\d_ .]*)*)\.?")


def number_with_unit(text: object) -> float | None:
    """The number of a text that is a number followed by a word ("5 người", "3 máy", "02 cán bộ"); None for
    any other text, for a number that has two readings ("1.234 người") and for anything but text."""
    if not isinstance(text, str):
        return None
    m = _WITH_UNIT.fullmatch(_SPACES.sub(" ", text).strip())
    if m is None:
        return None
    value, alternative = _number(m.group(1), percent=False)
    if value is None or alternative is not None or not math.isfinite(value):
        return None
    return value
