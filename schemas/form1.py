"""Biểu mẫu 1: staff and equipment counts, one row per unit."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from consolidate.template import FORM1_FIELDS, TOTAL_PARTS

from .checks import is_number, non_negative, whole


def _count_column() -> pa.Column:
    return pa.Column(
        None,
        nullable=False,  # → missing-value
        checks=[
            pa.Check(is_number, element_wise=True, name="not-a-number"),
            pa.Check(whole, element_wise=True, name="not-whole-number"),
            pa.Check(non_negative, element_wise=True, name="negative-count"),
        ],
    )


def total_equals_parts(df: pd.DataFrame) -> pd.Series:
    """Tổng số = (4) + (5) + (6); rows with a non-number anywhere are left to the column checks."""
    cols = ["total", *TOTAL_PARTS]
    numeric = df[cols].map(is_number).all(axis=1)
    parts = df[list(TOTAL_PARTS)].where(numeric, 0).astype(float).sum(axis=1)
    total = df["total"].where(numeric, 0).astype(float)
    return ~numeric | ((total - parts).abs() < 1e-9)


def form1_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {f.key: _count_column() for f in FORM1_FIELDS},
        checks=[pa.Check(total_equals_parts, name="total-mismatch")],
        name="Biểu mẫu 1",
    )
