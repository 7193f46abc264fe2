"""Macros in a package: Excel 4.0 macro sheets and the VBA project, which a feedback copy never carries.

A macro sheet (xl/macrosheets/, linked from workbook.xml as a sheet with the
macrosheet or even the worksheet relationship) runs its formulas, EXEC("calc.exe")
among them, when a name such as Auto_Open points at it; a VBA project
(xl/vbaProject.bin) is code. The copy the district sends back is the district's
document: it keeps neither, nor the names that start them. The copy keeps the
unit's suffix and its workbook's content type (an .xlsm stays macro-enabled: Excel
refuses an .xlsm whose workbook says it is an .xlsx, and opens a macro-enabled
workbook without macros with no prompt), so every link to the copy stays valid.
"""

from __future__ import annotations

import re

MACROSHEET_RELS = frozenset({
    "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
    "http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet",
})
MACROSHEET_TYPES = frozenset({"application/vnd.ms-excel.macrosheet+xml",
                              "application/vnd.ms-excel.intlmacrosheet+xml"})
RT_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
VBA_TYPE = "application/vnd.ms-office.vbaProject"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

# A macro sheet's root, relationship or content type, a VBA project's: in any part, in any case.
MACRO_MARK = re.compile(rb"(?i:macrosheet|vbaproject)")
_ROOT = re.compile(rb"<(?:[\w.\-]+:)?(?:intl)?macrosheet[\s>/]", re.IGNORECASE)
# The names Excel runs by themselves (Auto_Open as Excel 4.0 writes it, or _xlnm.Auto_Open).
_AUTO = re.compile(r"(?:_xlnm\.)?auto_(?:open|close|activate|deactivate)\b", re.IGNORECASE)


def is_macro_sheet(rel_type: str, part: str, content_type: str | None, data: bytes | None) -> bool:
    """Whether a sheet of the workbook is a macro sheet: by its relationship, its content type, its
    folder or its root element (a unit may link one with the worksheet relationship)."""
    return (rel_type in MACROSHEET_RELS or (content_type or "").lower() in MACROSHEET_TYPES
            or part.lower().lstrip("/").startswith("xl/macrosheets/")
            or (data is not None and _ROOT.search(data[:4096]) is not None))


def is_macro_name(name: str, formula: str, attrs: dict[str, str], macro_sheets: list[str]) -> bool:
    """Whether a defined name starts or points at a macro: Auto_Open and its kin, a name Excel marks as
    a macro (function, xlm, vbProcedure), or one whose formula refers to a macro sheet."""
    if _AUTO.match(name) or any(attrs.get(a, "").lower() in ("1", "true") for a in ("function", "xlm", "vbProcedure")):
        return True
    return any(refers_to(formula, sheet) for sheet in macro_sheets)


def refers_to(formula: str, sheet: str) -> bool:
    """Whether a formula refers to a sheet by name (Macro1!A1, 'Macro 1'!A1), case-insensitively."""
    text = formula.lower()
    quoted = "'" + sheet.replace("'", "''").lower() + "'!"
    return quoted in text or re.search(rf"(?<![\w.']){re.escape(sheet.lower())}!", text) is not None
