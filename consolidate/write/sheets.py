"""The official layout of the two forms as XlsxWriter calls.

Shared by the blank templates and the merged workbook, so a unit fills
exactly the table the district sends upward.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from .files import atomic_target
from ..core.registry import ReportSettings
from ..core.template import (
    AFTER_GROUP,
    FORM1_FIELDS,
    FORM1_STT,
    FORM1_UNIT,
    FORM2_INDICATOR,
    FORM2_STT,
    WEIGHT_LABELS,
    WEIGHT_NOTE,
    WEIGHTS,
    rate_headers,
)

FONT = "Times New Roman"  # the font of Vietnamese administrative documents
FORM1_LAST_COL = 1 + len(FORM1_FIELDS)  # J
FORM2_LAST_COL = 4  # E
HEADER_ROW = 4  # zero-based: the two-level header takes rows 5–6, data starts at row 7
FIRST_DATA_ROW = HEADER_ROW + 2
FIGURE_RATE = "0.0#########"  # at least one decimal, and every decimal a unit typed (up to ten)
FORM1_WIDTHS = (6, 26, *(13,) * len(FORM1_FIELDS))  # STT, Đơn vị, the eight figures
FORM2_WIDTHS = (6, 36, 22, 22, 22)  # STT, Chỉ tiêu, (i), (ii-a), (ii-b)
WEIGHT_WIDTH = 16  # each optional dossier-count column of Biểu mẫu 2

# Printing on A4 (issue 15). Neither Excel nor LibreOffice fits the rows of a written file to their
# wrapped text on open, so row heights are estimated here from the text's length and the column's
# width; and fit-to-width lets a program shrink a sheet without limit, so every sheet's columns are
# chosen so that the scale needed stays at or above MIN_SCALE (``print_scale``).
A4_INCHES = (8.27, 11.69)  # portrait width, landscape width
SIDE_MARGIN = 0.5  # inches, left and right
MIN_SCALE = 70  # %: below this a printed sheet is hard to read
FOOTER = "&CTrang &P/&N"
LINE_POINTS = 16  # one line of 12-point Times New Roman
ROW_PADDING = 3  # points above and below the lines of a wrapped cell
DIGIT_PIXELS = 7  # a column width unit: the default font's (Calibri 11) digit, 7 pixels
# LibreOffice 7.4 prints a column wider than Excel does: fitted to an A4 page's width (1026 pixels
# between half-inch margins), columns of 143 units as stored (padding included) printed at 76 %, of
# 116 at 94 %, of 153 at 72 %, of 156 at 70 % (measured from the glyphs' size in its PDF against
# text printed at 100 %): 9.4 pixels a unit, where Excel takes 7.
PRINTED_UNIT_PIXELS = 9.4
CHAR_PIXELS = 6.2  # a character of 12-point Times New Roman in Excel, on average, rounded up (6.8 bold)


@contextmanager
def new_workbook(path: Path, created: dt.date, title: str = "") -> Iterator[Workbook]:
    """An XlsxWriter workbook written beside ``path`` and renamed over it only when complete.

    Text stays text (no formula or URL conversion, so a cell typed "=..." by a unit
    never becomes a formula), and the creation date is fixed so that the same
    input gives the same file.
    """
    with atomic_target(path) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        wb.set_properties({"created": dt.datetime.combine(created, dt.time()), "author": "consolidate", "title": title})
        yield wb
        wb.close()


class Formats:
    """The cell formats of one workbook, made once."""

    def __init__(self, wb: Workbook) -> None:
        base = {"font_name": FONT, "font_size": 12}
        cell = {**base, "border": 1, "valign": "vcenter"}
        self.form_label = wb.add_format({**base, "bold": True})
        self.title = wb.add_format({**base, "bold": True, "font_size": 13, "align": "center", "valign": "vcenter", "text_wrap": True})
        self.subtitle = wb.add_format({**base, "italic": True, "align": "center", "valign": "vcenter", "text_wrap": True})
        self.note = wb.add_format({**base, "italic": True, "text_wrap": True, "valign": "top"})
        self.header = wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"})
        self.text = wb.add_format({**cell, "text_wrap": True})
        self.digest = wb.add_format({**cell, "font_size": 10})  # a whole SHA-256, on screen
        self.code = wb.add_format({**cell, "text_wrap": True, "font_size": 9, "font_color": "#595959"})  # a problem's code
        self.center = wb.add_format({**cell, "align": "center"})
        self.count = wb.add_format({**cell, "align": "center", "num_format": "0"})
        self.rate = wb.add_format({**cell, "align": "center", "num_format": "0.0"})  # a computed mean
        # a unit's own rate as it typed it: 97,85 must not show as 97,9
        self.figure_rate = wb.add_format({**cell, "align": "center", "num_format": FIGURE_RATE})
        self.total_label = wb.add_format({**cell, "bold": True, "align": "center"})
        self.total = wb.add_format({**cell, "bold": True, "align": "center", "num_format": "0"})
        self.group = wb.add_format({**cell, "bold": True, "bg_color": "#EDEDED"})
        self.subtotal_label = wb.add_format({**cell, "bold": True, "italic": True, "align": "center"})
        self.subtotal = wb.add_format({**cell, "bold": True, "italic": True, "align": "center", "num_format": "0"})
        self.missing = wb.add_format({**cell, "italic": True, "align": "center", "font_color": "#7F7F7F", "bg_color": "#F2F2F2"})
        self.input_count = wb.add_format({**cell, "align": "center", "num_format": "0", "locked": False, "bg_color": "#FFF2CC"})
        self.input_rate = wb.add_format({**cell, "align": "center", "num_format": "0.0", "locked": False, "bg_color": "#FFF2CC"})
        self.error = {
            "count": wb.add_format({**cell, "align": "center", "num_format": "0", "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "rate": wb.add_format({**cell, "align": "center", "num_format": FIGURE_RATE, "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
            "text": wb.add_format({**cell, "bg_color": "#FFC7CE", "font_color": "#9C0006", "text_wrap": True}),
            # a figure in error, written as the text the unit typed so that no SUM adds it
            "typed": wb.add_format({**cell, "align": "center", "num_format": "@", "bg_color": "#FFC7CE", "font_color": "#9C0006"}),
        }
        self.warning = {
            "count": wb.add_format({**cell, "align": "center", "num_format": "0", "bg_color": "#FFEB9C"}),
            "rate": wb.add_format({**cell, "align": "center", "num_format": FIGURE_RATE, "bg_color": "#FFEB9C"}),
            "text": wb.add_format({**cell, "bg_color": "#FFEB9C", "text_wrap": True}),
        }


def write_titles(ws: Worksheet, fmt: Formats, form_label: str, title: str, subtitle: str, last_col: int,
                 widths: Sequence[float] = ()) -> None:
    """The form's label, title and subtitle over columns 0..last_col (``widths``: the columns', to
    size the rows), and the print settings of a form."""
    ws.write_string(0, 0, form_label, fmt.form_label)
    ws.merge_range(1, 0, 1, last_col, title, fmt.title)
    width = widths_of(widths, 0, last_col) if widths else 0
    ws.set_row(1, max(36, row_height([(title, width)], bold=True, size=13)) if width else 36)
    ws.merge_range(2, 0, 2, last_col, subtitle, fmt.subtitle)
    if width:
        fit_row(ws, 2, [(subtitle, width)])
    set_print(ws)


def set_print(ws: Worksheet, repeat: tuple[int, int] | None = None, landscape: bool = True) -> None:
    """A4, fit to the page's width (``print_scale`` says how much that shrinks), "Trang N/M" in
    the footer, and the ``repeat`` rows (first, last; zero-based) printed atop every page."""
    ws.set_paper(9)  # A4
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.set_margins(left=SIDE_MARGIN, right=SIDE_MARGIN, top=0.75, bottom=0.75)
    ws.set_footer(FOOTER)
    ws.fit_to_pages(1, 0)
    if repeat is not None:
        ws.repeat_rows(*repeat)


def keep_on_one_page(ws: Worksheet, widths: Sequence[float], last_row: int, landscape: bool = True) -> None:
    """Print rows 0..last_row on one page when shrinking them to it keeps the scale at MIN_SCALE or more:
    a short table and its notes stay together (a note must not carry over alone to a page that holds
    only the repeated header). Heights as set on the rows (``fit_row``), 15 points where none is."""
    # XlsxWriter keeps the rows' heights in its own unit (pixels since 3.1, points before), the
    # default row's (15 points) in the same unit: their ratio gives points either way
    unit = 15 / ws.default_row_height
    tall = unit * sum(ws.row_sizes.get(row, (ws.default_row_height,))[0] for row in range(last_row + 1))
    printable = (A4_INCHES[not landscape] - 2 * 0.75) * 72  # points between the top and bottom margins
    if tall * MIN_SCALE / 100 <= printable:
        ws.fit_to_pages(1, 1)


def column_pixels(width: float) -> int:
    """A column's width in pixels, as Excel (and XlsxWriter's ``set_column``) converts it."""
    return int(width * (DIGIT_PIXELS + 5) + 0.5) if width < 1 else int(width * DIGIT_PIXELS + 0.5) + 5


def print_scale(widths: Iterable[float], landscape: bool = True, margin: float = SIDE_MARGIN) -> int:
    """The scale (%) at which columns of these widths fit an A4 page's width, at most 100: the
    smaller of Excel's and LibreOffice's (which prints a width unit wider)."""
    widths = list(widths)
    printable = (A4_INCHES[landscape] - 2 * margin) * 96  # pixels
    pixels = sum(column_pixels(w) for w in widths)  # Excel's
    needed = max(pixels, pixels / DIGIT_PIXELS * PRINTED_UNIT_PIXELS)
    return min(100, math.floor(100 * printable / needed))


@functools.lru_cache(maxsize=4096)
def text_lines(text: str, width: float, bold: bool = False) -> int:
    """How many lines ``text`` takes when wrapped in a column ``width`` wide (word by word, a word
    longer than a line broken), a little generously: a row too tall is better than text overlapping."""
    per_line = max(1, int((column_pixels(width) - 6) / (6.8 if bold else CHAR_PIXELS)))
    total = 0
    for paragraph in str(text).split("\n"):
        lines, used = 1, 0
        for word in paragraph.split():
            if used and used + 1 + len(word) > per_line:
                lines, used = lines + 1, 0
            used += (1 if used else 0) + len(word)
            while used > per_line:
                lines, used = lines + 1, used - per_line
        total += lines
    return total


def row_height(cells: Iterable[tuple[object, float]], bold: bool = False, size: float = 12) -> float:
    """The height (points) of a row whose cells hold these (text, column width) pairs."""
    lines = max((text_lines(str(text), width, bold) for text, width in cells if isinstance(text, str) and text),
                default=1)
    return lines * LINE_POINTS * size / 12 + ROW_PADDING


def fit_row(ws: Worksheet, row: int, cells: Iterable[tuple[object, float]], bold: bool = False,
            at_least: float = 0) -> None:
    """Set the row's height to its wrapped text's (``row_height``) when one line is not enough,
    or to ``at_least``."""
    height = max(row_height(cells, bold), at_least)
    if height > LINE_POINTS + ROW_PADDING or at_least:
        ws.set_row(row, height)


def widths_of(columns: Sequence[float], first: int, last: int) -> float:
    """The width of a cell merged over columns first..last (their padding included)."""
    return sum(columns[first:last + 1]) + (last - first) * 5 / DIGIT_PIXELS


def write_form1_header(ws: Worksheet, fmt: Formats, row: int = HEADER_ROW) -> int:
    """The two-level merged header of Biểu mẫu 1; returns the first data row."""
    ws.merge_range(row, 0, row + 1, 0, FORM1_STT, fmt.header)
    ws.merge_range(row, 1, row + 1, 1, FORM1_UNIT, fmt.header)
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(FORM1_FIELDS, start=2):
        if f.group:
            groups.setdefault(f.group, []).append(i)
            ws.write_string(row + 1, i, f.label, fmt.header)
        else:
            ws.merge_range(row, i, row + 1, i, f.label, fmt.header)
    for group, cols in groups.items():
        ws.merge_range(row, cols[0], row, cols[-1], group, fmt.header)
    fit_row(ws, row, [(group, sum(FORM1_WIDTHS[c] for c in cols)) for group, cols in groups.items()],
            bold=True, at_least=36)
    fit_row(ws, row + 1, [(f.label, FORM1_WIDTHS[i]) for i, f in enumerate(FORM1_FIELDS, start=2)],
            bold=True, at_least=96)
    for col, width in enumerate(FORM1_WIDTHS):
        ws.set_column(col, col, width)
    ws.repeat_rows(row, row + 1)  # the header atop every printed page
    return row + 2


def write_form2_header(ws: Worksheet, fmt: Formats, settings: ReportSettings, row: int = HEADER_ROW,
                       weights: bool = False) -> int:
    """The header of Biểu mẫu 2, with this report's period dates; returns the first data row.

    With ``weights`` the two optional dossier-count columns follow the official three.
    """
    heads = rate_headers(settings)
    if weights:
        for col, key in enumerate(WEIGHTS, start=FORM2_LAST_COL + 1):
            ws.merge_range(row, col, row + 1, col, f"{WEIGHT_LABELS[key]} {WEIGHT_NOTE}", fmt.header)
        ws.set_column(FORM2_LAST_COL + 1, FORM2_LAST_COL + len(WEIGHTS), WEIGHT_WIDTH)
    ws.merge_range(row, 0, row + 1, 0, FORM2_STT, fmt.header)
    ws.merge_range(row, 1, row + 1, 1, FORM2_INDICATOR, fmt.header)
    ws.merge_range(row, 2, row + 1, 2, heads["before"], fmt.header)
    ws.merge_range(row, 3, row, 4, AFTER_GROUP, fmt.header)
    ws.write_string(row + 1, 3, heads["target"], fmt.header)
    ws.write_string(row + 1, 4, heads["after"], fmt.header)
    ws.set_row(row, 30)
    tallest = [(heads[key], FORM2_WIDTHS[col]) for col, key in ((2, "before"), (3, "target"), (4, "after"))]
    tallest += [(f"{WEIGHT_LABELS[key]} {WEIGHT_NOTE}", WEIGHT_WIDTH) for key in WEIGHTS] if weights else []
    # the two rows share the merged cells' height: the first keeps its 30 points
    ws.set_row(row + 1, max(66, row_height(tallest, bold=True) - 30))
    for col, width in enumerate(FORM2_WIDTHS):
        ws.set_column(col, col, width)
    ws.repeat_rows(row, row + 1)
    return row + 2


def write_notes(ws: Worksheet, fmt: Formats, row: int, notes: list[str], last_col: int,
                widths: Sequence[float] = ()) -> int:
    """Notes under a table, one merged line each (``widths``: the columns', to size the rows);
    returns the row after them."""
    for note in notes:
        ws.merge_range(row, 0, row, last_col, note, fmt.note)
        if widths:
            ws.set_row(row, row_height([(note, widths_of(widths, 0, last_col))]))
        else:
            ws.set_row(row, 18 * max(1, len(note) // 110 + 1))
        row += 1
    return row


Cell = tuple[Any, Format | None]  # (value, format): None is a blank, a str a string, else a number


def write_row(ws: Worksheet, row: int, first_col: int, cells: Sequence[Cell]) -> None:
    """Write cells left to right from ``first_col``, each by the XlsxWriter call its value's type needs.

    Text always goes through ``write_string``, so nothing a unit typed can become a formula or a number.
    """
    for col, (value, fmt) in enumerate(cells, start=first_col):
        if value is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, str):
            ws.write_string(row, col, value, fmt)
        else:
            ws.write_number(row, col, value, fmt)
