"""Warnings for the clerk to look at: a figure far from the other units', or from the last report."""

from __future__ import annotations


from consolidate import app
from consolidate.write.outputs import write_outputs
from consolidate.checks.plausibility import outliers
from consolidate.read.reader import Record, Source
from conftest import set_cells, unit_file


def rec(unit: str, value: float, field: str = "computers") -> Record:
    return Record("form1", unit, "", field, float(value), value, Source(f"{unit}.xlsx", "Biểu mẫu 1", "G7"), unit)


def test_one_wild_figure_does_not_hide_itself():
    # a mean ± 3 SD rule misses 60 here (SD is inflated by 60 itself); the median-based rule does not
    records = [rec(f"u{i}", v) for i, v in enumerate([4, 5, 5, 6, 4, 5, 6, 5, 60])]
    (warning,) = outliers(records, set())
    assert (warning.code, warning.severity, warning.unit) == ("outlier", "warning", "u8")
    assert warning.message == (
        "Ô “Máy tính” ghi 60, cao hơn hẳn mức các đơn vị khác thường nhập: 8 trong 9 đơn vị nhập từ 4 đến 6"
        " (mức ở giữa là 5)."
    )


def test_a_figure_far_below_the_others_is_said_in_plain_words_too():
    """A clerk reads how far the figure is from what the others typed, not a statistic's name."""
    computers = [40, 42, 45, 41, 43, 44, 40, 2, 42]
    records = [rec(f"u{i}", v) for i, v in enumerate(computers)]
    (warning,) = outliers(records, set())
    assert warning.unit == "u7"
    assert warning.message == (
        "Ô “Máy tính” ghi 2, thấp hơn hẳn mức các đơn vị khác thường nhập: 8 trong 9 đơn vị nhập từ 40 đến 45"
        " (mức ở giữa là 42).")


def test_the_typical_range_is_written_the_vietnamese_way():
    rates = [92.8, 93.5, 92.25, 94.1, 93.0, 92.5, 93.8, 12.5, 92.75]
    (warning,) = outliers([rec(f"u{i}", v) for i, v in enumerate(rates)], set())
    assert "ghi 12,5, thấp hơn hẳn" in warning.message
    assert warning.message.endswith("9 đơn vị nhập từ 92,25 đến 94,1 (mức ở giữa là 92,8).")


def test_a_figure_already_flagged_as_an_error_is_not_warned_about_again():
    records = [rec(f"u{i}", v) for i, v in enumerate([4, 5, 5, 6, 4, 5, 6, 5, 60])]
    assert outliers(records, {records[-1].source}) == []


def test_an_absurd_figure_is_flagged_without_numpy_warnings_on_the_terminal():
    import warnings

    records = [rec(f"u{i}", v) for i, v in enumerate([0, 0, 1, 1, 1, 1.7e308, 0, 1])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would reach the clerk's terminal
        (warning,) = outliers(records, set())
    assert warning.unit == "u5"


def test_too_few_units_or_identical_figures_say_nothing():
    assert outliers([rec("a", 1), rec("b", 100)], set()) == []
    assert outliers([rec(f"u{i}", 5) for i in range(9)], set()) == []


def test_the_seed_report_raises_no_plausibility_warning(inbox):
    result = app.run(inbox)
    assert [p.code for p in result.problems] == ["total-mismatch"]


def test_a_big_change_since_the_previous_report_is_a_warning(inbox, tmp_path):
    earlier = write_outputs(app.run(inbox), tmp_path / "ky-truoc")["workbook"]
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 12})  # was 5 computers
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 2", {"E7": 60.5})  # the rate fell by ~36 points

    result = app.run(inbox, previous=earlier)

    changed = {(p.unit, p.cell): p.message for p in result.problems if p.code == "changed-since-previous"}
    assert changed[("Xã Phước An", "G7")] == "Ô “Máy tính” ghi 12, kỳ báo cáo trước là 5."
    assert ("Xã Phước An", "E7") in changed
    assert len(changed) == 2
