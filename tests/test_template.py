"""The commune official's story: receive a template, fill it in, send it back."""

from __future__ import annotations

from pathlib import Path

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


# The template's version stamp ------------------------------------------------------------------------------

import shutil  # noqa: E402  (the stamp's tests only)

import pytest  # noqa: E402

from consolidate import app  # noqa: E402
from consolidate.core import template as T  # noqa: E402
from consolidate.read.discover import is_submission  # noqa: E402
from consolidate.read.pool import read_file  # noqa: E402
from consolidate.read.prepare import prepare  # noqa: E402
from consolidate.settings.report import default_settings  # noqa: E402
from consolidate.settings.units import default_registry  # noqa: E402
from consolidate.write.sample import make_sample_inbox  # noqa: E402
from consolidate.write.templates import write_template  # noqa: E402

FIGURES = {"total": 7, "staff_own": 4, "staff_seconded": 1, "staff_bcci": 2, "computers": 5, "printers": 3,
           "scanners": 3, "signatures": 4}
RATES_90 = {i.key: {"before": 90.0, "after": 95.0} for i in FORM2_INDICATORS}


def filled(path, monkeypatch=None, version: int | None = None):
    """Xã Phước An's file, filled in the template of ``version`` (the current one when None)."""
    if version is not None:
        monkeypatch.setattr(T, "TEMPLATE_VERSION", version)
    unit = default_registry().match("Xã Phước An")
    return write_template(unit, default_settings(), path, form1=FIGURES, form2=RATES_90)


def test_a_template_carries_its_version_stamp(tmp_path):
    run_cli("template", "--out", tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "mau-bao-cao-x-phuoc-an.xlsx")
    stamps = {p.name: p.value for p in wb.custom_doc_props.props}
    assert stamps == {"Phiên bản mẫu": f"362/UBND – mẫu {T.TEMPLATE_VERSION}"}


@pytest.mark.parametrize("fast", [True, False], ids=["calamine", "openpyxl"])
def test_a_file_from_an_older_template_is_warned_on_both_reading_paths(tmp_path, monkeypatch, fast):
    path = filled(tmp_path / "phuoc-an.xlsx", monkeypatch, version=T.TEMPLATE_VERSION - 1)
    monkeypatch.undo()
    kind, sub = read_file(path, path.name, is_submission, fast=fast)
    prepare(sub, default_registry(), default_settings())
    (p,) = [p for p in sub.problems if p.code == "template-outdated"]
    assert (p.severity, p.unit, p.file) == ("warning", "Xã Phước An", "phuoc-an.xlsx")
    assert p.message == (f"Tệp được lập từ mẫu “362/UBND – mẫu {T.TEMPLATE_VERSION - 1}”, "
                         f"không phải mẫu hiện hành “362/UBND – mẫu {T.TEMPLATE_VERSION}”.")
    assert p.how_to_fix.startswith("Tải mẫu mới từ huyện")


def _without_stamp(src: Path, dst: Path) -> Path:
    """A copy of a template-made file as templates were before stamps: no custom properties part."""
    import re
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == "docProps/custom.xml":
                continue
            data = zin.read(info)
            if info.filename == "_rels/.rels":
                data = re.sub(rb'<Relationship [^>]*Target="docProps/custom.xml"[^>]*/>', b"", data)
            elif info.filename == "[Content_Types].xml":
                data = re.sub(rb'<Override [^>]*PartName="/docProps/custom.xml"[^>]*/>', b"", data)
            zout.writestr(info, data)
    return dst


@pytest.mark.parametrize("fast", [True, False], ids=["calamine", "openpyxl"])
def test_a_file_from_the_current_template_or_with_no_stamp_is_not_warned(tmp_path, fast):
    current = filled(tmp_path / "moi.xlsx")
    for path in (current, tmp_path / "cu.xlsx"):
        if path.name == "cu.xlsx":  # made before stamps existed: the stamp's part taken out
            _without_stamp(Path(__file__).parent.parent / "inbox" / "bao-cao-x-phuoc-an.xlsx", path)
        kind, sub = read_file(path, path.name, is_submission, fast=fast)
        prepare(sub, default_registry(), default_settings())
        assert not [p for p in sub.problems if p.code == "template-outdated"], path.name
    assert sub.template_stamp == ""


def test_a_run_warns_the_unit_with_an_older_template_and_its_feedback_copy_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "TEMPLATE_VERSION", T.TEMPLATE_VERSION - 1)
    make_sample_inbox(tmp_path / "cu")  # the same figures, in last version's template
    monkeypatch.undo()
    inbox = tmp_path / "inbox"
    make_sample_inbox(inbox)
    shutil.copy(tmp_path / "cu" / "bao-cao-x-phuoc-an.xlsx", inbox / "bao-cao-x-phuoc-an.xlsx")
    result = app.run(inbox)
    assert [(p.code, p.unit) for p in result.warnings] == [("template-outdated", "Xã Phước An")]
    assert len(result.errors) == 1  # Phước Sơn's, as before
    paths, _ = app.write(result, tmp_path / "out")
    copy = next(p for p in paths.feedback if p.name == "bao-cao-x-phuoc-an.xlsx")
    texts = [c.value for row in openpyxl.load_workbook(copy)["Phản hồi"].iter_rows() for c in row if c.value]
    assert "Tệp lập từ mẫu cũ" in texts and any(str(t).startswith("Tải mẫu mới từ huyện") for t in texts)
