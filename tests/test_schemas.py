"""The pandera rules over whole columns: what is a number, a whole one, a rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from consolidate.schemas import form1_schema, form2_schema
from consolidate.core.template import FORM1_FIELDS


def failures(schema, frame):
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return sorted((c, k, int(i)) for c, k, i in zip(cases["column"], cases["check"], cases["index"])
                      if i is not None and not pd.isna(i))
    return []


def test_what_a_unit_typed_is_checked_cell_by_cell():
    base = {"before": 90.0, "target": None, "after": 95.0}
    rows = [
        base,
        {**base, "before": "chín mươi"},        # text: not a number
        {**base, "after": 100.5},               # above 100
        {**base, "before": -0.5},               # below 0
        {**base, "after": True},                # a boolean is no rate
        {**base, "before": float("inf")},       # infinity is no rate
        {**base, "after": np.float64(99.5)},    # numpy's float is a float
        {**base, "before": 100, "after": 0},    # ints and the bounds themselves pass
    ]
    frame = pd.DataFrame(rows, columns=["before", "target", "after"], dtype=object)
    assert failures(form2_schema(), frame) == [
        ("after", "not-a-number", 4),
        ("after", "rate-out-of-range", 2),
        ("before", "not-a-number", 1),
        ("before", "not-a-number", 5),
        ("before", "rate-out-of-range", 3),
    ]


def test_counts_are_whole_non_negative_and_the_total_adds_up():
    good = {f.key: 0.0 for f in FORM1_FIELDS} | {"total": 6.0, "staff_own": 1.0, "staff_seconded": 2.0, "staff_bcci": 3.0}
    rows = [
        good,
        good | {"computers": 2.5},               # not whole
        good | {"computers": -1.0},              # negative
        good | {"total": 7.0},                   # 7 ≠ 1 + 2 + 3
        good | {"staff_own": "một", "total": 9.0},  # text in a part: left to the column check, no total error
        good | {"computers": None},              # blank in a required count
    ]
    frame = pd.DataFrame(rows, dtype=object)
    found = failures(form1_schema(), frame)
    assert ("computers", "not-whole-number", 1) in found
    assert ("computers", "negative-count", 2) in found
    assert ("staff_own", "not-a-number", 4) in found
    assert ("computers", "not_nullable", 5) in found
    assert {i for _, check, i in found if check == "total-mismatch"} == {3}  # not row 4: its part is text
    assert len({(c, i) for c, check, i in found if check != "total-mismatch"}) == 4
