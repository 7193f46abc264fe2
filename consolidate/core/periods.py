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


# A period in words, as people say it --------------------------------------------------------------
#
# The codes are for programs (DHIS2, the history, --json); a page, a chart or the terminal says
# "6 tháng cuối năm 2024", not "2024S2". Every DHIS2 fixed-period type has its words, so a period
# named in the settings or found in a province's history never shows as a code.

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_WEEK_STARTS = {"Wed": "thứ Tư", "Thu": "thứ Năm", "Sat": "thứ Bảy", "Sun": "Chủ nhật"}
_FINANCIAL_MONTHS = {"April": 4, "July": 7, "Oct": 10}
_NAMED = (  # (pattern, function of the match's groups → words), most common first
    (re.compile(r"(\d{4})S([12])", re.IGNORECASE),  # the settings accept "2024s1" too
     lambda y, n: f"6 tháng {'đầu' if n == '1' else 'cuối'} năm {y}"),
    (re.compile(r"(\d{4})Q([1-4])", re.IGNORECASE), lambda y, n: f"Quý {_ROMAN[int(n)]} năm {y}"),
    (re.compile(r"(\d{4})(0[1-9]|1[0-2])"), lambda y, m: f"Tháng {int(m)} năm {y}"),
    (re.compile(r"(\d{4})"), lambda y: f"Năm {y}"),
    (re.compile(r"(\d{4})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"), lambda y, m, d: f"Ngày {int(d)}/{int(m)}/{y}"),
    (re.compile(r"(\d{4})W(\d{1,2})"), lambda y, w: f"Tuần {int(w)} năm {y}"),
    (re.compile(r"(\d{4})(Wed|Thu|Sat|Sun)W(\d{1,2})"),
     lambda y, day, w: f"Tuần {int(w)} năm {y} (tuần bắt đầu từ {_WEEK_STARTS[day]})"),
    (re.compile(r"(\d{4})BiW(\d{1,2})"), lambda y, n: f"Tuần {2 * int(n) - 1} và {2 * int(n)} năm {y}"),
    (re.compile(r"(\d{4})(0[1-6])B"),
     lambda y, n: f"Tháng {2 * int(n) - 1} và tháng {2 * int(n)} năm {y}"),
    (re.compile(r"(\d{4})AprilS([12])"),
     lambda y, n: f"6 tháng từ tháng 4 đến tháng 9 năm {y}" if n == "1"
     else f"6 tháng từ tháng 10/{y} đến tháng 3/{int(y) + 1}"),
    (re.compile(r"(\d{4})NovS([12])"), lambda y, n: f"6 tháng {'thứ nhất' if n == '1' else 'thứ hai'} "
                                                    f"năm {y} (kỳ 6 tháng tính từ tháng 11)"),
    (re.compile(r"(\d{4})(April|July|Oct)"),
     lambda y, start: f"Năm tài chính từ tháng {_FINANCIAL_MONTHS[start]}/{y} "
                      f"đến tháng {_FINANCIAL_MONTHS[start] - 1}/{int(y) + 1}"),
    (re.compile(r"(\d{4})Nov"), lambda y: f"Năm tài chính {y} (năm tài chính tính từ tháng 11)"),
)


def period_name(code: str) -> str:
    """A DHIS2 period code in Vietnamese words: "2024S2" → "6 tháng cuối năm 2024", "2024Q3" → "Quý III
    năm 2024", "202408" → "Tháng 8 năm 2024", "2024" → "Năm 2024"; any other fixed-period type of DHIS2
    in words too. A text that is no period code comes back as it is (a store may hold anything)."""
    text = code.strip() if isinstance(code, str) else str(code)
    for pattern, words in _NAMED:
        m = pattern.fullmatch(text)
        if m is not None:
            return words(*m.groups())
    return text
