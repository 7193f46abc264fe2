"""Turn a workbook file into grids of values, or say why it cannot be read (``Unreadable``).

.xlsx is read with openpyxl; .xls, .ods and .xlsb with python-calamine in a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from defusedxml import DefusedXmlException

from ..core import problems as P
from ..core.formats import KIND_NAMES, MAX_RATIO, MAX_TOTAL_BYTES, UNSAFE_MARKUP_REASON, package_declares_entity
from .grids import MAX_COLS, MAX_ROWS, GridCell, Grid


class Unreadable(Exception):
    """A file no reader could open; ``problem`` says why, for the log."""

    def __init__(self, problem_cls: type[P.Problem], **params: object) -> None:
        super().__init__(problem_cls.code)
        self.problem_cls = problem_cls
        self.params = params


def load_openpyxl(path: Path, data_only: bool = True) -> list[Grid]:
    # Imported here: most runs read every file with python-calamine and never need it,
    # and a run's start-up is part of what the clerk waits for.
    import openpyxl

    # from a file object, so a real .xlsx named .xls is read by its content
    with open(path, "rb") as fh:
        return _grids_from_openpyxl(openpyxl.load_workbook(fh, read_only=True, data_only=data_only, keep_vba=False))


def _grids_from_openpyxl(wb) -> list[Grid]:
    try:
        grids = []
        for ws in wb.worksheets:
            cells: dict[tuple[int, int], GridCell] = {}
            for r, row in enumerate(ws.iter_rows(min_row=1, max_row=MAX_ROWS, min_col=1, max_col=MAX_COLS), start=1):
                for c, cell in enumerate(row, start=1):
                    if cell.value is not None and cell.value != "":
                        cells[(r, c)] = GridCell(cell.value, getattr(cell, "number_format", "General"))
            grid = Grid(ws.title, cells)
            grid.declared = (ws.max_row or 0, ws.max_column or 0)  # from the sheet's <dimension>, not counted
            grids.append(grid)
        return grids
    finally:
        wb.close()


def load_calamine(path: Path) -> list[Grid]:
    """Values of a .xls/.ods/.xlsb, read by python-calamine in a child process.

    The child speaks UTF-8 bytes (never the console's code page); a file too heavy
    for a report is refused before any reading, as the memory cap that backs the
    child's own checks exists only where the OS offers one (not on Windows).
    """
    size = path.stat().st_size
    if size > LEGACY_MAX_BYTES:
        raise Unreadable(P.FileUnreadable, reason=f"tệp nặng {size / (1 << 20):.0f} MB, quá lớn đối với một báo cáo")
    cmd = [sys.executable, "-m", "consolidate.read.calamine_worker", str(path), str(MAX_ROWS), str(MAX_COLS)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=WORKER_TIMEOUT, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise Unreadable(P.FileUnreadable, reason=f"đọc quá {WORKER_TIMEOUT} giây") from None
    if done.returncode != 0:
        raise Unreadable(P.FileUnreadable, reason=f"trình đọc dừng bất thường, mã {done.returncode}")
    result = json.loads(done.stdout.decode("utf-8"))
    if result.get("error") == "encrypted":
        raise Unreadable(P.FileEncrypted)
    if result.get("error") == "too-large" and "sheet" in result:
        raise Unreadable(P.FileUnreadable, reason=f"trang “{result['sheet']}” có dữ liệu trải trên {result['rows']} dòng"
                                                  f" × {result['cols']} cột, quá lớn đối với một báo cáo")
    if "error" in result:
        reason = {"too-large": "vùng dữ liệu quá lớn"}.get(result["error"], result.get("reason", result["error"]))
        raise Unreadable(P.FileUnreadable, reason=reason)
    return grids_from_sheets(result["sheets"])


WORKER_TIMEOUT = 60
ZIP_KINDS = {"xlsx", "ods", "xlsb"}  # packages of XML parts (.xlsb keeps its relationships and properties in XML)
VANISHED = "tệp đã bị xóa, di chuyển hoặc không có quyền đọc trong lúc chạy"
LEGACY_MAX_BYTES = 32 << 20  # a report is tens of kilobytes; an old .xls with pictures, a few megabytes


def _caused_by(exc: BaseException | None, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def load_grids(path: Path, kind: str) -> list[Grid]:
    """Every sheet of a workbook as a bounded grid of values, or Unreadable."""
    if kind == "encrypted":
        raise Unreadable(P.FileEncrypted)
    if kind in ZIP_KINDS and package_declares_entity(path):
        # whichever part declares it: openpyxl parses only some parts, and every path must agree
        raise Unreadable(P.FileUnsafe, reason=UNSAFE_MARKUP_REASON)
    if kind == "xlsx":
        try:
            return load_openpyxl(path)
        except Exception as exc:  # a hostile file is one log entry, never a crash
            if isinstance(exc, (FileNotFoundError, PermissionError)):
                raise Unreadable(P.FileUnreadable, reason=VANISHED) from None
            if _caused_by(exc, DefusedXmlException):
                raise Unreadable(P.FileUnsafe, reason=UNSAFE_MARKUP_REASON) from None
            raise Unreadable(P.FileUnreadable, reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if str(exc) else type(exc).__name__) from None
    if kind in {"xls", "ods", "xlsb"}:
        return load_calamine(path)
    if kind == "empty":
        raise Unreadable(P.FileUnreadable, reason="tệp rỗng, 0 byte")
    if kind == "zip-bomb":
        raise Unreadable(P.FileUnsafe, reason="là tệp nén bất thường, giải nén ra dung lượng quá lớn đối với một báo cáo "
                                              f"(zip bomb; giới hạn {MAX_TOTAL_BYTES >> 20} MB, nén không quá {MAX_RATIO} lần)")
    if kind == "unreadable":
        raise Unreadable(P.FileUnreadable, reason=VANISHED)
    if kind == "corrupt":
        raise Unreadable(P.FileUnreadable, reason="tệp nén bị hỏng hoặc không trọn vẹn")
    raise Unreadable(P.FileUnreadable, reason=f"thực chất là {KIND_NAMES.get(kind, kind)}")


def grids_from_sheets(sheets: list[dict]) -> list[Grid]:
    """Grids from the plain sheets a calamine worker returns (title, [row, column, value] cells)."""
    return [Grid(sheet["title"], {(r, c): GridCell(v) for r, c, v in sheet["cells"]}) for sheet in sheets]
