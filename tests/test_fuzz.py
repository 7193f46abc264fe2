"""Whatever a unit types into the template's cells, the run never raises and every bad cell is logged."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consolidate import app
from consolidate.write.log import write_log_csv
from consolidate.settings.units import default_registry
from consolidate.settings.report import default_settings
from consolidate.write.sample import form1_values, form2_values
from consolidate.write.templates import write_template
from consolidate.write.workbook import write_workbook

COUNT_CELLS = [("Biểu mẫu 1", f"{c}7") for c in "CDEFGHIJ"]
RATE_CELLS = [("Biểu mẫu 2", f"{c}{r}") for r in range(7, 12) for c in "CDE"]

values = st.one_of(
    st.none(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 1e300, 0.5, 100.0, 100.0001, "#REF!", "#DIV/0!", "#N/A"]),
    st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=12),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2099, 12, 31)),
)


@st.composite
def typed_cells(draw):
    cells = draw(st.lists(st.sampled_from(COUNT_CELLS + RATE_CELLS), min_size=1, max_size=8, unique=True))
    return {where: draw(values) for where in cells}


def valid(value: object, where: tuple[str, str]) -> bool:
    """What the rules accept without comment: a real number, whole and ≥ 0 for a count, 0–100 for a rate."""
    if isinstance(value, float) and not math.isfinite(value):
        value = None  # openpyxl stores NaN and infinity as an empty cell
    if value is None or (isinstance(value, str) and not value.strip()):
        return where in RATE_CELLS and where[1].startswith("D")  # only the province target may be blank
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if where in COUNT_CELLS:
        return float(value).is_integer() and value >= 0
    return 0 <= value <= 100


_BASE: dict[str, bytes] = {}


def base_submission() -> bytes:
    """One unit's sample submission, made once."""
    if not _BASE:
        with tempfile.TemporaryDirectory() as tmp:
            registry, settings_ = default_registry(), default_settings()
            unit = next(u for u in registry.reporting_units() if u.code == "x-phuoc-an")
            path = write_template(unit, settings_, Path(tmp) / "a.xlsx", form1=form1_values(unit.name),
                                  form2=form2_values(unit.name, unit.code), total_formula=False)
            _BASE["x"] = path.read_bytes()
    return _BASE["x"]


# derandomize: the same examples on every CI run (turn it off locally to explore new ones)
@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed=typed_cells())
def test_random_values_never_crash_the_run_and_bad_cells_are_logged(typed):
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp) / "inbox"
        inbox.mkdir()
        path = inbox / "bao-cao-x-phuoc-an.xlsx"
        path.write_bytes(base_submission())
        wb = openpyxl.load_workbook(path)
        for (sheet, cell), value in typed.items():
            wb[sheet][cell] = value
            if isinstance(value, str):
                wb[sheet][cell].data_type = "s"  # typed as text, never a formula
        wb.save(path)

        result = app.run(inbox)
        write_workbook(result, Path(tmp) / "out" / "tong-hop.xlsx")
        write_log_csv(result.problems, Path(tmp) / "out" / "log.csv")

        logged = {(p.sheet, p.cell) for p in result.problems if p.file == path.name}
        for where, value in typed.items():
            if not valid(value, where):
                assert where in logged, (where, value, result.problems)
