"""The official layout of the two forms as XlsxWriter calls.

Shared by the blank templates and the merged workbook, so a unit fills
exactly the table the district sends upward.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import xlsxwriter
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


def write_titles(ws: Worksheet, fmt: Formats, form_label: str, title: str, subtitle: str, last_col: int) -> None:
    ws.write_string(0, 0, form_label, fmt.form_label)
    ws.merge_range(1, 0, 1, last_col, title, fmt.title)
    ws.set_row(1, 36)
    ws.merge_range(2, 0, 2, last_col, subtitle, fmt.subtitle)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)


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
    ws.set_row(row, 36)
    ws.set_row(row + 1, 96)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 26)
    ws.set_column(2, FORM1_LAST_COL, 13)
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
        ws.set_column(FORM2_LAST_COL + 1, FORM2_LAST_COL + len(WEIGHTS), 18)
    ws.merge_range(row, 0, row + 1, 0, FORM2_STT, fmt.header)
    ws.merge_range(row, 1, row + 1, 1, FORM2_INDICATOR, fmt.header)
    ws.merge_range(row, 2, row + 1, 2, heads["before"], fmt.header)
    ws.merge_range(row, 3, row, 4, AFTER_GROUP, fmt.header)
    ws.write_string(row + 1, 3, heads["target"], fmt.header)
    ws.write_string(row + 1, 4, heads["after"], fmt.header)
    ws.set_row(row, 30)
    ws.set_row(row + 1, 66)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 36)
    ws.set_column(2, 4, 24)
    return row + 2


def write_notes(ws: Worksheet, fmt: Formats, row: int, notes: list[str], last_col: int) -> int:
    """Notes under a table, one merged line each; returns the row after them."""
    for note in notes:
        ws.merge_range(row, 0, row, last_col, note, fmt.note)
        ws.set_row(row, 18 * max(1, len(note) // 110 + 1))
        row += 1
    return row
