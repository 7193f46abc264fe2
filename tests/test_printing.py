"""The clerk prints: every sheet legible on A4 (issue 15).

Header rows on every page, "Trang N/M" in the footer, fit to the page's width without
shrinking below ~70 %, and rows as tall as their wrapped text (neither Excel nor
LibreOffice fits the rows of a written file on open, so text would overlap the next row).

The checks read the files back with openpyxl and compare with estimates made here, in
the test, independently of the writer's own; and LibreOffice renders a 70-unit
district to PDF, read page by page with pdftotext.

``python tests/test_printing.py`` regenerates docs/images/bieu-mau-1-trang-1.png, the
printed page 1 of Biểu mẫu 1 for the sample inbox that the README shows.
"""

from __future__ import annotations

import math
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from consolidate import app
from consolidate.write.outputs import write_outputs
from consolidate.core.registry import Registry, Unit
from consolidate.settings.units import default_registry
from consolidate.write.sample import make_sample_inbox
from consolidate.core.template import FORM1_FIELDS, FORM1_UNIT
from consolidate.write.templates import write_template
from consolidate.settings.report import default_settings
from consolidate.write.workbook import write_workbook

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "docs" / "images" / "bieu-mau-1-trang-1.png"
A4_LANDSCAPE_INCHES = 11.69
MIN_SCALE = 70
FOOTER = "Trang &P/&N"
# A lower bound on the width of a character of the sheets' fonts (12-point Times New Roman,
# Calibri 11), in pixels: LibreOffice's rendering is the narrowest seen (~5).
NARROWEST_CHAR = 5.0
LINE_POINTS = 13.5  # the least height of one line of those fonts
# LibreOffice prints a column width unit (as stored in the file, padding included) ~9.4 pixels
# wide (Excel: 7), measured from the size of the glyphs in its PDFs: the width it fits.
PRINTED_UNIT_PIXELS = 9.4

MERGED_SHEETS = {  # sheet → its print title rows as openpyxl reads them
    "Biểu mẫu 1": "$5:$6",
    "Biểu mẫu 2": "$5:$6",
    "Chi tiết Biểu mẫu 2": "$4:$4",
    "Tình trạng nộp": "$4:$4",  # under the title and the attachment line (issue 22)
    "Nhật ký lỗi": "$4:$4",
    "Nguồn dữ liệu": "$4:$4",
}
ONE_PAGE = {"Biểu mẫu 2"}  # five rows and their notes, kept on one page

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None,
                                   reason="LibreOffice (Debian package libreoffice-calc-nogui) is not installed")
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (pdftotext, pdftoppm) is not installed")


def seventy_units() -> Registry:
    """Tuy Phước's 14 units and 56 more that did not report: Biểu mẫu 1 takes three pages."""
    base = default_registry()
    extra = [Unit(f"xa-thu-{i:02d}", f"Xã Thử Nghiệm Số {i}", "xã", base.root.code) for i in range(1, 57)]
    return Registry([*base.units, *extra])


@pytest.fixture(scope="module")
def seventy(tmp_path_factory) -> Path:
    """The merged workbook (and the feedback copy) of a 70-unit district; Phước Sơn's error included."""
    folder = tmp_path_factory.mktemp("seventy")
    make_sample_inbox(folder / "inbox")
    write_outputs(app.run(folder / "inbox", seventy_units()), folder / "out")
    return folder / "out"


def to_pdf(xlsx: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{folder}/lo", "--convert-to", "pdf",
         "--outdir", str(folder), str(xlsx)],
        check=True, capture_output=True, timeout=180,
    )
    return folder / f"{xlsx.stem}.pdf"


def pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1]


# ---------------------------------------------------------------- rendered by LibreOffice

@needs_soffice
@needs_poppler
def test_page_2_of_a_70_unit_form1_has_its_headings_and_every_page_its_number(seventy, tmp_path):
    texts = pages(to_pdf(seventy / "tong-hop-tuy-phuoc.xlsx", tmp_path / "pdf"))

    form1 = [t for t in texts if "Xã Thử Nghiệm Số" in t and "Tỷ lệ" not in t and "Chưa báo cáo" in t]
    assert len(form1) >= 2, "Biểu mẫu 1 of 70 units takes more than one page"
    second = " ".join(texts[1].split())
    assert "Xã Thử Nghiệm Số" in second  # page 2 is Biểu mẫu 1, continued
    for heading in (FORM1_UNIT, "STT", *(f.label for f in FORM1_FIELDS if len(f.label) < 12)):
        assert heading in second, heading
    for n, text in enumerate(texts, start=1):
        assert f"Trang {n}/{len(texts)}" in text, f"page {n} has no number"


@needs_soffice
@needs_poppler
def test_the_feedback_sheet_prints_with_its_page_numbers(seventy, tmp_path):
    texts = pages(to_pdf(seventy / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx", tmp_path / "pdf"))
    assert "Kết quả kiểm tra tệp bao-cao-x-phuoc-son.xlsx" in texts[0]
    for n, text in enumerate(texts, start=1):
        assert f"Trang {n}/{len(texts)}" in text


def text_heights(pdf: Path) -> list[float]:
    """Per page, the median height of the words' boxes: proportional to the scale it was printed at."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    heights = []
    for page in html.split("<page ")[1:]:
        boxes = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)
        heights.append(statistics.median(float(b) - float(a) for a, b in boxes))
    return heights


@needs_soffice
@needs_poppler
def test_libreoffice_prints_every_page_at_70_percent_or_more(seventy, tmp_path):
    """Measured on the PDF: each page's text against the same 12-point text printed at 100 %."""
    import xlsxwriter

    reference = tmp_path / "reference.xlsx"
    wb = xlsxwriter.Workbook(str(reference))
    ws = wb.add_worksheet()
    ws.set_landscape()
    text = wb.add_format({"font_name": "Times New Roman", "font_size": 12, "border": 1})
    for row in range(30):
        ws.write_string(row, 0, f"Xã Thử Nghiệm Số {row}", text)
        ws.write_number(row, 1, row, text)
    ws.set_column(0, 0, 26)
    wb.close()
    (full,) = text_heights(to_pdf(reference, tmp_path / "ref"))

    heights = text_heights(to_pdf(seventy / "tong-hop-tuy-phuoc.xlsx", tmp_path / "pdf"))
    texts = pages(tmp_path / "pdf" / "tong-hop-tuy-phuoc.pdf")
    for n, (height, text) in enumerate(zip(heights, texts), start=1):
        assert height / full >= MIN_SCALE / 100, (
            f"page {n} printed at {100 * height / full:.0f} %: {' '.join(text.split()[:4])}")


# ---------------------------------------------------------------- print settings, read back

def column_pixels(ws, printed: bool = False) -> list[int]:
    """The columns' widths in pixels (a width in the file counts its padding: 7 pixels a unit); with
    ``printed``, only those of the print area where the sheet has one."""
    widths: dict[int, float] = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min:
            for col in range(dim.min, dim.max + 1):
                widths[col] = dim.width
    last = ws.max_column
    if printed and ws.print_area:
        area = re.fullmatch(r".*!\$A\$1:\$([A-Z]+)\$\d+", ws.print_area)
        last = openpyxl.utils.column_index_from_string(area.group(1))
    return [round(widths.get(col, 8.43) * 7) for col in range(1, last + 1)]


def scale(ws) -> float:
    """The % at which the sheet's columns fit the width of a landscape A4 page between its margins,
    in the program that needs more room for them (LibreOffice)."""
    printable = (A4_LANDSCAPE_INCHES - ws.page_margins.left - ws.page_margins.right) * 96
    pixels = column_pixels(ws, printed=True)
    units = sum(px / 7 for px in pixels)
    return min(100.0, 100 * printable / max(sum(pixels), units * PRINTED_UNIT_PIXELS))


def assert_prints_on_a4(ws, title_rows: str, one_page: bool = False) -> None:
    setup = ws.page_setup
    assert (int(setup.paperSize), setup.orientation) == (9, "landscape"), ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    fit = tuple(1 if n is None else n for n in (setup.fitToWidth, setup.fitToHeight))  # absent: 1, the default
    assert fit == (1, 1 if one_page else 0), ws.title
    assert ws.oddFooter.center.text == FOOTER, ws.title
    assert ws.print_title_rows == title_rows, ws.title
    assert scale(ws) >= MIN_SCALE, f"{ws.title} would print at {scale(ws):.0f} %"


def test_every_sheet_of_the_merged_workbook_prints_on_a4(seventy):
    wb = openpyxl.load_workbook(seventy / "tong-hop-tuy-phuoc.xlsx")
    assert wb.sheetnames == list(MERGED_SHEETS)
    for name, title_rows in MERGED_SHEETS.items():
        assert_prints_on_a4(wb[name], title_rows, one_page=name in ONE_PAGE)


def test_the_unit_templates_print_on_a4(tmp_path):
    unit = default_registry().reporting_units()[0]
    wb = openpyxl.load_workbook(write_template(unit, default_settings(), tmp_path / "mau.xlsx"))
    for ws in wb:
        assert_prints_on_a4(ws, "$5:$6")


@pytest.mark.parametrize("path", ["patched", "openpyxl"])
def test_the_feedback_sheet_prints_on_a4(tmp_path, monkeypatch, path):
    from consolidate.ooxml import patch as xlsx_patch
    from consolidate.write.feedback import patched as feedback

    if path == "openpyxl":
        def refuse(*args, **kwargs):
            raise xlsx_patch.Unsupported("forced")
        monkeypatch.setattr(feedback.X, "XlsxPatch", refuse)
    make_sample_inbox(tmp_path / "inbox")
    write_outputs(app.run(tmp_path / "inbox"), tmp_path / "out")
    wb = openpyxl.load_workbook(tmp_path / "out" / "phan-hoi" / "bao-cao-x-phuoc-son.xlsx")
    ws = wb["Phản hồi"]
    assert_prints_on_a4(ws, "$4:$4")
    assert_rows_fit(ws)


# ---------------------------------------------------------------- row heights

def least_lines(text: str, pixels: float) -> int:
    """The fewest lines ``text`` can take in a cell ``pixels`` wide, even in the narrowest font."""
    return max(1, math.ceil(len(text) * NARROWEST_CHAR / max(1.0, pixels - 6)))


def assert_rows_fit(ws) -> None:
    """Every wrapped text's cell (merged ones over their rows and columns) is tall enough for it."""
    widths = column_pixels(ws)
    merged = {(r.min_row, r.min_col): r for r in ws.merged_cells.ranges}
    covered = {(row, col) for r in ws.merged_cells.ranges for row, col in r.cells} - set(merged)

    def height(row: int) -> float:
        return ws.row_dimensions[row].height or 15

    checked = 0
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str) or (cell.row, cell.column) in covered:
                continue
            if not (cell.alignment and cell.alignment.wrap_text):
                continue
            r = merged.get((cell.row, cell.column))
            rows = range(cell.row, r.max_row + 1) if r else [cell.row]
            cols = range(cell.column, r.max_col + 1) if r else [cell.column]
            pixels = sum(widths[c - 1] for c in cols)
            lines = least_lines(cell.value, pixels)
            tall = sum(height(x) for x in rows)
            assert tall >= lines * LINE_POINTS, (
                f"{ws.title}!{cell.coordinate}: {len(cell.value)} characters take at least {lines} lines "
                f"in {pixels} pixels, the row is {tall} points tall: “{cell.value[:60]}”")
            checked += 1
    assert checked


def test_no_text_of_the_merged_workbook_overlaps_the_next_row(seventy):
    wb = openpyxl.load_workbook(seventy / "tong-hop-tuy-phuoc.xlsx")
    for ws in wb:
        assert_rows_fit(ws)


def test_dung_luong_fits_its_cell(seventy):
    ws = openpyxl.load_workbook(seventy / "tong-hop-tuy-phuoc.xlsx")["Nguồn dữ liệu"]
    head = next(c for c in ws[4] if c.value == "Dung lượng (byte)")
    pixels = column_pixels(ws)[head.column - 1]
    assert (ws.row_dimensions[4].height or 15) >= least_lines(head.value, pixels) * LINE_POINTS
    assert pixels - 6 >= len("Dung lượng") * 7  # the longest word on one line, bold
    assert head.alignment.wrap_text


def test_the_templates_rows_fit(tmp_path):
    unit = default_registry().reporting_units()[0]
    wb = openpyxl.load_workbook(write_template(unit, default_settings(), tmp_path / "mau.xlsx"))
    for ws in wb:
        assert_rows_fit(ws)


# ---------------------------------------------------------------- the README's picture

def render_page_one(target: Path = IMAGE, work: Path | None = None) -> Path:
    """Page 1 of Biểu mẫu 1 of the sample inbox's merged workbook, printed by LibreOffice, as a PNG."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = work or Path(tmp)
        make_sample_inbox(folder / "inbox")
        xlsx = write_workbook(app.run(folder / "inbox"), folder / "tong-hop.xlsx")
        pdf = to_pdf(xlsx, folder / "pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(target.with_suffix(""))], check=True, capture_output=True, timeout=120)
    return target


@needs_soffice
@needs_poppler
def test_the_readme_picture_can_be_made(tmp_path):
    png = render_page_one(tmp_path / "page.png", tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert IMAGE.is_file(), "run python tests/test_printing.py to make the README's picture"


if __name__ == "__main__":
    print(render_page_one(Path(sys.argv[1]) if len(sys.argv) > 1 else IMAGE))
