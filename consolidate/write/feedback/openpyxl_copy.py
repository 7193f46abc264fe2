"""The feedback copy through a full openpyxl load and save: the fallback for packages the patcher refuses.

Slower (~65 ms a copy) and lossy (openpyxl drops parts it does not model and
the cached values of formulas), so it is only used when feedback's patcher
raises; it lives apart so a run that never needs it never imports openpyxl.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.properties import CalcProperties
from openpyxl.workbook.workbook import Workbook
from openpyxl.writer.excel import ExcelWriter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from ...core import problems as P
from . import content as C
from .content import AUTHOR, COLUMNS, FEEDBACK_SHEET, FILLS, HEADER_ROW, INPUT_YELLOW, MAX_UNPACKED_BYTES, TITLE_PREFIX
from ...ooxml.external import external_names, external_relationships, is_external, package_scan, rels_source
from ...ooxml.macros import XLSM_MAIN, XLSX_MAIN, is_macro_name
from ...ooxml.xml_text import without_doctype
from ..files import atomic_target
from ...ooxml.package import NEW_PART_TIME, Rels
from ...core.records import Submission
from ..sheets import FOOTER, SIDE_MARGIN


def openpyxl_copy(sub: Submission, problems: list[P.Problem], target: Path, data: bytes | None = None) -> bool:
    """The copy through a full openpyxl load and save: the fallback for packages the patcher refuses.

    Made from ``data``, the bytes the run checked, when given (else the file as it is now).
    """
    data = sub.path.read_bytes() if data is None else data
    if _unpacked_size(data) > MAX_UNPACKED_BYTES:
        return False
    wb = None
    try:
        # No VBA project kept, ever (see ooxml.macros): the copy is the district's document
        wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, rich_text=True)
        _leave_macros_out(wb, data)
        if wb.calculation is None:
            wb.calculation = CalcProperties()
        wb.calculation.fullCalcOnLoad = True  # openpyxl keeps formulas but not their cached values
        _clean_previous_feedback(wb)
        problems = problems + C.unlogged_external(sub, problems, _strip_external_formulas(wb, data))
        _mark_cells(wb, sub, problems)
        _add_feedback_sheet(wb, sub, problems)
        _keep_source_dates(wb, data)
        with atomic_target(target, sweep=False) as tmp:  # swept once in write_feedback
            _save(wb, tmp, macro_enabled=target.suffix.lower() == ".xlsm")
    except OSError:  # a full disk is the run's problem, as for the other outputs
        raise
    except Exception:  # a file that read-only reading survived but a full load or save does not
        return False
    finally:
        _close_vba_archive(wb)
    return True


def _close_vba_archive(wb: Workbook | None) -> None:
    """Close the zip openpyxl keeps an .xlsm's macro parts in (``keep_vba``): a ZipFile opened for
    appending on a BytesIO that nothing closes. Left to the cycle collector, the BytesIO could be
    finalized first, and the ZipFile's ``__del__`` then failed writing its directory to a closed
    file: "Exception ignored in: ZipFile.__del__ … ValueError: I/O operation on closed file" on
    the clerk's console, whenever the collector ran next."""
    archive = getattr(wb, "vba_archive", None)
    if archive is not None:
        try:
            archive.close()
        except (OSError, ValueError):  # nothing of it is written anywhere: what is left is garbage
            pass


def _leave_macros_out(wb: Workbook, data: bytes) -> None:
    """What the patcher does (``XlsxPatch``, ``ooxml.macros``), on openpyxl's model: no macro sheet (openpyxl
    reads one as a worksheet) and no name that starts one or points at one. The VBA project was not loaded."""
    macro_sheets = package_scan(io.BytesIO(data)).macro_sheets
    for name in macro_sheets:
        if name in wb.sheetnames:
            wb.remove(wb[name])
    for scope in (wb.defined_names, *(ws.defined_names for ws in wb.worksheets)):
        for key, dn in list(scope.items()):
            flags = {"function": "1" if dn.function else "", "xlm": "1" if dn.xlm else "",
                     "vbProcedure": "1" if dn.vbProcedure else ""}
            if is_macro_name(key, dn.attr_text or "", flags, macro_sheets):
                del scope[key]


def _strip_external_formulas(wb: Workbook, data: bytes) -> list[tuple[str, tuple[int, int], str]]:
    """What the patcher does (``XlsxPatch.strip_external_formulas``), on openpyxl's model: each formula
    that reaches outside the workbook becomes the value the file stored for it (read from a second,
    values-only load, made only when there is one); links to other workbooks and the names that point
    there are dropped. Return (sheet, cell, formula) of each formula removed."""
    scopes = (wb.defined_names, *(ws.defined_names for ws in wb.worksheets))
    names = external_names((key, dn.attr_text or "") for scope in scopes for key, dn in scope.items())
    found = []
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):  # only the cells the file has
            text = getattr(cell.value, "text", cell.value)  # an array formula carries its text
            if isinstance(text, str) and text.startswith("=") and cell.data_type == "f" \
                    and is_external(text[1:], names):
                found.append((ws, cell, text))
    if found:
        cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
        for ws, cell, _ in found:
            cell.value = cached[ws.title].cell(cell.row, cell.column).value
    wb._external_links = []
    for scope in scopes:
        for key in [k for k in scope if k.upper() in names]:
            del scope[key]
    for ws in wb.worksheets:
        _strip_external_rules(ws, names)
    return [(ws.title, (cell.row, cell.column), text[1:]) for ws, cell, text in found]


def _strip_external_rules(ws: Worksheet, names: frozenset[str]) -> None:
    """What the patcher does to a sheet (``XlsxPatch``, ``unlink``), on openpyxl's model: no conditional
    format's rule and no data validation whose formula reaches outside, no hyperlink to an outside
    address (a link inside the workbook stays). openpyxl keeps no linked picture and no DTD of its own."""
    kept = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if not any(is_external(str(f), names) for f in rule.formula or ()):
                kept.add(str(cf.sqref), rule)
    ws.conditional_formatting = kept
    validations = ws.data_validations.dataValidation
    validations[:] = [dv for dv in validations
                      if not any(f and is_external(str(f), names) for f in (dv.formula1, dv.formula2))]
    for cell in list(ws._cells.values()):  # only the cells the file has
        if cell.hyperlink is not None and cell.hyperlink.target:
            if cell.value == cell.hyperlink.target:  # openpyxl shows a link's address in a cell without text
                cell.value = None
            cell.hyperlink = None


def _unpacked_size(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return MAX_UNPACKED_BYTES + 1


# The same inbox gives the same bytes: openpyxl's own save stamps the document's "modified"
# property and every zip member with the current time.


def _keep_source_dates(wb: Workbook, data: bytes) -> None:
    """The document's created and modified dates as the unit's file has them, not "now".

    openpyxl fills a date the file does not have with the time of loading; such a
    date is dropped instead.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            core = zf.read("docProps/core.xml") if "docProps/core.xml" in zf.namelist() else b""
    except (zipfile.BadZipFile, OSError):
        core = b""
    if b"created" not in core:
        wb.properties.created = None
    if b"modified" not in core:
        wb.properties.modified = None


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose members all carry one fixed time (openpyxl writes parts by name and from temporary files),
    and none of them reaching outside by itself: openpyxl writes some parts as it read them (the theme,
    an .xlsm's VML drawings), so a document type declaration or a relationship to an outside address
    is dropped here, whatever the part (``ooxml.unlink`` does the same for the patched copy)."""

    macro_enabled = False  # an .xlsm's copy: its workbook keeps the macro-enabled content type (ooxml.macros)

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # noqa: D102
        name = zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        data = _inside_only(name, data.encode("utf-8") if isinstance(data, str) else data)
        if name == "[Content_Types].xml" and self.macro_enabled:
            data = data.replace(XLSX_MAIN.encode(), XLSM_MAIN.encode())
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=NEW_PART_TIME)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # noqa: D102
        with open(filename, "rb") as fh:
            self.writestr(arcname or Path(filename).name, fh.read(), compress_type, compresslevel)


def _inside_only(name: str, data: bytes) -> bytes:
    """A part as the copy writes it: without a document type declaration, and for a relationships part
    without the relationships to an outside address."""
    if name.lower().endswith(_MEDIA):
        return data
    data = without_doctype(data) or data
    if name.endswith(".rels") and external_relationships(data):
        rels = Rels(rels_source(name), data)
        for rel in [r for r in rels.items if r.get("TargetMode") == "External"]:
            rels.remove(rel["Id"])
        data = rels.xml()
    return data


_MEDIA = (".png", ".jpeg", ".jpg", ".gif", ".bmp", ".emf", ".wmf", ".bin")


def _save(wb: Workbook, target: Path, macro_enabled: bool = False) -> None:
    """openpyxl's save without its clock: the dates stay the source's, the members' times fixed."""
    with _FixedTimeZip(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.macro_enabled = macro_enabled
        ExcelWriter(wb, archive).write_data()



def _put(ws: Worksheet, row: int, col: int, value: object):
    """Write a value; a string is always text, never a formula."""
    cell = ws.cell(row, col)
    if isinstance(value, str):
        cell.value = C.text(value)
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _is_ours(comment: Comment | None) -> bool:
    return comment is not None and comment.author == AUTHOR


def _clean_previous_feedback(wb: Workbook) -> None:
    """A unit may send back last round's copy: drop our old sheet, comments and red fills."""
    if FEEDBACK_SHEET in wb.sheetnames:
        old = wb[FEEDBACK_SHEET]
        if str(old.cell(1, 1).value or "").startswith(TITLE_PREFIX):
            wb.remove(old)
    for ws in wb.worksheets:
        # Only the cells the file has: iter_rows() would create every cell up to a stray XFD1048576.
        for cell in list(ws._cells.values()):
            if _is_ours(cell.comment):
                kept = C.unit_note(cell.comment.text)
                cell.comment = None
                if kept is not None:  # the unit's own note, given back as it was
                    width, height = C.comment_size(kept[1])
                    cell.comment = Comment(kept[1], kept[0], height=height, width=width)
                if cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb in FILLS.values():
                    # The template's own look: yellow input cells, plain locked cells.
                    cell.fill = _solid(INPUT_YELLOW) if not cell.protection.locked else PatternFill()


def _solid(rgb: str) -> PatternFill:
    return PatternFill(fill_type="solid", fgColor=rgb, bgColor=rgb)


def _target_cell(wb: Workbook, p: P.Problem):
    """The worksheet cell a problem points at, or None when it has no place in the file."""
    if not p.cell or p.sheet not in wb.sheetnames or p.sheet == FEEDBACK_SHEET:
        return None
    ws = wb[p.sheet]
    if not isinstance(ws, Worksheet):
        return None
    try:
        row, col = coordinate_to_tuple(p.cell)
    except (ValueError, TypeError):
        return None
    cell = ws.cell(row, col)
    if isinstance(cell, MergedCell):  # only a merged range's first cell can carry a comment
        for rng in ws.merged_cells.ranges:
            if cell.coordinate in rng:
                cell = ws.cell(rng.min_row, rng.min_col)
                break
    return cell


def _mark_cells(wb: Workbook, sub: Submission, problems: list[P.Problem]) -> None:
    by_cell: dict[tuple[str, str], tuple[object, list[P.Problem]]] = {}
    for p in problems:
        cell = _target_cell(wb, p)
        if cell is not None:
            key = (cell.parent.title, cell.coordinate)
            by_cell.setdefault(key, (cell, []))[1].append(p)
    for cell, found in by_cell.values():
        text = C.comment_text(sub, found)
        if cell.comment is not None:  # the unit's own note stays, below ours
            text = C.with_unit_note(text, cell.comment.author or "", cell.comment.text)
        width, height = C.comment_size(text)
        cell.comment = Comment(C.text(text), AUTHOR, height=height, width=width)
        worst = C.worst_fill(found)
        if worst is not None:
            cell.fill = _solid(worst)


def _add_feedback_sheet(wb: Workbook, sub: Submission, problems: list[P.Problem]) -> None:
    sheet_index = {name: i for i, name in enumerate(wb.sheetnames)}
    title = FEEDBACK_SHEET if FEEDBACK_SHEET not in wb.sheetnames else f"{FEEDBACK_SHEET} (kiểm tra)"
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False
    ws = wb.create_sheet(title, 0)
    wb.active = 0
    ws.sheet_view.tabSelected = True

    titles = C.title_lines(sub, problems)  # as the patched copy's: a district's workbook is addressed to the district
    for row, value in titles.items():
        _put(ws, row, 1, value)
    ws.cell(1, 1).font = Font(bold=True, size=14)
    wrap = Alignment(wrap_text=True, vertical="top")
    header_fill = _solid("FFDDEBF7")
    for col, (label, width) in enumerate(COLUMNS, start=1):
        cell = _put(ws, HEADER_ROW, col, label)
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        ws.column_dimensions[cell.column_letter].width = width

    ordered = sorted(problems, key=lambda p: C.order(p, sheet_index))
    texts: dict[int, tuple] = {}
    for n, p in enumerate(ordered, start=1):
        row = HEADER_ROW + n
        values = C.row_values(sub, n, p)
        texts[row] = values
        for col, value in enumerate(values, start=1):
            _put(ws, row, col, value).alignment = wrap
        if p.cell and _target_cell(wb, p) is not None:
            link = ws.cell(row, 3)
            sheet = p.sheet.replace("'", "''")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{sheet}'!{p.cell}", display=p.cell)
            link.font = Font(color="FF0563C1", underline="single")
        if p.severity == P.ERROR:
            ws.cell(row, 5).font = Font(bold=True, color="FF9C0006")
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    for row in (1, 2, 3):  # the title lines span the table and wrap
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(COLUMNS))
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    for row, height in C.row_heights(titles, texts).items():
        ws.row_dimensions[row].height = height
    ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN
    ws.oddFooter.center.text = FOOTER.removeprefix("&C")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
