"""The tidy rows as a real workbook (``so-lieu.xlsx``): the same rows as ``so-lieu.csv``, for people who open
them in Excel or LibreOffice Calc.

A CSV carries no encoding of its own: LibreOffice's import dialog guesses one, and a wrong guess shows
"XÃ£" for "Xã". A workbook stores its text as Unicode, so it opens right in both, with numbers as numbers
and the Vietnamese column titles above the machine names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from .sheets import new_workbook

TIDY_XLSX = "so-lieu.xlsx"
TITLES = {"period": "Kỳ báo cáo", "unit_code": "Mã đơn vị", "unit_name": "Tên đơn vị", "form": "Biểu mẫu",
          "field": "Mã chỉ tiêu", "value": "Giá trị", "status": "Trạng thái", "file": "Tệp nguồn",
          "sheet": "Trang tính", "cell": "Ô"}
WIDTHS = {"unit_name": 28, "field": 34, "file": 30, "sheet": 14}


def write_tidy_workbook(rows: Sequence[dict[str, str]], columns: Sequence[str], out: Path,
                        created: dt.date | None = None) -> Path:
    """``so-lieu.xlsx`` in ``out``: a title row in Vietnamese, the column names, then one row per value
    (a number where the CSV has a number, every other cell as text, never a formula)."""
    path = Path(out) / TIDY_XLSX
    with new_workbook(path, created or dt.date(2000, 1, 1), "Số liệu theo kỳ") as wb:
        ws = wb.add_worksheet("Số liệu")
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for c, name in enumerate(columns):
            ws.write_string(0, c, TITLES.get(name, name), bold)
            ws.write_string(1, c, name, bold)
            ws.set_column(c, c, WIDTHS.get(name, 12))
        for r, row in enumerate(rows, start=2):
            for c, name in enumerate(columns):
                text = row[name]
                number = _number(text) if name == "value" else None
                if number is not None:
                    ws.write_number(r, c, number)
                elif text:
                    ws.write_string(r, c, text)
        ws.freeze_panes(2, 0)
        ws.autofilter(1, 0, 1 + len(rows), len(columns) - 1)
    return path


def _number(text: str) -> float | None:
    try:
        return float(text) if text and text.strip() == text else None
    except ValueError:
        return None
