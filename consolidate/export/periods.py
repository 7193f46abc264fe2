"""DHIS2's fixed period codes: which strings a data value's ``period`` may be.

The codes are DHIS2's own (its web API documentation, "Date and period format"): the history
names a period with one of them (``2024S1``, ``2024Q3``, ``202408``, ``2024``) and the exports
pass it on as it is, so a code DHIS2 would refuse is caught here, before a file is sent.

>>> [is_dhis2_period(p) for p in ("2024S1", "2024Q3", "202408", "2024", "2024W10", "20240315")]
[True, True, True, True, True, True]
>>> [is_dhis2_period(p) for p in ("2024S3", "2024Q5", "202413", "2024-08", "S1 2024", "20240230")]
[False, False, False, False, False, False]
"""

from __future__ import annotations

import datetime as dt
import re

_MONTH = r"(0[1-9]|1[0-2])"
_WEEK = r"([1-9]|[1-4][0-9]|5[0-3])"
# One pattern per DHIS2 period type, in the documentation's order (daily is checked as a date below).
PERIOD_PATTERNS: dict[str, str] = {
    "Daily": r"\d{4}" + _MONTH + r"\d{2}",  # 20040315
    "Weekly": r"\d{4}W" + _WEEK,  # 2004W10
    "WeeklyWednesday": r"\d{4}WedW" + _WEEK,  # 2015WedW5
    "WeeklyThursday": r"\d{4}ThuW" + _WEEK,  # 2015ThuW6
    "WeeklySaturday": r"\d{4}SatW" + _WEEK,  # 2015SatW7
    "WeeklySunday": r"\d{4}SunW" + _WEEK,  # 2015SunW8
    "BiWeekly": r"\d{4}BiW([1-9]|1[0-9]|2[0-7])",  # 2015BiW1
    "Monthly": r"\d{4}" + _MONTH,  # 200403
    "BiMonthly": r"\d{4}0[1-6]B",  # 200401B
    "Quarterly": r"\d{4}Q[1-4]",  # 2004Q1
    "SixMonthly": r"\d{4}S[12]",  # 2004S1
    "SixMonthlyApril": r"\d{4}AprilS[12]",  # 2004AprilS1
    "SixMonthlyNov": r"\d{4}NovS[12]",  # 2004NovS1
    "Yearly": r"\d{4}",  # 2004
    "FinancialApril": r"\d{4}April",  # 2004April
    "FinancialJuly": r"\d{4}July",  # 2004July
    "FinancialOct": r"\d{4}Oct",  # 2004Oct
    "FinancialNov": r"\d{4}Nov",  # 2004Nov
}
_ANY = re.compile("|".join(f"(?:{p})" for p in PERIOD_PATTERNS.values()))
EXAMPLES = "2024S1 (6 tháng), 2024Q3 (quý), 202408 (tháng), 2024 (năm)"  # for messages


def period_type(code: str) -> str | None:
    """The DHIS2 period type a code belongs to ("SixMonthly"), or None when DHIS2 would refuse it."""
    for name, pattern in PERIOD_PATTERNS.items():
        if re.fullmatch(pattern, code):
            if name == "Daily" and not _is_date(code):
                return None
            return name
    return None


def is_dhis2_period(code: str) -> bool:
    """True when DHIS2 accepts ``code`` as a fixed period (a day must exist: 20240230 does not)."""
    return bool(_ANY.fullmatch(code)) and period_type(code) is not None


def _is_date(code: str) -> bool:
    try:
        dt.date(int(code[:4]), int(code[4:6]), int(code[6:]))
    except ValueError:
        return False
    return True
