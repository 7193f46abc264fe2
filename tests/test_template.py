"""The commune official's story: receive a template, fill it in, send it back."""

from __future__ import annotations

import openpyxl

from consolidate.core.template import FORM2_INDICATORS
from conftest import read_log, run_cli


def test_one_template_per_unit_with_its_name(tmp_path):
    result = run_cli("template", "--out", tmp_path / "mau")
    assert result.exit_code == 0
    files = sorted((tmp_path / "mau").glob("*.xlsx"))
    assert len(files) == 14
    wb = openpyxl.load_workbook(tmp_path / "mau" / "mau-bao-cao-x-phuoc-son.xlsx")
    assert wb.sheetnames == ["Biểu mẫu 1", "Biểu mẫu 2"]
    assert wb["Biểu mẫu 1"]["B7"].value == "Xã Phước Sơn"
    assert [wb["Biểu mẫu 2"].cell(r, 2).value for r in range(7, 12)] == [i.label for i in FORM2_INDICATORS]


def test_only_input_cells_can_be_changed(tmp_path):
    run_cli("template", "--out", tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "mau-bao-cao-x-phuoc-an.xlsx")
    ws1, ws2 = wb["Biểu mẫu 1"], wb["Biểu mẫu 2"]
    assert ws1.protection.sheet and ws2.protection.sheet
    assert not ws1.protection.password  # a clerk can unprotect it
    assert ws1["B7"].protection.locked and ws1["C5"].protection.locked and ws1["C7"].protection.locked
    assert not any(ws1[f"{c}7"].protection.locked for c in "DEFGHIJ")
    assert ws2["B7"].protection.locked
    assert not any(ws2[f"{c}{r}"].protection.locked for c in "CDEFG" for r in range(7, 12))


def test_excel_refuses_bad_counts_and_rates(tmp_path):
    run_cli("template", "--out", tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "mau-bao-cao-x-phuoc-an.xlsx")
    (count,) = wb["Biểu mẫu 1"].data_validations.dataValidation
    assert str(count.sqref) == "D7:J7"
    assert (count.type, count.operator, count.formula1) == ("whole", "greaterThanOrEqual", "0")
    assert count.showErrorMessage and count.promptTitle == "Nhập số lượng"
    rate, dossiers = wb["Biểu mẫu 2"].data_validations.dataValidation
    assert str(rate.sqref) == "C7:E11"
    assert str(dossiers.sqref) == "F7:G11" and dossiers.type == "whole"
    assert (rate.type, rate.formula1, rate.formula2) == ("decimal", "0", "100")
    assert rate.operator in (None, "between")  # "between" is the default, left out of the XML
    assert "0–100" in rate.error


def test_tong_so_is_a_formula_and_a_template_filled_without_excel_still_reads(tmp_path):
    run_cli("template", "--out", tmp_path / "mau")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = tmp_path / "mau" / "mau-bao-cao-x-phuoc-an.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Biểu mẫu 1"]
    assert ws["C7"].value == "=D7+E7+F7"
    for col, v in zip("DEFGHIJ", [4, 1, 2, 5, 3, 3, 4]):
        ws[f"{col}7"] = v
    for r in range(7, 12):
        wb["Biểu mẫu 2"][f"C{r}"] = 90.5
        wb["Biểu mẫu 2"][f"E{r}"] = 97.8
    wb.save(inbox / "phuoc-an.xlsx")  # openpyxl saves no cached value for C7

    run_cli("run", inbox, "--out", tmp_path / "out")

    log = [e for e in read_log(tmp_path / "out") if e["unit"] == "Xã Phước An"]
    assert log == []
    merged = openpyxl.load_workbook(next((tmp_path / "out").glob("tong-hop-*.xlsx")), data_only=True)
    row = next(r for r in merged["Biểu mẫu 1"].iter_rows(min_row=7) if r[1].value == "Xã Phước An")
    assert [c.value for c in row[2:10]] == [7, 4, 1, 2, 5, 3, 3, 4]
