"""What a feedback copy says, shared by both ways of writing it (patched.py, openpyxl_copy.py): names, fills,
comment texts, the title lines, which files get a copy."""

from __future__ import annotations

import re
from pathlib import Path

from ...core import problems as P
from ...core.formats import FEEDBACK_DIR
from ...core.records import Submission
from ...ooxml.package import ref, split_ref
from ...ooxml.xml_text import clean_text
from ..sheets import LINE_POINTS, ROW_PADDING, row_height, widths_of

FEEDBACK_SUFFIXES = {".xlsx", ".xlsm"}  # what openpyxl can open, change and save as the unit's own format
FEEDBACK_SHEET = "Phản hồi"
AUTHOR = "Kiểm tra báo cáo"  # marks our comments, so a re-sent copy can be cleaned
TITLE_PREFIX = "Kết quả kiểm tra tệp "
RED = "FFFFC7CE"  # an error, as in the merged workbook
ORANGE = "FFF8CBAD"  # a warning; the merged workbook's pale yellow would vanish among the yellow input cells
INPUT_YELLOW = "FFFFF2CC"  # the template's fill of unlocked input cells
# A template is ~10 kB; a file whose parts unpack to more than this is not
# opened fully (openpyxl keeps every cell in memory).
MAX_UNPACKED_BYTES = 50_000_000
COLUMNS = (  # printed landscape on A4 at 100 % (sheets.print_scale), long texts wrapped
    ("STT", 6),
    ("Trang tính", 12),
    ("Ô", 8),
    ("Loại lỗi", 18),  # the kind in words (Problem.title): the unit reads it; codes stay in the district's log
    ("Mức độ", 10),
    ("Nội dung", 44),
    ("Cách khắc phục", 40),
)
HEADER_ROW = 4
# Files that get no copy: not opened, or refused. A refused file's bytes must not travel back
# to anyone, and a copy of it would carry what made it hostile.
UNOPENED = {P.FileUnreadable.code, P.FileEncrypted.code, P.FileUnsafe.code, P.FileChanged.code}
FILLS = {P.ERROR: RED, P.WARNING: ORANGE}  # a note (info) only gets the comment


def feedback_dir(out: Path) -> Path:
    return out / FEEDBACK_DIR


def needs_feedback(sub: Submission, problems: list[P.Problem]) -> bool:
    """A copy is made for an .xlsx/.xlsm that opened, was not refused, and has an error or a warning (notes alone are
    not worth one)."""
    return (
        any(p.severity in (P.ERROR, P.WARNING) for p in problems)
        and sub.kind == "xlsx"
        and Path(sub.name).suffix.lower() in FEEDBACK_SUFFIXES
        and not any(p.code in UNOPENED for p in problems)
    )


# What the copy says (shared by both ways of writing it) ----------------------


def text(value: str) -> str:
    return clean_text(value)


def from_commune(sub: Submission, p: P.Problem) -> str:
    """The commune whose figures a problem is about, in a district's merged workbook sent up (``sub.sender``), else
    "": that commune fixes them and sends again; nobody edits the district's generated file."""
    if sub.sender and p.unit and p.unit != sub.sender and p.severity in (P.ERROR, P.WARNING):
        return p.unit
    return ""


def message_text(sub: Submission, p: P.Problem) -> str:
    """What is wrong, naming the commune when the copy goes back to a district."""
    commune = from_commune(sub, p)
    return f"{commune}: {p.message}" if commune else p.message


def fix_text(sub: Submission, p: P.Problem) -> str:
    """The fix told to the file's sender: its own cells for a unit; for a district, the commune that must fix them."""
    commune = from_commune(sub, p)
    if not commune:
        return p.unit_how_to_fix
    check = "sửa" if p.severity == P.ERROR else "kiểm tra lại (sửa nếu sai)"
    return (f"Số liệu của {commune}: đề nghị {commune} {check} và gửi lại, rồi tổng hợp lại và gửi lại báo cáo "
            "tổng hợp; không sửa trực tiếp trong tệp tổng hợp.")


def comment_text(sub: Submission, problems: list[P.Problem]) -> str:
    return "\n\n".join(f"{message_text(sub, p)}\nCách sửa: {fix_text(sub, p)}" for p in problems)


UNIT_NOTE_LINE = "— Ghi chú có sẵn của đơn vị ({author}) —"
_UNIT_NOTE = re.compile(r"\n\n— Ghi chú có sẵn của đơn vị \((.*?)\) —\n(.*)\Z", re.S)


def with_unit_note(ours: str, author: str, text: str) -> str:
    """Our comment with the unit's own note of that cell below it, behind a line that lets
    the next round give the unit its note back (a cell has room for one comment only)."""
    return f"{ours}\n\n{UNIT_NOTE_LINE.format(author=author)}\n{text}"


def unit_note(ours: str) -> tuple[str, str] | None:
    """(author, text) of the unit's note kept inside one of our comments, if there is one."""
    m = _UNIT_NOTE.search(ours)
    return (m[1], m[2]) if m else None


def comment_size(text: str) -> tuple[int, int]:
    """(width, height) in pixels of a comment box that shows the whole text."""
    lines = sum(1 + len(line) // 45 for line in text.splitlines())
    return 320, min(40 + 15 * lines, 400)


def worst_fill(found: list[P.Problem]) -> str | None:
    return next((FILLS[sev] for sev in (P.ERROR, P.WARNING) if any(p.severity == sev for p in found)), None)


def cell_of(p: P.Problem) -> tuple[int, int] | None:
    """(row, column) of the problem's cell, None when it names no single cell of a sheet."""
    if not p.cell or p.sheet == FEEDBACK_SHEET:
        return None
    try:
        return split_ref(p.cell)
    except ValueError:
        return None


SEVERITY_RANK = {P.ERROR: 0, P.WARNING: 1, P.INFO: 2}


def order(p: P.Problem, sheet_index: dict[str, int]) -> tuple:
    """Errors first, then warnings, then notes (what must be fixed before what is only said);
    within each, the file-wide ones, then by sheet and cell."""
    try:
        row, col = split_ref(p.cell) if p.cell else (0, 0)
    except (ValueError, TypeError):
        row, col = 0, 0
    return (SEVERITY_RANK.get(p.severity, 3), bool(p.cell), sheet_index.get(p.sheet, -1), row, col)


def row_values(sub: Submission, n: int, p: P.Problem) -> tuple:
    """One problem's row of the 'Phản hồi' sheet, in COLUMNS' order (both ways of writing the copy)."""
    return (n, p.sheet, p.cell, p.title, p.severity_label, message_text(sub, p), fix_text(sub, p))


def summary_line(problems: list[P.Problem]) -> str:
    errors = sum(1 for p in problems if p.severity == P.ERROR)
    warnings = sum(1 for p in problems if p.severity == P.WARNING)
    notes = len(problems) - errors - warnings
    counts = f"Có {errors} lỗi, {warnings} cảnh báo" + (f" và {notes} thông tin." if notes else ".")
    marked = "Ô có lỗi được tô đỏ, ô có cảnh báo tô cam; mỗi ô có ghi chú (rê chuột vào ô để xem)."
    return f"{counts} {marked} Sửa xong, lưu tệp và gửi lại."


def row_heights(titles: dict[int, str], rows: dict[int, tuple]) -> dict[int, float]:
    """The heights (points) of the sheet's rows (1-based) whose text wraps to more than one line,
    from the text's length: neither Excel nor LibreOffice fits a written file's rows on open."""
    span = widths_of([w for _, w in COLUMNS], 0, len(COLUMNS) - 1)
    heights = {1: max(22.0, row_height([(titles.get(1, ""), span)], bold=True, size=14)),
               3: max(32.0, row_height([(titles.get(3, ""), span)]))}
    if 2 in titles:
        heights[2] = row_height([(titles[2], span)])
    for row, values in rows.items():
        heights[row] = row_height((str(v), w) for v, (_, w) in zip(values, COLUMNS) if v is not None)
    return {row: h for row, h in heights.items() if h > LINE_POINTS + ROW_PADDING or row in (1, 3)}


def title_lines(sub: Submission, problems: list[P.Problem]) -> dict[int, str]:
    # a district's merged workbook goes back to the district, not to each of its communes
    units = (f"{sub.sender} (báo cáo tổng hợp của {len(set(sub.matched.values()))} đơn vị)" if sub.sender
             else ", ".join(u.name for u in sub.units))
    lines = {1: TITLE_PREFIX + sub.name, 3: summary_line(problems)}
    if units:
        lines[2] = f"Đơn vị: {units}"
    return lines


def sheet_title(existing: list[str]) -> str:
    """Our sheet's name; a unit's own sheet called 'Phản hồi' keeps its name."""
    taken = {name.casefold() for name in existing}
    title = FEEDBACK_SHEET if FEEDBACK_SHEET.casefold() not in taken else f"{FEEDBACK_SHEET} (kiểm tra)"
    n = 1
    while title.casefold() in taken:
        n += 1
        title = f"{FEEDBACK_SHEET} (kiểm tra {n})"
    return title


def unlogged_external(sub: Submission, problems: list[P.Problem],
                       removed: list[tuple[str, tuple[int, int], str]]) -> list[P.Problem]:
    """A note for each formula removed from the copy that the run did not log (one beyond the rows and
    columns read): every cell whose formula is gone says why."""
    logged = {(p.sheet, p.cell) for p in problems if p.code == P.FormulaExternal.code}
    return [P.FormulaExternal(file=sub.name, sheet=sheet, cell=ref(*cell), formula="=" + formula)
            for sheet, cell, formula in removed if (sheet, ref(*cell)) not in logged]
