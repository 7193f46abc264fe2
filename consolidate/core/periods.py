"""Reporting periods named by DHIS2's period codes: which codes are valid, their order, and a report's default.

A province that sends its figures on to DHIS2 names a period as DHIS2 does, so the history's
period column needs no translation on the way out:

>>> parse_period("2024S1")
Period(code='2024S1', start=datetime.date(2024, 1, 1), end=datetime.date(2024, 6, 30))
>>> [p for p in sorted_periods(["2024S2", "2024", "202408", "2024Q3", "2023S2"])]
['2023S2', '2024', '2024S2', '2024Q3', '202408']

The standard library only: the settings (which validate the key) and the history (which sorts the
stored periods and finds the one before) both use it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Iterable, NamedTuple

from .registry import ReportSettings

# The codes a report may be named by (DHIS2 calls them period types): yearly, six-monthly, quarterly, monthly.
_PATTERNS = (
    (re.compile(r"(\d{4})"), "year"),
    (re.compile(r"(\d{4})S([12])"), "half"),
    (re.compile(r"(\d{4})Q([1-4])"), "quarter"),
    (re.compile(r"(\d{4})(0[1-9]|1[0-2])"), "month"),
)
EXAMPLES = "2024 (năm), 2024S1 hoặc 2024S2 (6 tháng), 2024Q3 (quý), 202408 (tháng)"


class Period(NamedTuple):
    code: str
    start: dt.date
    end: dt.date


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse_period(code: str) -> Period | None:
    """The period a DHIS2 code names, or None when it is not one of the four kinds a report uses."""
    text = code.strip().upper() if isinstance(code, str) else ""
    for pattern, kind in _PATTERNS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        year = int(m.group(1))
        if not 1900 <= year <= 2999:
            return None
        if kind == "year":
            first, last = 1, 12
        elif kind == "half":
            first = 1 + 6 * (int(m.group(2)) - 1)
            last = first + 5
        elif kind == "quarter":
            first = 1 + 3 * (int(m.group(2)) - 1)
            last = first + 2
        else:
            first = last = int(m.group(2))
        return Period(text, dt.date(year, first, 1), _last_day(year, last))
    return None


def period_key(code: str) -> tuple:
    """Chronological order: by start, then the longer period first (2024 before 2024S1 before 202401);
    codes that are not periods go last, by text."""
    p = parse_period(code)
    if p is None:
        return (dt.date.max, 0, code)
    return (p.start, -(p.end - p.start).days, code)


def sorted_periods(codes: Iterable[str]) -> list[str]:
    return sorted(set(codes), key=period_key)


def previous_period(code: str, stored: Iterable[str]) -> str | None:
    """The stored period the figures of ``code`` are compared with: the latest one that ended before
    ``code`` began, preferring one of the same length (a half-year is compared with a half-year)."""
    current = parse_period(code)
    if current is None:
        return None
    before = [p for p in (parse_period(s) for s in stored) if p is not None and p.end < current.start]
    if not before:
        return None
    length = (current.end - current.start).days
    alike = [p for p in before if abs((p.end - p.start).days - length) <= 3]
    return max(alike or before, key=lambda p: (p.end, p.start)).code


_DATE = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})(?:\s*/\s*(\d{4}))?")


def default_period(settings: ReportSettings) -> str:
    """The half-year a report is about when its settings do not name the period.

    The rule: the six months in which the report's period ends, read from the last date written in
    the Biểu mẫu 2 period (``form2.period_after``, e.g. "Từ 01/5 – 25/7/2024" → 25 July 2024 → 2024S2),
    the year taken from ``year`` when that date has none; when no date can be read there, the six
    months of ``report_date``. Half-years because the province collects this report every six months.
    """
    end = None
    for m in _DATE.finditer(settings.period_after or ""):
        day, month = int(m.group(1)), int(m.group(2))
        year = int(m.group(3)) if m.group(3) else settings.year
        try:
            end = dt.date(year, month, day)
        except ValueError:
            continue
    if end is None:
        end = settings.report_date
    return f"{end.year}S{1 if end.month <= 6 else 2}"


def report_period(settings: ReportSettings) -> str:
    """The period this report's figures are recorded under: the settings' ``period``, else the default."""
    return settings.period or default_period(settings)
