"""Reports as data (issue 23, the foundation): a province officer writes a report as a TOML definition.

The story: the officer copies schemas/bao-cao-362.toml, changes it, runs ``consolidate form check``;
a mistake is refused in Vietnamese with its line before any inbox file is read. The rules are a small
safe language (never ``eval``), evaluated on plain numbers and, compiled, over whole frames; report
362's definition says exactly what the code (core/template.py, schemas/) says today.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli

from consolidate.checks.compile import check_form, compile_form, frame_columns, holds as frame_holds, operands, \
    Position
from consolidate.core import definition as D
from consolidate.core import problems as P
from consolidate.core import template as T
from consolidate.core.rules import RuleError, parse_rule, parse_template, parse_value
from consolidate.read.reader import read_submission
from consolidate.checks import plausibility
from consolidate.schemas import form1_schema, form2_schema
from consolidate.schemas.form1 import total_equals_parts
from consolidate.settings.definition import load_definition, shipped_definitions
from consolidate.settings.report import default_settings
from consolidate.settings.toml_lines import KeyLines
from consolidate.settings.units import ConfigError
from consolidate.write.sample import make_sample_inbox

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
R362 = SCHEMAS / "bao-cao-362.toml"
TTHC = SCHEMAS / "thu-tuc-hanh-chinh.toml"
NAMES = {"tong": "Tổng số", "bien_che": "Thuộc biên chế", "cu_den": "Cử đến", "bcci": "BCCI", "ty_le": "Tỷ lệ"}


# The rule language ------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, reason", [
    ("tong", "phải là một phép so sánh"),
    ("tong == bien_che + khong_co", "không có khóa “khong_co”"),
    ("tong == bien_che + bien_chee", "Có phải “bien_che”?"),
    ("__import__('os').system('x') == 1", "không dùng được hàm __import__"),
    ("open('x') == 1", "không dùng được hàm open"),
    ("tong.__class__ == 1", "chỉ dùng được “dòng.cột”"),
    ("tong == bien_che[0]", "phép lấy phần tử"),
    ("tong == 'bảy'", "chuỗi chữ “bảy”"),
    ("tong == (lambda: 7)()", "không dùng được hàm lambda: 7"),
    ("tong == 10 ** 10 ** 10", "lũy thừa **"),
    ("tong == bien_che // 2", "chia lấy nguyên"),
    ("tong == 1e999", "có số quá lớn"),
    ("tong == " + "9" * 3000, "dài quá"),
    ("(" * 300 + "tong" + ")" * 300 + " == 1", "không đọc được biểu thức"),
    ("tong == bien_che == cu_den", "một khoảng cùng chiều"),
    ("0 <= ty_le <= 100 <= tong", "chỉ một phép so sánh"),
    ("tong == bien_che and cu_den == 0", "and/or"),
    ("tong == (bien_che if cu_den else bcci)", "if … else"),
    ("tong == sum()", "ít nhất một giá trị"),
    ("tong == abs(bien_che, cu_den)", "đúng một giá trị"),
    ("tong == sum(x for x in bien_che)", "biểu thức sinh phần tử"),
    ("tong in bien_che", "phép in"),
    ("tong = bien_che", "không đọc được biểu thức"),
    ("", "để trống"),
])
def test_the_rule_language_refuses_everything_but_fields_and_numbers(expression, reason):
    with pytest.raises(RuleError) as refused:
        parse_rule(expression, NAMES)
    assert reason in refused.value.reason


def test_a_rule_reads_in_vietnamese_and_evaluates_on_plain_numbers():
    rule = parse_rule("tong == bien_che + cu_den + bcci", NAMES)
    assert rule.render(NAMES) == "Tổng số = Thuộc biên chế + Cử đến + BCCI"
    phuoc_son = {"tong": 7.0, "bien_che": 6.0, "cu_den": 0.0, "bcci": 0.0}
    assert rule.holds(phuoc_son) is False
    assert rule.holds({**phuoc_son, "tong": 6.0}) is True
    assert rule.holds({**phuoc_son, "cu_den": None}) is None  # a blank operand: the rule is skipped
    assert rule.holds({**phuoc_son, "cu_den": None, "tong": 6.0}, missing="zero") is True
    rate = parse_rule("0 <= ty_le <= 100", NAMES)
    assert rate.render(NAMES) == "0 ≤ Tỷ lệ ≤ 100"
    assert [rate.holds({"ty_le": v}) for v in (0.0, 97.8, 100.0, 100.5, -1.0)] == [True, True, True, False, False]
    assert rate.holds({"ty_le": 100.04}, tolerance=0.05) is True
    share = parse_rule("abs(ty_le - bien_che / tong * 100) <= 0.5", NAMES)
    assert share.render(NAMES) == "|Tỷ lệ − Thuộc biên chế / Tổng số × 100| ≤ 0,5"
    assert share.holds({"ty_le": 85.7, "bien_che": 6.0, "tong": 7.0}) is True
    assert share.holds({"ty_le": 85.7, "bien_che": 6.0, "tong": 0.0}) is None  # a share of nothing: skipped


def test_a_message_computes_its_placeholders_and_refuses_a_typo():
    message = parse_template("Tổng số {tong} ≠ {bien_che + cu_den + bcci} {{sic}}", NAMES)
    assert message.render({"tong": 7.0, "bien_che": 6.0, "cu_den": 0.0, "bcci": 0.5}) == "Tổng số 7 ≠ 6,5 {sic}"
    with pytest.raises(RuleError, match="chỗ “{tongg}”"):
        parse_template("Tổng số {tongg}", NAMES)
    with pytest.raises(RuleError, match="không phải một phép so sánh"):
        parse_value("tong == 1", NAMES)


# Refusing a wrong definition, with its line -------------------------------------------------------

GOOD = '''\
[report]
key = "thu-nghiem"
number = "01/BC"
title = "Báo cáo thử"
period_type = "Quarterly"

[[form]]
key = "bieu"
sheet = "Biểu 1"
title = "Biểu thử"
layout = "unit-rows"

[[form.field]]
key = "tong"
label = "Tổng số"

[[form.field]]
key = "a"
label = "Thành phần A"

[[form.rule]]
key = "tong-bang-a"
check = "tong == a"
'''


def _definition(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dinh-nghia.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_definition_loads(tmp_path):
    report = load_definition(_definition(tmp_path, GOOD))
    assert [f.key for f in report.form("bieu").fields] == ["tong", "a"]
    assert report.rules[0].check.render(report.form("bieu").names()) == "Tổng số = Thành phần A"


GRID = '''\
[report]
key = "luoi"
number = "02/BC"
title = "Lưới"
period_type = "Yearly"

[[form]]
key = "luoi"
sheet = "Lưới"
title = "Lưới"
layout = "grid"

[[form.field]]
key = "tong"
label = "Tổng số"
'''


@pytest.mark.parametrize("text, line, says", [
    (GOOD.replace('check = "tong == a"', 'chek = "tong == a"'), 23, "không có khóa “chek” trong một quy tắc"),
    (GOOD.replace('key = "a"', 'key = "tong"'), 18, "khóa cột “tong” bị trùng (đã dùng ở dòng 14)"),
    (GOOD.replace('label = "Thành phần A"', 'label = "Thành phần A"\nrequired = "có"'), 20, "phải là true hoặc false"),
    (GOOD.replace('label = "Thành phần A"', 'label = "Thành phần A"\ntype = "integer"'), 20, "kiểu “integer” không có"),
    (GOOD.replace('"tong == a"', '"tong == a +"'), 23, "không đọc được biểu thức"),
    (GOOD.replace('"tong == a"', '"tong == __import__(\'os\')"'), 23, "không dùng được hàm __import__"),
    (GOOD.replace('"tong == a"', '"tong == b"'), 23, "không có khóa “b”"),
    (GOOD.replace('layout = "unit-rows"', 'layout = "rows"'), 11, "cách trình bày “rows” không có"),
    (GRID, 7, "chưa có dòng nào nên không vẽ được"),
    (GOOD.replace('label = "Thành phần A"', 'label = "Thành phần A"\ntype = "percent"\naggregate = "weighted-mean"'),
     21, "chưa có khóa weight"),
    (GOOD.replace('label = "Thành phần A"', 'label = "Thành phần A"\naggregate = "weighted-mean"\nweight = "so_ho_so"'),
     21, "quyền số “so_ho_so” phải là khóa của một cột số"),
    (GOOD.replace('key = "tong"\nlabel = "Tổng số"', 'key = "tong"\nlabel = "Tổng số"\ngroup = "Nhóm"')
     + '\n[[form.field]]\nkey = "b"\nlabel = "B"\ngroup = "Nhóm"\n', 0, "không liền với các cột khác của nhóm"),
    (GOOD.replace('sheet = "Biểu 1"', 'sheet = "Biểu 1: số lượng cán bộ và trang thiết bị"'), 9, "Excel chỉ cho tối đa 31"),
    (GOOD.replace('period_type = "Quarterly"', 'period_type = "Quaterly"'), 5, "Có phải “Quarterly”?"),
    (GOOD.replace('label = "Tổng số"', 'label = "Tổng số ({nam})"'), 15, "không có chỗ điền “{nam}”"),
    (GOOD.replace('key = "tong"', 'key = "tổng số"'), 14, "khóa “tổng số” không hợp lệ"),
    (GOOD + 'message = "Tổng {tong} khác {aa}"\n', 24, "chỗ “{aa}” trong câu thông báo"),
    (GOOD + 'severity = "nghiêm trọng"\n', 24, "mức độ phải là"),
    (GOOD.replace('title = "Báo cáo thử"', 'title = "Báo cáo thử'), 4, "chuỗi chưa đóng dấu ngoặc kép"),
    (GOOD.replace("[[form]]", "[form]"), 7, "phải viết thành các bảng [[form]]"),
])
def test_a_wrong_definition_is_refused_in_vietnamese_naming_its_line(tmp_path, text, line, says):
    if line == 0:  # the group case: its line is where the stray column's group is written
        line = text.splitlines().index('group = "Nhóm"', text.splitlines().index('key = "b"')) + 1
    with pytest.raises(ConfigError) as refused:
        load_definition(_definition(tmp_path, text))
    assert says in refused.value.message
    assert refused.value.line == line, refused.value.message
    assert refused.value.message.startswith(f"Tệp dinh-nghia.toml, dòng {line}")


def test_a_total_row_over_unknown_rows_is_refused(tmp_path):
    text = GRID + '\n[[form.row]]\nkey = "a"\ncode = "01"\nlabel = "A"\n\n[[form.row]]\nkey = "t"\ncode = "99"\n' \
                  'label = "Tổng cộng"\nsum_of_rows = ["a", "bb"]\n'
    with pytest.raises(ConfigError, match="“bb” không phải khóa của một dòng thường") as refused:
        load_definition(_definition(tmp_path, text))
    assert refused.value.line == len(text.splitlines())


def test_the_line_of_a_key_deep_in_a_long_definition_is_found():
    """KeyLines reaches into arrays of tables ([[form]] … [[form.rule]]) and to the end of a definition of
    a thousand lines (a line-by-line search would spend its budget of parsed characters long before)."""
    text = GOOD + "".join(f'\n[[form.rule]]\nkey = "r{n}"\ncheck = "tong >= {n}"\nmessage = "{"x" * 60}"\n'
                          for n in range(200))
    lines = KeyLines(text)
    assert len(text.splitlines()) > 1_000
    assert lines.first(("form", 0, "rule", 200, "check"))  # the 200th added, after GOOD's own == text.splitlines().index('check = "tong >= 199"') + 1
    assert lines.first(("form", 0, "field", 1, "label")) == 19


# Report 362 as a definition says what the code says today -------------------------------------------

@pytest.fixture(scope="module")
def r362() -> D.Report:
    return load_definition(R362)


def test_the_362_definition_agrees_with_the_template_contract(r362):
    settings = default_settings()
    form1, form2 = r362.form(T.FORM1), r362.form(T.FORM2)
    assert [f.key for f in r362.forms] == [T.FORM1, T.FORM2]
    assert (form1.sheet, form2.sheet, form2.detail_sheet) == (T.FORM1_SHEET, T.FORM2_SHEET, T.DETAIL_SHEET)
    assert (form1.number_label, form1.unit_label) == (T.FORM1_STT, T.FORM1_UNIT)
    assert (form2.number_label, form2.indicator_label) == (T.FORM2_STT, T.FORM2_INDICATOR)
    # Biểu mẫu 1: every key, label and group, in order
    assert [(f.key, f.label, f.group[0] if f.group else "") for f in form1.fields] == \
        [(f.key, f.label, f.group) for f in T.FORM1_FIELDS]
    assert set(form1.field("total").formula_text.replace("+", " ").split()) == set(T.TOTAL_PARTS)
    # Biểu mẫu 2: indicators, measures (rates then weights), headers for this report's periods
    assert [(i.key, i.label) for i in form2.indicators] == [(i.key, i.label) for i in T.FORM2_INDICATORS]
    assert [f.key for f in form2.fields] == [*T.RATES, *T.WEIGHTS]
    words = {"period_before": settings.period_before, "period_after": settings.period_after, "year": settings.year}
    assert {r: D.fill(form2.field(r).label, words) for r in T.RATES} == T.rate_headers(settings)
    assert [form2.field(r).group for r in T.RATES] == [(), (T.AFTER_GROUP,), (T.AFTER_GROUP,)]
    assert {k: form2.field(k).label for k in T.WEIGHTS} == T.WEIGHT_LABELS
    assert {form2.field(k).note for k in T.WEIGHTS} == {T.WEIGHT_NOTE}
    assert {f.key: f.weight for f in form2.fields if f.aggregate == D.WEIGHTED_MEAN} == T.WEIGHT_OF
    # what messages call each value is core.template's field_label
    for f in form1.fields:
        assert f.name == T.field_label(T.FORM1, f.key)
    for ind in form2.indicators:
        for f in form2.fields:
            assert f"{ind.label} – {f.name}" == T.field_label(T.FORM2, f.key, ind.key)
    # the report: number, titles, attachment line, template stamp
    assert r362.number == settings.report_number
    assert (form1.title, form2.title) == (settings.form1_title, settings.form2_title)
    assert r362.attachment_line(settings.report_number, settings.report_date, settings.signer) == settings.attachment_line
    assert (r362.stamp, r362.layout_version) == (T.template_stamp(settings), T.TEMPLATE_VERSION)


def test_the_362_definition_compiles_to_the_checks_of_schemas_form1_and_form2(r362):
    for form, schema in ((r362.form(T.FORM1), form1_schema()), (r362.form(T.FORM2), form2_schema())):
        compiled = compile_form(form).schema
        assert list(compiled.columns) == list(schema.columns)
        for key, column in schema.columns.items():
            assert [c.name for c in compiled.columns[key].checks] == [c.name for c in column.checks], key
            assert compiled.columns[key].nullable == column.nullable, key
    assert [r.key for r in r362.form(T.FORM1).rules] == [c.name for c in form1_schema().checks]
    assert r362.form(T.FORM2).rules == ()


def test_the_362_plausibility_is_the_one_the_checks_apply(r362):
    for form in r362.forms:
        p = form.plausibility
        assert (p.z_limit, p.min_units, p.rate_jump, p.count_jump, p.count_min_jump) == (
            plausibility.Z_LIMIT, plausibility.MIN_UNITS, plausibility.RATE_JUMP, plausibility.COUNT_JUMP,
            plausibility.COUNT_MIN_JUMP)
        assert p.outliers and p.change
    assert (r362.form(T.FORM2).plausibility.target, r362.form(T.FORM2).plausibility.result) == ("target", "after")


def test_the_362_rule_compiled_finds_what_the_hand_written_check_finds(r362):
    """Every combination of typed values (numbers, a blank, text, a fraction) over the rule's four
    columns: the compiled rule and schemas.form1.total_equals_parts agree row by row."""
    keys = ["total", *T.TOTAL_PARTS]
    typed = [0.0, 1.0, 6.0, 7.0, None, "bảy", 0.5]
    rows = [dict(zip(keys, values)) for values in itertools.product(typed, repeat=4)]
    frame = pd.DataFrame(rows, columns=keys, dtype=object)
    rule = r362.form(T.FORM1).rules[0]
    compiled = frame_holds(rule.check, operands(frame, Position(rule), rule.missing), frame.index, rule.tolerance)
    assert compiled.tolist() == total_equals_parts(frame).tolist()
    assert (~compiled).sum() > 100  # the comparison is not vacuous


def test_phuoc_sons_total_is_caught_from_the_sample_inbox(tmp_path, r362):
    """The seed's real error: Xã Phước Sơn typed Tổng số 7 for 6 + 0 + 0. Read from the sample inbox's
    file, checked by the compiled definition, said as the catalogue says it today."""
    paths = make_sample_inbox(tmp_path / "inbox")
    form = r362.form(T.FORM1)
    rows = {}
    for path in paths:
        for rec in read_submission(path).records:
            if rec.form == T.FORM1:
                rows.setdefault(rec.unit, {})[rec.field] = rec.value
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=frame_columns(form))
    found = check_form(form, frame)
    assert found.cells == []
    (breach,) = found.breaches
    assert breach.index == "Xã Phước Sơn"
    assert breach.values == {"total": 7.0, "staff_own": 6.0, "staff_seconded": 0.0, "staff_bcci": 0.0}
    assert breach.cells[0] == "total"
    today = P.TotalMismatch(total="7", own="6", seconded="0", bcci="0", expected="6")
    assert (breach.message, breach.fix_clerk, breach.fix_unit) == (today.message, today.how_to_fix,
                                                                   today.unit_how_to_fix)


def test_compiled_type_checks_name_each_bad_cell(r362):
    form = r362.form(T.FORM2)
    frame = pd.DataFrame([
        {"before": 97.8, "target": None, "after": 101.0, "weight_before": 20.0, "weight_after": None},
        {"before": "cao", "target": 80.0, "after": None, "weight_before": 2.5, "weight_after": -3.0},
    ], index=[("x-phuoc-an", "online_payment"), ("x-phuoc-hoa", "online_payment")], dtype=object)
    found = check_form(form, frame)
    assert sorted((c.index[0], c.column, c.check) for c in found.cells) == [
        ("x-phuoc-an", "after", "rate-out-of-range"),
        ("x-phuoc-hoa", "after", "not_nullable"),
        ("x-phuoc-hoa", "before", "not-a-number"),
        ("x-phuoc-hoa", "weight_after", "negative-count"),
        ("x-phuoc-hoa", "weight_before", "not-whole-number"),
    ]


# The quarterly administrative-procedures report: a grid ---------------------------------------------

@pytest.fixture(scope="module")
def tthc() -> D.Form:
    report = load_definition(TTHC)
    assert (report.period_type, len(report.forms)) == ("Quarterly", 1)
    return report.forms[0]


def _grid(form: D.Form, sectors: dict[str, tuple[float, ...]]) -> dict[str, float]:
    """One unit's grid from (online, in person, carried over, before, on time, late, within) per sector row:
    the totals and the in-progress figures computed, so every rule holds; the total row summed."""
    cells: dict[str, float] = {}
    totals = dict.fromkeys((f.key for f in form.fields), 0.0)
    for row in form.rows:
        if row.is_total:
            continue
        online, in_person, carried, before, on_time, late, within = sectors.get(row.key, (0,) * 7)
        received = online + in_person + carried
        resolved = before + on_time + late
        values = {"nhan_tong": received, "nhan_truc_tuyen": online, "nhan_truc_tiep": in_person, "ky_truoc": carried,
                  "gq_tong": resolved, "gq_truoc_han": before, "gq_dung_han": on_time, "gq_qua_han": late,
                  "dang_tong": received - resolved, "dang_trong_han": within,
                  "dang_qua_han": received - resolved - within}
        for key, value in values.items():
            cells[f"{row.key}.{key}"] = float(value)
            if row.indent == 0:
                totals[key] += value
    cells.update({f"tong_cong.{k}": float(v) for k, v in totals.items()})
    return cells


def test_the_tthc_grid_has_its_sectors_columns_and_rules(tthc):
    assert tthc.layout == D.GRID
    assert [r.label for r in tthc.rows if not r.is_total][:3] == ["Tư pháp – Hộ tịch", "Trong đó: Chứng thực", "Đất đai"]
    assert [f.code for f in tthc.fields] == [str(n) for n in range(1, 12)]
    total = tthc.rows[-1]
    assert total.is_total and "chung_thuc" not in total.sum_of_rows and len(total.sum_of_rows) == 10
    shown = {r.key: r.check.render(tthc.names(r.scope)) for r in tthc.rules}
    assert shown["dang-giai-quyet-bang-thanh-phan"] == \
        "Đang giải quyết – Tổng số = Đang giải quyết trong hạn + Đang giải quyết quá hạn"
    assert shown["tong-cong-bang-tong-cac-dong"].startswith("Tổng cộng = Tư pháp – Hộ tịch + Đất đai + Xây dựng")


def test_the_tthc_rules_find_the_planted_errors_of_a_built_grid(tthc):
    good = _grid(tthc, {"tu_phap": (120, 40, 5, 60, 80, 2, 20), "chung_thuc": (70, 10, 0, 50, 30, 0, 0),
                        "dat_dai": (30, 90, 25, 10, 70, 15, 40), "y_te": (3, 1, 0, 1, 3, 0, 0)})
    bad = dict(good)
    bad["dat_dai.nhan_truc_tuyen"] += 1  # received ≠ new online + new in person + carried over
    bad["tong_cong.nhan_truc_tuyen"] += 1  # … the total row, summed from the sectors, carries it into its own row
    bad["y_te.gq_dung_han"] = 2.0  # resolved ≠ before + on time + late; the total row is now off by one
    bad["chung_thuc.nhan_truc_tiep"] = 999.0  # "Trong đó" more than its sector (and its own row broken)
    frame = pd.DataFrame([good, bad], index=["tt-tuy-phuoc", "x-phuoc-son"], columns=frame_columns(tthc))
    found = check_form(tthc, frame)
    assert found.cells == []
    broken = sorted((b.index, b.rule.key, b.place) for b in found.breaches)
    assert broken == [
        ("x-phuoc-son", "da-giai-quyet-bang-thanh-phan", "dòng 07 “Y tế”"),
        ("x-phuoc-son", "nhan-bang-thanh-phan", "dòng 01.1 “Trong đó: Chứng thực”"),
        ("x-phuoc-son", "nhan-bang-thanh-phan", "dòng 02 “Đất đai”"),
        ("x-phuoc-son", "nhan-bang-thanh-phan", "dòng 99 “Tổng cộng”"),
        ("x-phuoc-son", "tong-cong-bang-tong-cac-dong", "cột (7) “Đã giải quyết đúng hạn”"),
        ("x-phuoc-son", "trong-do-khong-vuot", "cột (3) “Mới tiếp nhận trực tiếp hoặc qua bưu chính”"),
    ]
    said = {(b.rule.key, b.place): b.message for b in found.breaches}
    assert said[("nhan-bang-thanh-phan", "dòng 02 “Đất đai”")] == \
        "Số hồ sơ nhận giải quyết 145 ≠ 31 + 90 + 25 (= 146)."
    assert said[("tong-cong-bang-tong-cac-dong", "cột (7) “Đã giải quyết đúng hạn”")] == \
        "Dòng “Tổng cộng” ghi 153, nhưng cộng các dòng được 152."


def test_compiled_rules_agree_with_the_rules_on_plain_numbers():
    """The vectorised twin and core.rules give one answer for every value, blank and tolerance."""
    names = {"a": "A", "b": "B", "c": "C"}
    texts = ["a == b + c", "a != b - c", "a < b * c", "a <= b / c", "a > abs(b - c)", "a >= sum(b, c)",
             "0 <= a <= b", "-a == -(b + c)"]
    values = [None, 0.0, 1.0, 2.0, 3.5]
    grid = [dict(zip("abc", v)) for v in itertools.product(values, repeat=3)]
    frame = pd.DataFrame(grid, columns=list("abc"), dtype=float)
    for text, tolerance, missing in itertools.product(texts, (0.0, 0.5), ("skip", "zero")):
        check = parse_rule(text, names)
        rule = D.Rule(key="r", check=check, text=text, tolerance=tolerance, missing=missing)
        vector = frame_holds(check, operands(frame, Position(rule), missing), frame.index, tolerance).tolist()
        plain = [check.holds(row, tolerance, missing) is not False for row in grid]
        assert vector == plain, (text, tolerance, missing)


def test_a_rule_with_missing_zero_counts_a_blank_as_nought(tmp_path):
    text = GOOD + 'missing = "zero"\n'
    form = load_definition(_definition(tmp_path, text)).form("bieu")
    frame = pd.DataFrame({"tong": [3.0, 0.0, None], "a": [None, None, "ba"]}, dtype=object)
    found = check_form(form, frame)
    assert [(b.index, b.values) for b in found.breaches] == [(0, {"tong": 3.0, "a": 0.0})]


# The commands -------------------------------------------------------------------------------------

def test_form_list_names_the_shipped_reports():
    assert {p.name for p in shipped_definitions()} >= {"bao-cao-362.toml", "thu-tuc-hanh-chinh.toml"}
    result = run_cli("form", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("bao-cao-362  362/UBND  Tình hình triển khai cơ chế giao doanh nghiệp") for line in lines)
    assert any(line.startswith("thu-tuc-hanh-chinh  06a/VPCP/KSTT  Tình hình, kết quả giải quyết thủ tục hành chính")
               for line in lines)


@pytest.mark.parametrize("path, says", [
    (R362, "Định nghĩa hợp lệ: bao-cao-362 – báo cáo số 362/UBND: 2 biểu mẫu, 13 cột, 5 chỉ tiêu, 1 quy tắc kiểm tra."),
    (TTHC, "Định nghĩa hợp lệ: thu-tuc-hanh-chinh – báo cáo số 06a/VPCP/KSTT: 1 biểu mẫu, 11 cột, 12 dòng, "
           "6 quy tắc kiểm tra."),
])
def test_form_check_accepts_a_good_definition_in_one_line(path, says):
    result = run_cli("form", "check", path)
    assert (result.exit_code, result.output) == (0, says + "\n")


def test_form_check_refuses_a_bad_definition_with_its_line_and_exit_2(tmp_path):
    path = _definition(tmp_path, GOOD.replace('"tong == a"', '"tong == a + b"'))
    result = run_cli("form", "check", path)
    assert result.exit_code == 2
    assert "Lỗi: Tệp dinh-nghia.toml, dòng 23, khóa “form.rule.check”: quy tắc “tong-bang-a”: không có khóa “b”" \
        in result.output
    assert "Traceback" not in result.output


def test_form_check_of_a_missing_file_is_said_in_vietnamese(tmp_path):
    result = run_cli("form", "check", tmp_path / "khong-co.toml")
    assert result.exit_code == 2
    assert "không tìm thấy tệp “" in result.output and "Error" not in result.output


def test_math_of_shipped_rules_never_reaches_for_anything_but_fields():
    """Every rule of every shipped definition names only fields (or rows) of its own form."""
    for path in shipped_definitions():
        for form in load_definition(path).forms:
            for rule in form.rules:
                assert set(rule.check.names()) <= set(form.names(rule.scope)), (path.name, rule.key)
                assert math.isfinite(rule.tolerance)


@pytest.mark.parametrize("args", [("form", "--help"), ("form", "list", "--help"), ("form", "check", "--help"),
                                  ("form", "khong-co"), ("form", "check")])
def test_the_form_commands_speak_vietnamese(args):
    from test_vietnamese_cli import assert_vietnamese  # only here: the list of click's English lives there

    result = run_cli(*args)
    assert_vietnamese(result.output)
    assert result.output.startswith("Cách dùng: consolidate form")


def test_a_definition_with_thousands_of_columns_is_refused_not_compiled(tmp_path):
    text = GOOD + "".join(f'\n[[form.field]]\nkey = "c{n}"\nlabel = "Cột {n}"\n' for n in range(1_000))
    with pytest.raises(ConfigError, match="quá giới hạn 1000") as refused:
        load_definition(_definition(tmp_path, text))
    assert refused.value.line == 13  # the first [[form.field]]: a file this long is past the search for lines
