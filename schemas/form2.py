"""Biểu mẫu 2: online public-service rates, one row per unit and indicator."""

from __future__ import annotations

import pandera.pandas as pa

from .checks import is_number, percent


def _rate_column(required: bool) -> pa.Column:
    return pa.Column(
        None,
        nullable=not required,  # the province target (ii-a) may be blank; results may not
        checks=[
            pa.Check(is_number, element_wise=True, name="not-a-number"),
            pa.Check(percent, element_wise=True, name="rate-out-of-range"),
        ],
    )


def form2_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "before": _rate_column(required=True),
            "target": _rate_column(required=False),
            "after": _rate_column(required=True),
        },
        name="Biểu mẫu 2",
    )
