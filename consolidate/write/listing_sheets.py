"""The sheets of the merged workbook that list rather than report: who reported (Tình trạng nộp),
every problem (Nhật ký lỗi) and every inbox file with its checksum (Nguồn dữ liệu).

Each prints as a page of the report it is attached to: a title naming the place, the attachment
line, then the table, whose header row repeats atop every page, landscape and fitted to A4's width.
"""

from __future__ import annotations

from ..core import problems as P
from ..core.accounting import origins
from ..core.results import MISSING, REPORTED, UNUSABLE, RunResult
from ..core.template import LOG_SHEET
from .sheets import Formats, fit_row, row_height, set_print, widths_of, write_row

STATUS_SHEET = "Tình trạng nộp"
ORIGIN_SHEET = "Nguồn dữ liệu"
STATUS_TITLE = "Tình trạng nộp báo cáo của các đơn vị"
LOG_TITLE = "Nhật ký lỗi khi tổng hợp báo cáo"
ORIGIN_TITLE = "Nguồn dữ liệu: các tệp trong thư mục nhận báo cáo"
HEADER = 3  # zero-based: the title, the attachment line and a blank row above the table's header
# The sheets' printed columns add up to at most 145 width units, so that they print on a landscape
# A4 page at 72 % or more, in LibreOffice too (sheets.print_scale); long texts wrap, and their rows
# are as tall as the text.
LOG_COLUMNS = (
    ("STT", 5),
    ("Tệp", 20),
    ("Trang tính", 10),
    ("Ô", 6),
    ("Đơn vị", 14),
    ("Loại lỗi", 15),
    ("Mức độ", 9),
    ("Nội dung", 29),
    ("Cách khắc phục", 28),
    ("Mã lỗi", 9),  # the stable code, for whoever filters the CSV twin: small, last
)
CODE_POINTS = 9  # the code's font size: "total-mismatch" wraps at its hyphen in the narrow column
STATUS_COLUMNS = (("STT", 5), ("Đơn vị", 23), ("Tình trạng", 20), ("Tệp", 30), ("Ghi chú", 66))
DIGEST_SHOWN = 12  # hexadecimal digits of a SHA-256 printed: enough to tell files apart on paper
ORIGIN_COLUMNS = (("STT", 5), ("Tệp", 26), ("Dung lượng (byte)", 12), ("Sửa lần cuối", 19),
                  (f"SHA-256 ({DIGEST_SHOWN} ký tự đầu)", 15), ("Đọc là đơn vị", 19), ("Kết quả", 39),
                  ("SHA-256 đầy đủ (không in)", 68))  # on screen, right of the print area
ORIGIN_PRINTED = len(ORIGIN_COLUMNS) - 1


def _titled_table(ws, fmt: Formats, result: RunResult, title: str, columns: tuple[tuple[str, int], ...],
                  printed: int | None = None) -> list[int]:
    """The title naming the place, the attachment line, the table's header row (``HEADER``) and the
    column widths; the widths, for sizing the rows below. ``printed``: how many columns print."""
    widths = [width for _, width in columns]
    last = (printed or len(columns)) - 1
    width = widths_of(widths, 0, last)
    s = result.settings
    text = f"{title} – {s.area}" if s.area.strip() else title
    ws.merge_range(0, 0, 0, last, text, fmt.title)
    ws.set_row(0, max(22, row_height([(text, width)], bold=True, size=13)))
    ws.merge_range(1, 0, 1, last, s.attachment_line, fmt.subtitle)
    fit_row(ws, 1, [(s.attachment_line, width)])
    for col, (head, width) in enumerate(columns):
        ws.write_string(HEADER, col, head, fmt.header)
        ws.set_column(col, col, width)
    fit_row(ws, HEADER, zip((head for head, _ in columns), widths), bold=True)
    return widths


def write_status(wb, fmt: Formats, result: RunResult) -> None:
    """Who reported, who did not, who sent something unusable, and from which file."""
    ws = wb.add_worksheet(STATUS_SHEET)
    heads = STATUS_COLUMNS
    widths = _titled_table(ws, fmt, result, STATUS_TITLE, heads)
    by_unit: dict[str, list[str]] = {}
    for p in result.problems:
        if p.code in ("superseded", "duplicate-file", "resubmission-conflict") and p.unit:
            by_unit.setdefault(p.unit, []).append(p.message)
    for n, unit in enumerate(result.consolidated.units, start=1):
        st = result.status[unit.code]
        style = fmt.text if st.state == REPORTED else fmt.error["text"]
        note = " ".join([st.note, *by_unit.get(unit.name, [])]).strip()
        write_row(ws, HEADER + n, 0, [(n, fmt.center), (unit.name, fmt.text), (st.label, style),
                                      (st.file, fmt.text), (note, fmt.text)])
        fit_row(ws, HEADER + n, zip((unit.name, st.label, st.file, note), widths[1:]))
    row = HEADER + len(result.consolidated.units) + 2
    unusable_files = [p for p in result.problems if p.code in ("file-unreadable", "file-unsafe", "file-encrypted", "unit-unknown", "period-mismatch")]
    counts = (
        f"Đã báo cáo {result.count(REPORTED)}/{len(result.status)} đơn vị; chưa báo cáo {result.count(MISSING)}; "
        f"báo cáo không dùng được {result.count(UNUSABLE)}; tệp không dùng được {len({p.file for p in unusable_files})}."
    )
    ws.merge_range(row, 0, row, len(heads) - 1, counts, fmt.note)
    fit_row(ws, row, [(counts, widths_of(widths, 0, len(heads) - 1))])
    ws.freeze_panes(HEADER + 1, 0)
    set_print(ws, repeat=(HEADER, HEADER))


def write_origins(wb, fmt: Formats, result: RunResult) -> None:
    """Every inbox file, its checksum and fate, so the province can trace each figure to a file.

    The page shows the checksum's first DIGEST_SHOWN digits; the whole one stands in the last column,
    outside the print area (64 digits took two lines a file and filled a page)."""
    ws = wb.add_worksheet(ORIGIN_SHEET)
    heads = ORIGIN_COLUMNS
    widths = _titled_table(ws, fmt, result, ORIGIN_TITLE, heads, printed=ORIGIN_PRINTED)
    text = fmt.text
    files = origins(result)
    for n, f in enumerate(files, start=1):
        write_row(ws, HEADER + n, 0, [(n, fmt.center), (f.name, text), (f.size, fmt.count), (f.modified, text),
                                      (f.sha256[:DIGEST_SHOWN], text), (f.units, text), (f.detail, text),
                                      (f.sha256, fmt.digest)])
        fit_row(ws, HEADER + n, [(f.name, widths[1]), (f.modified, widths[3]), (f.units, widths[5]),
                                 (f.detail, widths[6])])
    last = HEADER + max(1, len(files))
    ws.freeze_panes(HEADER + 1, 0)
    ws.autofilter(HEADER, 0, last, len(heads) - 1)
    set_print(ws, repeat=(HEADER, HEADER))
    ws.print_area(0, 0, last, ORIGIN_PRINTED - 1)


def write_log(wb, fmt: Formats, result: RunResult) -> None:
    """Every problem, its kind named in Vietnamese; the code (the CSV's and ``--json``'s) small, last."""
    ws = wb.add_worksheet(LOG_SHEET)
    widths = _titled_table(ws, fmt, result, LOG_TITLE, LOG_COLUMNS)
    if not result.problems:
        ws.merge_range(HEADER + 1, 0, HEADER + 1, len(LOG_COLUMNS) - 1, "Không có lỗi.", fmt.text)
    text = fmt.text
    # the code in CODE_POINTS: as many characters fit its column as in one this much wider in 12 points
    sizing = [*widths[1:-1], widths[-1] * 12 / CODE_POINTS]
    for n, p in enumerate(result.problems, start=1):
        style = fmt.error["text"] if p.severity == P.ERROR else fmt.warning["text"]
        values = (str(p.file), str(p.sheet), str(p.cell), str(p.unit), str(p.title), str(p.severity_label),
                  str(p.message), str(p.how_to_fix), str(p.code))
        styles = (text, text, text, text, text, style, text, text, fmt.code)
        write_row(ws, HEADER + n, 0, [(n, fmt.center), *zip(values, styles)])
        fit_row(ws, HEADER + n, zip(values, sizing))
    last = HEADER + max(1, len(result.problems))
    ws.autofilter(HEADER, 0, last, len(LOG_COLUMNS) - 1)
    ws.freeze_panes(HEADER + 1, 0)
    set_print(ws, repeat=(HEADER, HEADER))
