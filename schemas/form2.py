"""Biểu mẫu 2: online public-service rates, one row per unit and indicator."""

from __future__ import annotations

import pandera.pandas as pa

from .checks import exact, is_number, non_negative, percent, whole


def _rate_column(required: bool) -> pa.Column:
    return pa.Column(
        None,
        nullable=not required,  # the province target (ii-a) may be blank; results may not
        checks=[
            pa.Check(is_number, name="not-a-number"),
            pa.Check(percent, name="rate-out-of-range"),
        ],
    )


def _weight_column() -> pa.Column:
    """The optional number of dossiers a result is computed on."""
    return pa.Column(
        None,
        nullable=True,
        required=False,
        checks=[
            pa.Check(is_number, name="not-a-number"),
            pa.Check(exact, name="count-too-large"),
            pa.Check(whole, name="not-whole-number"),
            pa.Check(non_negative, name="negative-count"),
        ],
    )


def form2_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "before": _rate_column(required=True),
            "target": _rate_column(required=False),
            "after": _rate_column(required=True),
            "weight_before": _weight_column(),
            "weight_after": _weight_column(),
        },
        name="Biểu mẫu 2",
    )
