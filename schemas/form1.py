"""Biểu mẫu 1: staff and equipment counts, one row per unit."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from consolidate.core.template import FORM1_FIELDS, TOTAL_PARTS

from .checks import EXACT_LIMIT, exact, is_number, non_negative, numbers, whole


def _count_column() -> pa.Column:
    return pa.Column(
        None,
        nullable=False,  # → missing-value
        checks=[
            pa.Check(is_number, name="not-a-number"),
            pa.Check(exact, name="count-too-large"),
            pa.Check(whole, name="not-whole-number"),
            pa.Check(non_negative, name="negative-count"),
        ],
    )


def total_equals_parts(df: pd.DataFrame) -> pd.Series:
    """Tổng số = (4) + (5) + (6); rows with a non-number (or a count too large) anywhere are left to the column checks."""
    values = {c: numbers(df[c]) for c in ("total", *TOTAL_PARTS)}
    values = {c: v.where(v.abs() < EXACT_LIMIT) for c, v in values.items()}
    numeric = pd.concat(values.values(), axis=1).notna().all(axis=1)
    parts = sum(values[c].where(numeric, 0) for c in TOTAL_PARTS)
    total = values["total"].where(numeric, 0)
    return ~numeric | ((total - parts).abs() < 1e-9)


def form1_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {f.key: _count_column() for f in FORM1_FIELDS},
        checks=[pa.Check(total_equals_parts, name="total-mismatch")],
        name="Biểu mẫu 1",
    )
