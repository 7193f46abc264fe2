"""The sheets of the merged workbook that list rather than report: who reported (Tình trạng nộp),
every problem (Nhật ký lỗi) and every inbox file with its checksum (Nguồn dữ liệu)."""

from __future__ import annotations

from ..core import problems as P
from ..core.accounting import origins
from ..core.results import MISSING, REPORTED, UNUSABLE, RunResult
from ..core.template import LOG_SHEET
from .sheets import LINE_POINTS, ROW_PADDING, Formats, fit_row, set_print, widths_of, write_row

STATUS_SHEET = "Tình trạng nộp"
ORIGIN_SHEET = "Nguồn dữ liệu"
# The sheets' columns add up to at most 145 width units, so that they print on a landscape A4 page
# at 72 % or more, in LibreOffice too (sheets.print_scale); long texts wrap, and their rows are as
# tall as the text.
LOG_COLUMNS = (
    ("STT", 5),
    ("Tệp", 19),
    ("Trang tính", 10),
    ("Ô", 6),
    ("Đơn vị", 15),
    ("Mã lỗi", 15),
    ("Mức độ", 9),
    ("Nội dung", 34),
    ("Cách khắc phục", 31),
)
STATUS_COLUMNS = (("STT", 5), ("Đơn vị", 23), ("Tình trạng", 20), ("Tệp", 30), ("Ghi chú", 66))
ORIGIN_COLUMNS = (("STT", 5), ("Tệp", 21), ("Dung lượng (byte)", 12), ("Sửa lần cuối", 19), ("SHA-256", 34),
                  ("Đọc là đơn vị", 17), ("Kết quả", 37))


def _header_row(ws, fmt: Formats, columns: tuple[tuple[str, int], ...]) -> list[int]:
    """The sheet's header row and column widths; the widths, for sizing the rows below."""
    widths = [width for _, width in columns]
    for col, (head, width) in enumerate(columns):
        ws.write_string(0, col, head, fmt.header)
        ws.set_column(col, col, width)
    fit_row(ws, 0, zip((head for head, _ in columns), widths), bold=True)
    return widths


def write_status(wb, fmt: Formats, result: RunResult) -> None:
    """Who reported, who did not, who sent something unusable, and from which file."""
    ws = wb.add_worksheet(STATUS_SHEET)
    heads = STATUS_COLUMNS
    widths = _header_row(ws, fmt, heads)
    by_unit: dict[str, list[str]] = {}
    for p in result.problems:
        if p.code in ("superseded", "duplicate-file", "resubmission-conflict") and p.unit:
            by_unit.setdefault(p.unit, []).append(p.message)
    for n, unit in enumerate(result.consolidated.units, start=1):
        st = result.status[unit.code]
        style = fmt.text if st.state == REPORTED else fmt.error["text"]
        note = " ".join([st.note, *by_unit.get(unit.name, [])]).strip()
        write_row(ws, n, 0, [(n, fmt.center), (unit.name, fmt.text), (st.label, style), (st.file, fmt.text),
                             (note, fmt.text)])
        fit_row(ws, n, zip((unit.name, st.label, st.file, note), widths[1:]))
    row = len(result.consolidated.units) + 2
    unusable_files = [p for p in result.problems if p.code in ("file-unreadable", "file-unsafe", "file-encrypted", "unit-unknown", "period-mismatch")]
    counts = (
        f"Đã báo cáo {result.count(REPORTED)}/{len(result.status)} đơn vị; chưa báo cáo {result.count(MISSING)}; "
        f"báo cáo không dùng được {result.count(UNUSABLE)}; tệp không dùng được {len({p.file for p in unusable_files})}."
    )
    ws.merge_range(row, 0, row, len(heads) - 1, counts, fmt.note)
    fit_row(ws, row, [(counts, widths_of(widths, 0, len(heads) - 1))])
    ws.freeze_panes(1, 0)
    set_print(ws, repeat=(0, 0))


def write_origins(wb, fmt: Formats, result: RunResult) -> None:
    """Every inbox file, its checksum and fate, so the province can trace each figure to a file."""
    ws = wb.add_worksheet(ORIGIN_SHEET)
    heads = ORIGIN_COLUMNS
    widths = _header_row(ws, fmt, heads)
    text = fmt.text
    for n, f in enumerate(origins(result), start=1):
        write_row(ws, n, 0, [(n, fmt.center), (f.name, text), (f.size, fmt.count), (f.modified, text),
                             (f.sha256, fmt.digest), (f.units, text), (f.detail, text)])
        # 64 hexadecimal digits in 10 points take two lines
        fit_row(ws, n, [(f.name, widths[1]), (f.modified, widths[3]), (f.units, widths[5]), (f.detail, widths[6])],
                at_least=2 * LINE_POINTS + ROW_PADDING)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, len(result.files)), len(heads) - 1)
    set_print(ws, repeat=(0, 0))


def write_log(wb, fmt: Formats, result: RunResult) -> None:
    ws = wb.add_worksheet(LOG_SHEET)
    widths = _header_row(ws, fmt, LOG_COLUMNS)
    if not result.problems:
        ws.merge_range(1, 0, 1, len(LOG_COLUMNS) - 1, "Không có lỗi.", fmt.text)
    text = fmt.text
    for n, p in enumerate(result.problems, start=1):
        style = fmt.error["text"] if p.severity == P.ERROR else fmt.warning["text"]
        values = (str(p.file), str(p.sheet), str(p.cell), str(p.unit), str(p.code), str(p.severity_label),
                  str(p.message), str(p.how_to_fix))
        write_row(ws, n, 0, [(n, fmt.center), *((v, style if i == 5 else text) for i, v in enumerate(values))])
        fit_row(ws, n, zip(values, widths[1:]))
    last = max(1, len(result.problems))
    ws.autofilter(0, 0, last, len(LOG_COLUMNS) - 1)
    ws.freeze_panes(1, 0)
    set_print(ws, repeat=(0, 0))
