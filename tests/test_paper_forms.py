"""The merged workbook as the official document it is, on paper (issue 22, section 1).

The province files forty districts' forms: each must name its place, its Tổng cộng must obey the
form's own rules, Biểu mẫu 2 must not leave a page holding only its repeated header, and every
sheet that lists (who reported, the log, the files) prints with a title on A4.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from consolidate import app
from consolidate.core.observations import ACCEPTED, REJECTED
from consolidate.core.template import FORM1_FIELDS
from consolidate.history import open_store
from consolidate.settings.report import default_settings, load_config
from consolidate.write.outputs import write_outputs
from conftest import Text, merged, run_cli, set_cells, unit_file
from test_province import districts, province  # noqa: F401 - districts is a fixture
from test_run import UNITS_IN_ORDER
from test_totals import recalculated_form1, total_rows

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                                   reason="LibreOffice (libreoffice-calc-nogui) or poppler-utils is not installed")

TOTAL_ROW = 21  # the sample district: 14 units from row 7
LABELS = {f.key: f.label for f in FORM1_FIELDS}
STAFF = ("total", "staff_own", "staff_seconded", "staff_bcci")  # Tổng số = the three parts
RED = "FFC7CE"
DISTRICT_LINE = "(Kèm theo Báo cáo số: 362/UBND ngày 09 tháng 8 năm 2024 của UBND huyện Tuy Phước)"
LISTING_SHEETS = ("Tình trạng nộp", "Nhật ký lỗi", "Nguồn dữ liệu")


def unit_row(name: str) -> int:
    return 7 + UNITS_IN_ORDER.index(name)


def obeys_the_tong_so_rule(figures: list[float]) -> bool:
    """Columns C–F of a total row: Tổng số = Thuộc biên chế + Cử đến + Thuê BCCI."""
    total, *parts = figures[:4]
    return total == sum(parts)


# ---------------------------------------------------------------- a) the total row obeys the form's rules


def test_the_sample_total_obeys_tong_so_equals_its_parts(inbox, out):
    """Phước Sơn's 7 ≠ 6 + 0 + 0: none of the four is known to be right, so none is added."""
    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    total = [ws.cell(TOTAL_ROW, c).value for c in range(3, 11)]
    assert obeys_the_tong_so_rule(total), total
    assert total == [80 - 7, 68 - 6, 7, 4, 70, 48, 40, 78]
    son = unit_row("Xã Phước Sơn")
    staff = [ws.cell(son, c) for c in range(3, 7)]
    assert [(c.value, c.data_type) for c in staff] == [("7", "s"), ("6", "s"), ("0", "s"), ("0", "s")]  # SUM skips text
    assert all(c.fill.fgColor.rgb.endswith(RED) for c in staff)
    assert ws.cell(son, 7).value == 6  # Máy tính is tied by no broken rule: added
    part = staff[1].comment.text.splitlines()
    assert part[0] == "Tổng số 7 ≠ 6 + 0 + 0 (= 6)." and "không được cộng vào Tổng cộng" in part[1]

    comment = ws.cell(TOTAL_ROW, 1).comment.text
    for key, shown in zip(STAFF, ("7", "6", "0", "0")):
        assert f"{LABELS[key]} ({shown})" in comment
    note = next(str(r[0].value) for r in ws.iter_rows(min_row=TOTAL_ROW + 1, max_col=1)
                if str(r[0].value).startswith("Tổng cộng chưa gồm"))
    assert "Xã Phước Sơn (" + ", ".join(LABELS[k] for k in STAFF) + ": Tổng số 7 ≠ 6 + 0 + 0 (= 6))" in note


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) is not installed")
def test_libreoffice_recalculates_a_total_that_obeys_the_rule(inbox, out, tmp_path):
    run_cli("run", inbox, "--out", out)
    (workbook,) = out.glob("tong-hop-*.xlsx")

    recalculated = total_rows(recalculated_form1(workbook, tmp_path))["Tổng cộng"]

    assert obeys_the_tong_so_rule(recalculated), recalculated
    assert recalculated == total_rows([[c.value for c in r] for r in merged(out)["Biểu mẫu 1"].iter_rows(min_row=7)])["Tổng cộng"]


def test_a_total_that_cannot_be_checked_leaves_its_parts_out_too(inbox, out):
    """Tổng số typed as a word: the rule cannot be checked, so its parts are not known to be right either."""
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"C7": Text("năm")})  # parts 5 + 0 + 0

    run_cli("run", inbox, "--out", out)

    ws = merged(out)["Biểu mẫu 1"]
    total = [ws.cell(TOTAL_ROW, c).value for c in range(3, 11)]
    assert obeys_the_tong_so_rule(total), total
    assert total[:4] == [80 - 7 - 5, 68 - 6 - 5, 7, 4]
    an = unit_row("Xã Phước An")
    assert [ws.cell(an, c).value for c in range(3, 7)] == ["năm", "5", "0", "0"]
    assert "Ô “Tổng số” ghi “năm”" in ws.cell(an, 4).comment.text


def test_the_province_total_and_subtotals_obey_the_rule(districts, tmp_path):  # noqa: F811 - the fixture
    result = app.run(districts, province())
    paths = write_outputs(result, tmp_path / "out")

    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 1"]
    sums = total_rows([[c.value for c in r] for r in ws.iter_rows(min_row=7, max_col=10)])
    assert set(sums) == {"Cộng Huyện Tuy Phước", "Cộng Huyện Mẫu", "Tổng cộng"}
    for label, figures in sums.items():
        assert obeys_the_tong_so_rule(figures), (label, figures)
    assert sums["Cộng Huyện Tuy Phước"][:4] == [73, 62, 7, 4]  # the district's own total, read again
    if shutil.which("soffice"):
        assert total_rows(recalculated_form1(paths["workbook"], tmp_path)) == sums


def test_the_history_records_a_broken_rules_figures_as_rejected_under_its_code(inbox, out):
    """What the totals leave out, the history does not accept: the same four figures, under total-mismatch."""
    run_cli("run", inbox, "--out", out)

    with open_store(out / "lich-su.sqlite") as history:
        rejected = history.observations(status=REJECTED)
        accepted = history.observations(status=ACCEPTED)
    assert sorted((o.unit_code, o.field, o.value, o.problem) for o in rejected) == sorted(
        ("x-phuoc-son", key, value, "total-mismatch") for key, value in zip(STAFF, (7.0, 6.0, 0.0, 0.0)))
    assert [o.value for o in accepted if o.unit_code == "x-phuoc-son" and o.field == "computers"] == [6.0]


# ---------------------------------------------------------------- b) the place's name is on the forms


def test_the_districts_forms_name_the_district(inbox, out):
    run_cli("run", inbox, "--out", out)
    wb = merged(out)
    for sheet in ("Biểu mẫu 1", "Biểu mẫu 2"):
        assert wb[sheet]["A3"].value == DISTRICT_LINE, sheet


def test_the_provinces_forms_name_the_province(districts, tmp_path):  # noqa: F811 - the fixture
    """The province officer starts from `consolidate init --cap tinh`: "UBND tỉnh", "tỉnh Bình Định"."""
    assert run_cli("init", tmp_path / "cau-hinh-tinh", "--cap", "tinh").exit_code == 0
    settings, _ = load_config(tmp_path / "cau-hinh-tinh" / "cau-hinh.toml")

    paths = write_outputs(app.run(districts, province(), settings), tmp_path / "out")

    wb = openpyxl.load_workbook(paths["workbook"])
    line = "(Kèm theo Báo cáo số: 362/UBND ngày 09 tháng 8 năm 2024 của UBND tỉnh Bình Định)"
    for sheet in ("Biểu mẫu 1", "Biểu mẫu 2"):
        assert wb[sheet]["A3"].value == line, sheet
    for sheet in LISTING_SHEETS:
        assert "tỉnh Bình Định" in wb[sheet]["A1"].value, sheet


@pytest.mark.parametrize(("issuer", "area", "signer"), [
    ("UBND huyện", "huyện Tuy Phước", "UBND huyện Tuy Phước"),
    ("UBND huyện Tuy Phước", "huyện Tuy Phước", "UBND huyện Tuy Phước"),  # named already: not twice
    ("UBND thị xã", "thị xã An Nhơn", "UBND thị xã An Nhơn"),
    ("Văn phòng HĐND và UBND", "huyện Tuy Phước", "Văn phòng HĐND và UBND huyện Tuy Phước"),
    ("UBND huyện", "", "UBND huyện"),
])
def test_the_attachment_line_names_the_place_once(issuer, area, signer):
    settings = dataclasses.replace(default_settings(), issuer=issuer, area=area)
    assert settings.attachment_line.endswith(f" của {signer})")


# ---------------------------------------------------------------- c) no orphan page


def test_one_method_is_said_once_when_every_indicator_shares_it(inbox, out):
    run_cli("run", inbox, "--out", out)
    notes = [str(r[0].value) for r in merged(out)["Biểu mẫu 2"].iter_rows(min_row=12, max_col=1) if r[0].value]
    assert not [n for n in notes if n.startswith("– Tỷ lệ")], notes
    (method,) = [n for n in notes if n.startswith("Cách tổng hợp")]
    assert method == ("Cách tổng hợp (không tính các ô bỏ trống hoặc có lỗi), như nhau cho cả 5 chỉ tiêu: "
                      "(i) Kết quả trước khi chuyển giao: trung bình cộng (không trọng số) của 14 đơn vị; "
                      "(ii) Kết quả sau khi chuyển giao: trung bình cộng (không trọng số) của 14 đơn vị.")


def pdf_pages(xlsx: Path, folder: Path) -> list[str]:
    """The workbook printed by LibreOffice: each page's text."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{folder}/lo", "--convert-to", "pdf",
                    "--outdir", str(folder), str(xlsx)], check=True, capture_output=True, timeout=180)
    pdf = folder / f"{xlsx.stem}.pdf"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def pages_of(pages: list[str], first_line: str, next_first_line: str) -> list[str]:
    """The pages of one sheet: from the page that begins with its first line to the next sheet's."""
    starts = [n for n, page in enumerate(pages) if page.strip().startswith(first_line)]
    ends = [n for n, page in enumerate(pages) if page.strip().startswith(next_first_line)]
    return pages[starts[0]:ends[0]]


@needs_soffice
def test_bieu_mau_2_prints_on_one_page_with_its_notes(inbox, out, tmp_path):
    run_cli("run", inbox, "--out", out)
    pages = pdf_pages(out / "tong-hop-tuy-phuoc.xlsx", tmp_path / "pdf")
    form2 = pages_of(pages, "Biểu mẫu 2", "Chi tiết Biểu mẫu 2")
    assert len(form2) == 1, [" ".join(p.split()[:12]) for p in form2]
    assert "Số liệu từng đơn vị: xem trang" in form2[0]


# ---------------------------------------------------------------- d) every sheet prints with a title


def test_every_listing_sheet_has_a_title_naming_the_place_and_prints_on_a4(inbox, out):
    run_cli("run", inbox, "--out", out)
    wb = merged(out)
    titles = {"Tình trạng nộp": "Tình trạng nộp báo cáo", "Nhật ký lỗi": "Nhật ký lỗi",
              "Nguồn dữ liệu": "Nguồn dữ liệu"}
    for sheet, title in titles.items():
        ws = wb[sheet]
        assert ws["A1"].value.startswith(title) and ws["A1"].value.endswith("huyện Tuy Phước"), ws["A1"].value
        assert ws["A1"].font.b, sheet
        assert ws["A2"].value == DISTRICT_LINE, sheet
        assert ws["A4"].value == "STT", sheet
        assert ws.print_title_rows == "$4:$4", sheet  # the header atop every page, the title once
        setup = ws.page_setup
        assert (int(setup.paperSize), setup.orientation) == (9, "landscape"), sheet
        assert ws.sheet_properties.pageSetUpPr.fitToPage, sheet
        assert (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0), sheet


def test_the_log_sheet_names_each_kind_in_vietnamese_and_keeps_the_code_last(inbox, out):
    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Nhật ký lỗi"]
    head = [c.value for c in ws[4]]
    assert head == ["STT", "Tệp", "Trang tính", "Ô", "Đơn vị", "Loại lỗi", "Mức độ", "Nội dung", "Cách khắc phục",
                    "Mã lỗi"]
    (row,) = [[c.value for c in r] for r in ws.iter_rows(min_row=5) if r[0].value]
    assert row[5] == "Tổng số không khớp" and row[6] == "Lỗi"
    assert row[-1] == "total-mismatch" and "total-mismatch" not in row[:-1]
    assert ws.column_dimensions["J"].width <= 10  # the code: a narrow last column


def test_the_sources_sheet_prints_a_short_checksum_and_keeps_the_whole_one_unprinted(inbox, out):
    import hashlib

    run_cli("run", inbox, "--out", out)
    ws = merged(out)["Nguồn dữ liệu"]
    head = [c.value for c in ws[4]]
    short, full = head.index("SHA-256 (12 ký tự đầu)"), head.index("SHA-256 đầy đủ (không in)")
    son = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[1] == "bao-cao-x-phuoc-son.xlsx")
    digest = hashlib.sha256(unit_file(inbox, "x-phuoc-son").read_bytes()).hexdigest()
    assert (son[short], son[full]) == (digest[:12], digest)
    last_printed = re.fullmatch(r".*!\$A\$1:\$([A-Z]+)\$\d+", ws.print_area).group(1)
    assert openpyxl.utils.column_index_from_string(last_printed) == full  # up to the column before it (0-based full)
    # one line a file: no row is as tall as two
    assert all((ws.row_dimensions[r].height or 15) < 2 * 16 for r in range(5, 5 + 14))


@needs_soffice
def test_libreoffice_prints_each_listing_sheet_within_an_a4_pages_width(inbox, out, tmp_path):
    run_cli("run", inbox, "--out", out)
    pages = pdf_pages(out / "tong-hop-tuy-phuoc.xlsx", tmp_path / "pdf")
    pdf = tmp_path / "pdf" / "tong-hop-tuy-phuoc.pdf"
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(pages)), str(pdf)], check=True,
                          capture_output=True, text=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    firsts = {sheet: n for n, page in enumerate(pages) for sheet in LISTING_SHEETS if page.strip().startswith(sheet)}
    assert set(firsts) == set(LISTING_SHEETS), "each listing sheet's first page begins with its title"
    ends = sorted(firsts.values())[1:] + [len(pages)]
    for (sheet, first), end in zip(sorted(firsts.items(), key=lambda kv: kv[1]), ends):
        assert end - first == 1, f"{sheet}: {end - first} pages for 14 units"  # no column spilled to a page of its own
        width, height = map(float, sizes[first])
        assert width > height, f"{sheet} prints landscape"
        assert "huyện Tuy Phước" in pages[first]
    origins = pages[firsts["Nguồn dữ liệu"]]
    assert not re.search(r"[0-9a-f]{13,}", origins)  # 12 characters of each checksum, no more
