"""Exports (issue 17): each format checked against its own rules, over observations built in memory.

The exporters are pure over ``core.observations.Observation``, so these tests need no history store;
tests/test_export_history.py runs the whole path (run two periods into a store, then export).
"""

from __future__ import annotations

import csv
import doctest
import io
import json
import os
import re
import sys
import types
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from consolidate import app
from consolidate.core import problems as P
from consolidate.core.observations import ACCEPTED, REJECTED, HistoryError, Observation
from consolidate.core.registry import Registry, Unit
from consolidate.export import (DHIS2_FORMATS, FORMATS, Dhis2Mapping, ExportError, export_observations, read_mapping,
                                write_mapping_template)
from consolidate.core import periods
from consolidate.export import datapackage, dhis2, dhis2_csv, dhis2_json, mapping, output, tidy
from consolidate.settings.units import ConfigError, default_registry
from conftest import run_cli

HOSTILE_NAME = '=HYPERLINK("http://x.example","Bấm vào")'


def obs(period="2024S1", unit_code="x-phuoc-an", unit_name="Xã Phước An", form="form1", item="", field="computers",
        value=12.0, status=ACCEPTED, problem="", file="bao-cao-x-phuoc-an.xlsx", sheet="Biểu mẫu 1",
        cell="G7") -> Observation:
    return Observation(period, unit_code, unit_name, form, item, field, value, status, problem, file, sheet, cell,
                       "ab" * 32, "2024-08-09T02:00:00+00:00", "0.1.0")


def sample() -> list[Observation]:
    """Two periods, two units, both forms, a flagged figure, a blank cell."""
    return [
        obs(),
        obs(field="printers", value=3.0, cell="H7"),
        obs(form="form2", item="online_payment", field="after", value=97.8, sheet="Biểu mẫu 2", cell="E9"),
        obs(unit_code="x-phuoc-son", unit_name="Xã Phước Sơn", field="total", value="7 người", status=REJECTED,
            problem="value-not-number", file="bao-cao-x-phuoc-son.xlsx", cell="C7"),
        obs(unit_code="x-phuoc-son", unit_name="Xã Phước Sơn", field="computers", value=None,
            file="bao-cao-x-phuoc-son.xlsx"),
        obs(unit_code="x-phuoc-son", unit_name="Xã Phước Sơn", field="printers", value=2.0,
            file="bao-cao-x-phuoc-son.xlsx", cell="H7"),
        obs(period="2024S2", value=14.0),
        obs(period="2024S2", field="printers", value=4.0, cell="H7"),
    ]


def full_mapping(observations: list[Observation]) -> Dhis2Mapping:
    fields = {o.field_code: (f"DE_{o.field_code.upper().replace('.', '_')}", "COC_DEFAULT") for o in observations}
    units = {o.unit_code: f"OU_{o.unit_code.upper()}" for o in observations}
    return Dhis2Mapping(fields, units, "dhis2-anh-xa.csv")


def read_csv(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


# The tidy CSV ----------------------------------------------------------------------------------------


def test_the_tidy_csv_has_exactly_the_issue_columns_and_one_row_per_value(tmp_path):
    result = export_observations(sample(), "csv", tmp_path)
    assert result.paths == [tmp_path / "so-lieu.csv"] and result.exported == 8
    header, *rows = read_csv(tmp_path / "so-lieu.csv")
    assert header == ["period", "unit_code", "unit_name", "form", "field", "value", "status", "file", "sheet", "cell"]
    assert len(rows) == 8
    first = dict(zip(header, rows[0]))
    assert first == {"period": "2024S1", "unit_code": "x-phuoc-an", "unit_name": "Xã Phước An", "form": "form1",
                     "field": "form1.computers", "value": "12", "status": "accepted",
                     "file": "bao-cao-x-phuoc-an.xlsx", "sheet": "Biểu mẫu 1", "cell": "G7"}
    by_field = {(r[0], r[1], r[4]): r for r in rows}
    assert by_field["2024S1", "x-phuoc-an", "form2.online_payment.after"][5] == "97.8"
    rejected = by_field["2024S1", "x-phuoc-son", "form1.total"]
    assert rejected[5:7] == ["7 người", "rejected"]  # the figure as typed, flagged, kept
    assert by_field["2024S1", "x-phuoc-son", "form1.computers"][5] == ""  # a blank stays blank
    assert result.periods == ["2024S1", "2024S2"]


def test_the_tidy_csv_starts_with_a_bom_and_its_vietnamese_comes_back_nfc(tmp_path):
    names = ["Xã Phước Hòa", "Thị trấn Tuy Phước", "Xã Phước Nghĩa", "Bộ phận Một cửa cấp huyện"]
    observations = [obs(unit_code=f"u{i}", unit_name=n, file=f"bao-cao-{n}.xlsx") for i, n in enumerate(names)]
    path = export_observations(observations, "csv", tmp_path).paths[0]
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the file as UTF-8 only with the mark
    _, *rows = read_csv(path)
    assert [r[2] for r in rows] == names
    assert all(unicodedata.is_normalized("NFC", cell) for r in rows for cell in r)
    assert [r[7] for r in rows] == [f"bao-cao-{n}.xlsx" for n in names]


def test_the_registry_names_a_unit_whose_record_has_no_name(tmp_path):
    registry = Registry([Unit("h", "Huyện Tuy Phước", "huyện"), Unit("x-phuoc-an", "Xã Phước An", "xã", "h")])
    path = export_observations([obs(unit_name="")], "csv", tmp_path, registry=registry).paths[0]
    assert read_csv(path)[1][2] == "Xã Phước An"


@pytest.mark.parametrize("fmt", ["csv"])  # the Data Package's own CSV is for data tools: no guards (issue 24.7)
def test_no_text_in_the_csv_can_become_a_formula_in_excel(tmp_path, fmt):
    hostile = [
        obs(unit_code="x-moi", unit_name=HOSTILE_NAME, file="=cmd.xlsx", value=3.0),
        obs(unit_code="x-moi", unit_name=HOSTILE_NAME, field="printers", value="=1+1", status=REJECTED,
            problem="value-not-number", cell="H7"),
        obs(unit_code="x-moi", unit_name=HOSTILE_NAME, field="scanners", value="-1", status=REJECTED,
            problem="value-negative", cell="I7"),
        obs(unit_code="@x", unit_name="+84 Xã Mới", field="signatures", value="@SUM(A1:A9)", status=REJECTED,
            problem="value-not-number", sheet="\tBiểu mẫu 1", cell="J7"),
    ]
    export_observations(hostile, fmt, tmp_path)
    header, *rows = read_csv(tmp_path / "so-lieu.csv")
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert rows[0][2] == "'" + HOSTILE_NAME and rows[0][7] == "'=cmd.xlsx"
    assert [r[5] for r in rows] == ["3", "'=1+1", "'-1", "'@SUM(A1:A9)"]  # the text a unit typed, shown as text
    assert rows[3][1] == "'@x" and rows[3][2] == "'+84 Xã Mới" and rows[3][8] == "'\tBiểu mẫu 1"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_a_number_is_written_as_a_number_never_guarded(tmp_path):
    export_observations([obs(value=-2.5), obs(field="printers", value=1e-7)], "csv", tmp_path)
    assert [r[5] for r in read_csv(tmp_path / "so-lieu.csv")[1:]] == ["-2.5", "0.0000001"]


# The Data Package ------------------------------------------------------------------------------------


@pytest.fixture
def frictionless():
    return pytest.importorskip("frictionless", reason="frictionless is a test dependency (pip install -e '.[test]')")


def test_the_data_package_is_valid_for_frictionless(frictionless, tmp_path):
    result = export_observations(sample(), "datapackage", tmp_path)
    assert [p.name for p in result.paths] == ["goi-so-lieu.csv", "datapackage.json"]
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    schema = package["resources"][0]["schema"]
    assert [f["name"] for f in schema["fields"]] == list(datapackage.PACKAGE_COLUMNS)
    assert all(f["type"] for f in schema["fields"])
    assert schema["primaryKey"] == ["period", "unit_code", "field"] and schema["missingValues"] == [""]
    assert package["resources"][0]["path"] == "goi-so-lieu.csv"


def test_frictionless_reads_the_package_back_with_its_vietnamese(frictionless, tmp_path):
    export_observations(sample(), "datapackage", tmp_path)
    resource = frictionless.Package(str(tmp_path / "datapackage.json")).get_resource("so-lieu")
    rows = resource.read_rows()
    assert {r["unit_name"] for r in rows} == {"Xã Phước An", "Xã Phước Sơn"}
    assert {r["period"] for r in rows} == {"2024S1", "2024S2"}
    assert [r["value"] for r in rows if r["field"] == "form1.computers" and r["unit_code"] == "x-phuoc-son"] == [None]


def test_the_package_carries_typed_numbers_and_the_typed_text_apart(frictionless, tmp_path):
    """Issue 24.7: value is a number column; "7 người" is in value_text, never in value."""
    export_observations(sample(), "datapackage", tmp_path)
    rows = frictionless.Package(str(tmp_path / "datapackage.json")).get_resource("so-lieu").read_rows()
    by_field = {(r["unit_code"], r["field"], r["period"]): r for r in rows}
    assert by_field["x-phuoc-an", "form2.online_payment.after", "2024S1"]["value"] == Decimal("97.8")
    son_total = by_field["x-phuoc-son", "form1.total", "2024S1"]
    assert son_total["value"] is None and son_total["value_text"] == "7 người" and son_total["status"] == "rejected"
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert next(f for f in package["resources"][0]["schema"]["fields"] if f["name"] == "value")["type"] == "number"


def test_the_package_has_no_excel_guards_no_bom_and_a_licence_and_an_id(frictionless, tmp_path):
    """Issue 24.7: the apostrophe belongs to the Excel-facing CSV only; the encoding matches the bytes;
    licenses and id as the Data Package spec recommends; frictionless validates with no warnings."""
    export_observations(sample() + [obs(unit_code="=x1", unit_name=HOSTILE_NAME, file="-a.xlsx")], "datapackage",
                        tmp_path)
    raw = (tmp_path / "goi-so-lieu.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = frictionless.Package(str(tmp_path / "datapackage.json")).get_resource("so-lieu").read_rows()
    hostile = next(r for r in rows if r["unit_code"] == "=x1")
    assert hostile["unit_name"] == HOSTILE_NAME and hostile["file"] == "-a.xlsx"
    package = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert package["resources"][0]["encoding"] == "utf-8"
    assert package["licenses"][0]["name"] and package["licenses"][0]["path"].startswith("https://")
    assert re.fullmatch(r"[0-9a-f-]{36}", package["id"])
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid and not report.warnings, (report.warnings, report.flatten(["type", "note"]))
    again = tmp_path / "again"
    export_observations(sample() + [obs(unit_code="=x1", unit_name=HOSTILE_NAME, file="-a.xlsx")], "datapackage", again)
    assert (again / "datapackage.json").read_bytes() == (tmp_path / "datapackage.json").read_bytes()


@pytest.mark.parametrize("breakage, error", [
    (lambda text: text + text.splitlines(keepends=True)[1], "primary-key"),  # a row twice
    (lambda text: text.replace("2024S2", "2024H2"), "constraint-error"),  # not a DHIS2 period
    (lambda text: text.replace(",rejected,", ",maybe,"), "constraint-error"),  # not a status
    (lambda text: text.replace(",97.8,", ",97.8 %,"), "type-error"),  # a value that is not a number
    (lambda text: text.replace("period,unit_code", "period,unit"), "incorrect-label"),  # a renamed column
])
def test_a_broken_package_fails_frictionless_validation(frictionless, tmp_path, breakage, error):
    export_observations(sample(), "datapackage", tmp_path)
    path = tmp_path / "goi-so-lieu.csv"
    path.write_text(breakage(path.read_text(encoding="utf-8")), encoding="utf-8", newline="")
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert not report.valid
    assert error in {e[0] for e in report.flatten(["type"])}


def test_the_data_package_refuses_a_repeated_key_instead_of_writing_an_invalid_package(tmp_path):
    with pytest.raises(ExportError, match="bị lặp"):
        export_observations([obs(), obs(value=13.0)], "datapackage", tmp_path)
    assert not (tmp_path / "datapackage.json").exists()


# DHIS2 -----------------------------------------------------------------------------------------------


def test_dhis2_json_has_dhis2s_data_value_keys_and_only_accepted_values(tmp_path):
    observations = sample()
    result = export_observations(observations, "dhis2-json", tmp_path, mapping=full_mapping(observations))
    assert result.paths == [tmp_path / "dhis2-gia-tri.json"]
    data = json.loads((tmp_path / "dhis2-gia-tri.json").read_bytes().decode("utf-8"))  # no BOM: json would fail
    assert list(data) == ["dataValues"]
    values = data["dataValues"]
    assert len(values) == result.exported == 6  # 8 stored: one flagged, one blank, never sent
    assert result.rejected == 1 and result.blank == 1 and result.unmapped == 0 and result.problems == []
    for v in values:
        assert set(v) == {"dataElement", "period", "orgUnit", "categoryOptionCombo", "value", "comment"}
        assert periods.is_dhis2_period(v["period"]) and isinstance(v["value"], str)
    assert values[0] == {"dataElement": "DE_FORM1_COMPUTERS", "period": "2024S1", "orgUnit": "OU_X-PHUOC-AN",
                         "categoryOptionCombo": "COC_DEFAULT", "value": "12",
                         "comment": "bao-cao-x-phuoc-an.xlsx, Biểu mẫu 1!G7"}
    assert "DE_FORM1_TOTAL" not in {v["dataElement"] for v in values}  # Phước Sơn's flagged Tổng số
    assert {v["period"] for v in values} == {"2024S1", "2024S2"} and result.periods == ["2024S1", "2024S2"]


def test_an_empty_category_option_combo_is_left_out_for_dhis2s_default(tmp_path):
    mapping = Dhis2Mapping({"form1.computers": ("DE_MAY_TINH", "")}, {"x-phuoc-an": "OU_AN"})
    export_observations([obs()], "dhis2-json", tmp_path, mapping=mapping)
    (value,) = json.loads((tmp_path / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert "categoryOptionCombo" not in value and value["dataElement"] == "DE_MAY_TINH"


def test_dhis2_csv_has_the_documented_header_and_the_same_values_as_the_json(tmp_path):
    observations = sample()
    mapping = full_mapping(observations)
    export_observations(observations, "dhis2-json", tmp_path, mapping=mapping)
    result = export_observations(observations, "dhis2-csv", tmp_path, mapping=mapping)
    raw = (tmp_path / "dhis2-gia-tri.csv").read_bytes()
    # DHIS2 2.43 reads the columns by these names (dhis2-core DataEntryValue.Input via DataEntryInput.fromCsv);
    # up to 2.42 by position (CsvDataValueSetReader): the same order serves both.
    assert raw.startswith(b"dataElement,period,orgUnit,categoryOptionCombo,attributeOptionCombo,value,storedBy,"
                          b"lastUpdated,comment,followUp\n")
    header, *rows = read_csv(tmp_path / "dhis2-gia-tri.csv", encoding="utf-8")
    assert header == list(dhis2_csv.DHIS2_CSV_HEADER) and len(rows) == result.exported == 6
    assert all(len(r) == 10 for r in rows)
    values = json.loads((tmp_path / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert [(r[0], r[1], r[2], r[3], r[5], r[8]) for r in rows] == [
        (v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"], v["value"], v["comment"]) for v in values]
    assert all(r[4] == r[6] == r[7] == r[9] == "" for r in rows)


def test_a_value_without_a_mapping_is_reported_never_invented(tmp_path):
    observations = sample()
    full = full_mapping(observations)
    fields = {k: v for k, v in full.fields.items() if k != "form1.printers"}
    units = {k: v for k, v in full.units.items() if k != "x-phuoc-son"}
    result = export_observations(observations, "dhis2-json", tmp_path, mapping=Dhis2Mapping(fields, units, "m.csv"))
    values = json.loads((tmp_path / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    # written: the mapped ones (An's computers ×2, An's online payment); left out: An's printers ×2, Sơn's printers
    assert result.exported == len(values) == 3 and result.unmapped == 3
    assert [(p.code, p.params["count"]) for p in result.problems] == [("export-field-unmapped", 3),
                                                                      ("export-unit-unmapped", 1)]
    field_problem, unit_problem = result.problems
    assert field_problem.message == ("Chỉ tiêu “Máy in” (form1.printers) chưa có mã phần tử dữ liệu DHIS2: "
                                     "3 giá trị không được xuất.")
    assert unit_problem.message == ("Đơn vị “Xã Phước Sơn” (x-phuoc-son) chưa có mã đơn vị DHIS2: "
                                    "1 giá trị không được xuất.")
    assert "m.csv" in unit_problem.how_to_fix
    assert all(unicodedata.is_normalized("NFC", p.message + p.how_to_fix) for p in result.problems)
    assert not {v["dataElement"] for v in values} & {"DE_FORM1_PRINTERS", ""}
    assert "OU_X-PHUOC-SON" not in {v["orgUnit"] for v in values}


def test_a_period_dhis2_would_refuse_is_reported_and_not_sent(tmp_path):
    observations = [obs(period="2024H1"), obs(period="2024S1")]
    result = export_observations(observations, "dhis2-csv", tmp_path, mapping=full_mapping(observations))
    assert result.exported == 1 and result.unmapped == 1
    (problem,) = result.problems
    assert problem.code == "export-period-invalid" and "“2024H1”" in problem.message


@pytest.mark.parametrize("code", ["20040315", "2004W10", "2015WedW5", "2015ThuW6", "2015SatW7", "2015SunW8", "2015BiW1",
                                  "200403", "200401B", "2004Q1", "2004S1", "2004AprilS1", "2004", "2004April",
                                  "2004July", "2004Oct", "2024S2", "2024Q3", "202408"])
def test_dhis2s_documented_period_codes_pass(code):
    assert periods.is_dhis2_period(code)


@pytest.mark.parametrize("code", ["", "2024S3", "2024Q0", "2024Q5", "202400", "202413", "2024W54", "200407B", "20240230",
                                  "2024-08", "S1/2024", "2024s1", "24S1", "2024 S1", "2024H1", "6 tháng đầu năm 2024"])
def test_codes_dhis2_would_refuse_fail(code):
    assert not periods.is_dhis2_period(code)


def test_the_data_packages_period_pattern_agrees_with_the_period_check():
    for code in ("2024S1", "2024Q3", "202408", "2024", "2024W10", "20240315", "2024AprilS2"):
        assert re.fullmatch(datapackage.PERIOD_PATTERN, code)
    for code in ("2024H1", "2024-08", "S1"):
        assert not re.fullmatch(datapackage.PERIOD_PATTERN, code)


@pytest.mark.parametrize("module", [output, periods])
def test_the_documented_examples_hold(module):
    assert doctest.testmod(module).failed == 0


# The mapping file ------------------------------------------------------------------------------------


def test_the_mapping_template_lists_every_field_and_unit_with_the_dhis2_codes_left_blank(tmp_path):
    registry = default_registry()
    path = write_mapping_template(registry, tmp_path / "dhis2-anh-xa.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    header, *rows = read_csv(path)
    assert header == list(mapping.HEADER)
    forms = [r for r in rows if r[0] == "Biểu mẫu"]
    fields = [r for r in rows if r[0] == "Chỉ tiêu"]
    units = [r for r in rows if r[0] == "Đơn vị"]
    assert [r[1:3] for r in forms] == [["form1", "Biểu mẫu 1"], ["form2", "Biểu mẫu 2"]]
    assert len(fields) == 8 + 5 * 5 and len(rows) == len(forms) + len(fields) + len(units)
    assert [r[1] for r in fields][:2] == ["form1.total", "form1.staff_own"]
    assert ["Chỉ tiêu", "form2.online_payment.after",
            "Biểu mẫu 2 – Tỷ lệ thanh toán trực tuyến – (ii) Kết quả sau khi chuyển giao", "", "", "", ""] in fields
    assert [(r[1], r[2]) for r in units] == [(u.code, u.name) for u in registry.reporting_units()]
    assert all(r[3:] == ["", "", "", ""] for r in rows)
    assert read_mapping(path) == Dhis2Mapping({}, {}, "dhis2-anh-xa.csv")  # nothing filled: nothing mapped


def test_a_mapping_filled_and_saved_by_excel_is_read_back(tmp_path):
    """Excel on Vietnamese Windows saves a CSV with ';' (the decimal separator is ','), sometimes a 'sep=' line."""
    path = write_mapping_template(default_registry(), tmp_path / "dhis2-anh-xa.csv")
    header, *rows = read_csv(path)
    for r in rows:
        if r[1] == "form1.computers":
            r[3:5] = [" DE_MAY_TINH ", "COC_MAC_DINH"]
        if r[1] == "x-phuoc-an":
            r[5] = "OU_PHUOC_AN"
    for sep_line in ("", "sep=;\r\n"):
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
        path.write_bytes((sep_line + buffer.getvalue()).encode("utf-8-sig"))
        read = read_mapping(path)
        assert read.fields == {"form1.computers": ("DE_MAY_TINH", "COC_MAC_DINH")}
        assert read.units == {"x-phuoc-an": "OU_PHUOC_AN"}


def test_a_unit_whose_code_looks_like_a_formula_round_trips_through_the_mapping(tmp_path):
    registry = Registry([Unit("h", "Huyện Mẫu", "huyện"), Unit("=x1", HOSTILE_NAME, "xã", "h")])
    path = write_mapping_template(registry, tmp_path / "m.csv")
    rows = read_csv(path)
    assert rows[-1][1:3] == ["'=x1", "'" + HOSTILE_NAME]  # the clerk's Excel shows both as text
    rows[-1][5] = "OU_1"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert read_mapping(path).units == {"=x1": "OU_1"}


@pytest.mark.parametrize("edit, says", [
    (lambda rows: rows[3].__setitem__(1, "form1.may_tinh"), "“form1.may_tinh” không phải mã chỉ tiêu"),
    (lambda rows: rows[3].__setitem__(0, "Trường"), "loại “Trường” không rõ"),
    (lambda rows: rows.append(list(rows[3])), "đã có ở dòng 4"),
    (lambda rows: rows[0].__setitem__(5, "Ghi chú"), "thiếu cột “Mã đơn vị DHIS2 (orgUnit)”"),
])
def test_a_mapping_file_with_a_mistake_is_refused_with_its_line(tmp_path, edit, says):
    path = write_mapping_template(default_registry(), tmp_path / "dhis2-anh-xa.csv")
    rows = read_csv(path)
    edit(rows)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(ConfigError, match=re.escape(says)) as refused:
        read_mapping(path)
    assert "Tệp dhis2-anh-xa.csv, dòng " in str(refused.value)


def test_a_mapping_saved_in_an_old_code_page_is_refused_in_vietnamese(tmp_path):
    path = tmp_path / "dhis2-anh-xa.csv"
    head = (",".join(mapping.HEADER) + "\r\nChỉ tiêu,form1.total,").encode("utf-8")
    path.write_bytes(head + "Xã Hòa,,,\r\n".encode("cp1252"))  # a legacy code page: "ã", "ò" are not UTF-8 here
    with pytest.raises(ConfigError, match="không phải văn bản UTF-8"):
        read_mapping(path)


def test_init_writes_the_mapping_file_for_the_units_it_writes(tmp_path):
    folder = tmp_path / "cau-hinh"
    result = run_cli("init", folder)
    assert result.exit_code == 0 and f"Đã tạo {folder / 'dhis2-anh-xa.csv'}" in result.output
    units = [r for r in read_csv(folder / "dhis2-anh-xa.csv") if r[0] == "Đơn vị"]
    assert [r[1] for r in units] == [u.code for u in app.load(folder / "don-vi.xlsx")[0].reporting_units()]
    assert run_cli("init", folder).exit_code == 2  # refuses to overwrite, the mapping included
    (folder / "dhis2-anh-xa.csv").write_text("của tôi", encoding="utf-8")
    for name in ("don-vi.xlsx", "cau-hinh.toml"):
        (folder / name).unlink()
    assert run_cli("init", folder).exit_code == 2  # a filled-in mapping alone is kept too
    assert (folder / "dhis2-anh-xa.csv").read_text(encoding="utf-8") == "của tôi"
    assert run_cli("init", folder, "--cap", "tinh", "--force").exit_code == 0
    province = [r for r in read_csv(folder / "dhis2-anh-xa.csv") if r[0] == "Đơn vị"]
    assert len(province) == len(app.load(folder / "don-vi.xlsx")[0].reporting_units())


# Writing ---------------------------------------------------------------------------------------------


def test_every_format_is_written_atomically_and_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    observations = sample()
    for fmt in FORMATS:
        export_observations(observations, fmt, tmp_path, mapping=full_mapping(observations))
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["datapackage.json", "dhis2-da-xuat.json", "dhis2-gia-tri.csv", "dhis2-gia-tri.json",
                     "goi-so-lieu.csv", "so-lieu.csv"]
    before = (tmp_path / "so-lieu.csv").read_bytes()

    def refuse(src, dst):
        raise PermissionError(13, "file open in Excel", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        export_observations([obs(value=99.0)], "csv", tmp_path)
    assert (tmp_path / "so-lieu.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporary file left behind


def test_a_dhis2_format_needs_a_mapping_and_an_unknown_format_is_refused(tmp_path):
    for fmt in DHIS2_FORMATS:
        with pytest.raises(ValueError, match="mapping"):
            export_observations(sample(), fmt, tmp_path)
    with pytest.raises(ValueError, match="unknown export format"):
        export_observations(sample(), "xml", tmp_path)


def test_every_export_problem_is_in_the_catalogue():
    for code in ("export-field-unmapped", "export-unit-unmapped", "export-period-invalid"):
        assert code in P.CATALOGUE and P.CATALOGUE[code].severity == P.WARNING
    assert {dhis2.DATA_ELEMENT, dhis2.PERIOD, dhis2.ORG_UNIT, dhis2.COMBO, dhis2.VALUE} == {
        "dataElement", "period", "orgUnit", "categoryOptionCombo", "value"}
    assert dhis2_json.DHIS2_JSON.endswith(".json")


# The command, with a stand-in store --------------------------------------------------------------------
# consolidate.history comes from another branch (issue 17's History half); app.export imports it when
# called, so a module with the same contract stands in for it here. tests/test_export_history.py runs
# the real store.


class StandInStore:
    def __init__(self, observations: list[Observation]) -> None:
        self.rows = observations
        self.closed = False

    def observations(self, period=None, unit=None, status=None) -> list[Observation]:
        return [o for o in self.rows if period in (None, o.period) and unit in (None, o.unit_code)
                and status in (None, o.status)]

    def periods(self) -> list[str]:
        return list(dict.fromkeys(o.period for o in self.rows))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "lich-su.sqlite"
    path.write_bytes(b"stand-in")
    opened = []
    module = types.ModuleType("consolidate.history")

    def open_store(url, create=True):
        assert Path(url) == path and not create  # an export never creates a store
        opened.append(StandInStore(sample()))
        return opened[-1]

    module.open_store = open_store
    module.NoHistoryYet = type("NoHistoryYet", (HistoryError,), {})
    monkeypatch.setitem(sys.modules, "consolidate.history", module)
    yield path
    assert all(s.closed for s in opened)


def test_export_writes_one_period_from_the_store(store, tmp_path):
    out = tmp_path / "xuat"
    result = run_cli("export", "--format", "csv", "--period", "2024S2", "--history", store, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Đã xuất 2 giá trị" in result.output and "kỳ: 2024S2." in result.output
    assert {r[0] for r in read_csv(out / "so-lieu.csv")[1:]} == {"2024S2"}


def test_export_to_dhis2_says_what_it_left_out_and_exits_1(store, tmp_path):
    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    path = folder / "dhis2-anh-xa.csv"
    rows = read_csv(path)
    for r in rows:
        if r[0] == "Chỉ tiêu" and r[1] != "form1.printers":
            r[3] = "DE_" + r[1]
        if r[0] == "Đơn vị":
            r[5] = "OU_" + r[1]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = tmp_path / "xuat"
    result = run_cli("export", "--format", "dhis2-json", "--history", store, "--mapping", path, "--out", out)
    assert result.exit_code == 1, result.output
    assert "Không gửi sang DHIS2 1 giá trị bị lỗi: chỉ số liệu hợp lệ được xuất." in result.output
    assert "Chưa xuất 3 giá trị vì thiếu mã DHIS2" in result.output
    assert "Chỉ tiêu “Máy in” (form1.printers) chưa có mã phần tử dữ liệu DHIS2: 3 giá trị không được xuất." \
        in result.output
    assert len(json.loads((out / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]) == 3


@pytest.mark.parametrize("args, says", [
    (("--format", "csv", "--period", "2024S3"), "Lỗi: --period: “2024S3” không phải mã kỳ của DHIS2"),
    (("--format", "csv", "--period", "2023S1"), "Lịch sử không có số liệu của kỳ 2023S1 (các kỳ đã lưu: 2024S1, 2024S2)."),
    (("--format", "dhis2-csv",), "cần tệp ánh xạ mã DHIS2 (--mapping)"),
    (("--format", "ods",), "Lỗi: --format: “ods” không phải định dạng xuất"),
])
def test_export_refusals_are_vietnamese_and_exit_2(store, tmp_path, args, says):
    result = run_cli("export", *args, "--history", store, "--out", tmp_path / "xuat")
    assert result.exit_code == 2 and says in result.output, result.output
    assert not (tmp_path / "xuat").exists()


def test_export_without_a_store_says_to_run_first(tmp_path):
    result = run_cli("export", "--format", "csv", "--history", tmp_path / "khong-co.sqlite", "--out", tmp_path / "x")
    assert result.exit_code == 2
    assert "Chưa có lịch sử số liệu tại" in result.output and "consolidate run" in result.output
    assert not (tmp_path / "khong-co.sqlite").exists()  # never created by asking
