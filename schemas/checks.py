"""Column checks shared by both forms; each lets values that an earlier check rejects pass.

A column holds what units typed: a number (float), text that is not one, or
blank. The checks take the whole column at once (one pass of Python over it,
then array arithmetic) instead of one call per cell: the country's Biểu mẫu 2
has 250,000 cells, and pandera's per-element calls cost ~1 s for them.
Blanks pass here: ``nullable`` decides about them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Excel keeps 15 significant digits: a whole number below 10^15 is held exactly, a larger one is not
# (1e300 typed in a count would reach the totals and DHIS2 as a 301-digit figure).
EXACT_LIMIT = 1e15


def numbers(column: pd.Series) -> pd.Series:
    """The column's finite numbers as floats; NaN for text, blanks, booleans and infinities."""
    if column.dtype.kind == "f":  # numbers and blanks only (validate builds such columns as floats)
        values = column.to_numpy()
        return pd.Series(np.where(np.isfinite(values), values, np.nan), index=column.index)
    values = np.fromiter(
        (v if (type(v) is float or isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)
         else math.nan for v in column),  # float first: nearly every value; True is not a number of staff
        dtype=float, count=len(column),
    )
    return pd.Series(values, index=column.index)


def _blank(column: pd.Series) -> pd.Series:
    return column.isna()


def is_number(column: pd.Series) -> pd.Series:
    return numbers(column).notna() | _blank(column)


def whole(column: pd.Series) -> pd.Series:
    n = numbers(column)
    return n.isna() | (n == np.floor(n))


def exact(column: pd.Series) -> pd.Series:
    """A count Excel holds exactly: fewer than 16 digits, whatever its sign."""
    n = numbers(column)
    return n.isna() | (n.abs() < EXACT_LIMIT)


def non_negative(column: pd.Series) -> pd.Series:
    n = numbers(column)
    return n.isna() | (n >= 0)


def percent(column: pd.Series) -> pd.Series:
    n = numbers(column)
    return n.isna() | ((n >= 0) & (n <= 100))
