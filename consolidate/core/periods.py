"""Reporting periods named by DHIS2's period codes: which codes are valid, their dates, their order, a report's default.

The one module that knows period codes (settings, history, exports and the CLI ask it). A province
that sends its figures on to DHIS2 names a period as DHIS2 does, so the history's period column needs
no translation on the way out:

>>> parse_period("2024S1")
Period(code='2024S1', start=datetime.date(2024, 1, 1), end=datetime.date(2024, 6, 30))
>>> [p for p in sorted_periods(["2024S2", "2024", "202408", "2024Q3", "2023S2"])]
['2023S2', '2024', '2024S2', '2024Q3', '202408']

DHIS2 also reads a month or a day written with dashes (``PeriodTypeEnum.ofIsoPeriod`` in dhis2-core:
"2024-08", "2024-08-15"); they are stored in the plain form, so one period has one code:

>>> canonical_period("2024-08"), canonical_period("2024-08-15"), canonical_period("2024s2"), canonical_period("2024July")
('202408', '20240815', '2024S2', '2024July')
>>> [is_dhis2_period(p) for p in ("2024S1", "2024Q3", "202408", "2024", "2024W10", "20240315", "2024Sep", "2024NovQ1")]
[True, True, True, True, True, True, True, True]
>>> [is_dhis2_period(p) for p in ("2024S3", "2024Q5", "202413", "2024-13", "S1 2024", "20240230")]
[False, False, False, False, False, False]

The standard library only.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Iterable, NamedTuple

from .registry import ReportSettings

_MONTH = r"(0[1-9]|1[0-2])"
_WEEK = r"([1-9]|[1-4][0-9]|5[0-3])"
# Every fixed period type DHIS2 imports (dhis2-core PeriodTypeEnum), one pattern each, in its documentation's
# order; a daily code must also be a real day (checked below).
PERIOD_PATTERNS: dict[str, str] = {
    "Daily": r"\d{4}" + _MONTH + r"\d{2}",  # 20240315
    "Weekly": r"\d{4}W" + _WEEK,  # 2024W10
    "WeeklyWednesday": r"\d{4}WedW" + _WEEK,  # 2024WedW5
    "WeeklyThursday": r"\d{4}ThuW" + _WEEK,  # 2024ThuW6
    "WeeklySaturday": r"\d{4}SatW" + _WEEK,  # 2024SatW7
    "WeeklySunday": r"\d{4}SunW" + _WEEK,  # 2024SunW8
    "BiWeekly": r"\d{4}BiW([1-9]|1[0-9]|2[0-7])",  # 2024BiW1
    "Monthly": r"\d{4}" + _MONTH,  # 202408
    "BiMonthly": r"\d{4}0[1-6]B",  # 202401B
    "Quarterly": r"\d{4}Q[1-4]",  # 2024Q1
    "QuarterlyNov": r"\d{4}NovQ[1-4]",  # 2024NovQ1
    "SixMonthly": r"\d{4}S[12]",  # 2024S1
    "SixMonthlyApril": r"\d{4}AprilS[12]",  # 2024AprilS1
    "SixMonthlyNov": r"\d{4}NovS[12]",  # 2024NovS1
    "Yearly": r"\d{4}",  # 2024
    "FinancialApril": r"\d{4}April",  # 2024April
    "FinancialJuly": r"\d{4}July",  # 2024July
    "FinancialSep": r"\d{4}Sep",  # 2024Sep
    "FinancialOct": r"\d{4}Oct",  # 2024Oct
    "FinancialNov": r"\d{4}Nov",  # 2024Nov
}
_ANY = re.compile("|".join(f"(?:{p})" for p in PERIOD_PATTERNS.values()))
# What a message shows as the accepted forms (every type above is accepted; these are the ones people use).
EXAMPLES = ("2024 (năm), 2024S1 hoặc 2024S2 (6 tháng), 2024Q3 (quý), 202408 hoặc 2024-08 (tháng), "
            "20240815 hoặc 2024-08-15 (ngày), 2024W10 (tuần), 2024April, 2024July, 2024Sep, 2024Oct, 2024Nov "
            "(năm tài chính bắt đầu tháng 4, 7, 9, 10, 11)")
# The first month of a financial year that starts in that month of the code's year (2024July: 07/2024–06/2025).
_FINANCIAL_START = {"April": 4, "July": 7, "Sep": 9, "Oct": 10, "Nov": 11}


def canonical_period(code: object) -> str | None:
    """The code DHIS2 stores for ``code`` (dashes dropped, s/q upper-cased), or None when DHIS2 would refuse it."""
    if not isinstance(code, str):
        return None
    text = code.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text):
        text = "".join(g for g in m.groups() if g)
    elif re.fullmatch(r"\d{4}[sq]\d", text):
        text = text.upper()
    return text if is_dhis2_period(text) else None


def period_type(code: str) -> str | None:
    """The DHIS2 period type a code belongs to ("SixMonthly"), or None when DHIS2 would refuse it."""
    for name, pattern in PERIOD_PATTERNS.items():
        if re.fullmatch(pattern, code):
            if name == "Daily" and _date(code) is None:
                return None
            return name
    return None


def is_dhis2_period(code: str) -> bool:
    """True when DHIS2 accepts ``code`` as a fixed period (a day must exist: 20240230 does not)."""
    return isinstance(code, str) and bool(_ANY.fullmatch(code)) and period_type(code) is not None


def _date(code: str) -> dt.date | None:
    try:
        return dt.date(int(code[:4]), int(code[4:6]), int(code[6:8]))
    except ValueError:
        return None


class Period(NamedTuple):
    code: str
    start: dt.date
    end: dt.date


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def parse_period(code: str) -> Period | None:
    """The dates of the period a DHIS2 code names (any form ``canonical_period`` takes), or None when it
    is not a period, or of a type whose dates this tool does not work out (the weeks that start on
    another day than Monday, two-weekly, November quarters and half-years: DHIS2 accepts them in an
    export, a report is not named by them)."""
    text = canonical_period(code)
    if text is None or not 1900 <= int(text[:4]) <= 2999:
        return None
    year, kind = int(text[:4]), period_type(text)
    if kind == "Daily":
        day = _date(text)
        return Period(text, day, day)
    if kind == "Weekly":
        try:
            monday = dt.date.fromisocalendar(year, int(text[5:]), 1)
        except ValueError:  # week 53 of a year that has 52
            return None
        return Period(text, monday, monday + dt.timedelta(days=6))
    if kind in ("FinancialApril", "FinancialJuly", "FinancialSep", "FinancialOct", "FinancialNov"):
        first = _FINANCIAL_START[text[4:]]
        return Period(text, dt.date(year, first, 1), _last_day(year + 1, first - 1))
    if kind == "Yearly":
        months = (1, 12)
    elif kind == "Monthly":
        months = (int(text[4:6]),) * 2
    elif kind == "BiMonthly":
        months = (2 * int(text[4:6]) - 1, 2 * int(text[4:6]))
    elif kind == "Quarterly":
        months = (3 * int(text[-1]) - 2, 3 * int(text[-1]))
    elif kind == "SixMonthly":
        months = (6 * int(text[-1]) - 5, 6 * int(text[-1]))
    else:
        months = None
    if months is None:
        return None
    return Period(text, dt.date(year, months[0], 1), _last_day(year, months[1]))


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
