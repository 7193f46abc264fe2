"""Write the ready-to-fill template of one unit.

Excel itself refuses a negative or fractional count and a rate outside
0–100; sheets are protected (no password) so only the yellow input cells
change; Tổng số is a formula, so the commonest error cannot arise at source.
"""

from __future__ import annotations

from pathlib import Path

from ..core.registry import Registry, ReportSettings, Unit
from .sheets import (
    FIRST_DATA_ROW,
    FORM1_LAST_COL,
    FORM1_WIDTHS,
    FORM2_LAST_COL,
    FORM2_WIDTHS,
    WEIGHT_WIDTH,
    Formats,
    fit_row,
    new_workbook,
    widths_of,
    write_form1_header,
    write_form2_header,
    write_notes,
    write_titles,
)
from ..core.template import (FORM1_FIELDS, FORM1_SHEET, FORM2_INDICATORS, FORM2_SHEET, RATES, STAMP_PROPERTY, TOTAL_PARTS,
                             WEIGHTS, template_stamp)

COUNT_RULE = {
    "validate": "integer",
    "criteria": ">=",
    "value": 0,
    "input_title": "Nhập số lượng",
    "input_message": "Số nguyên từ 0 trở lên (không có thì nhập 0).",
    "error_title": "Số lượng không hợp lệ",
    "error_message": "Số lượng phải là số nguyên, không âm (0, 1, 2, …).",
}
RATE_RULE = {
    "validate": "decimal",
    "criteria": "between",
    "minimum": 0,
    "maximum": 100,
    "input_title": "Nhập tỷ lệ %",
    "input_message": "Tỷ lệ phần trăm từ 0 đến 100, ví dụ 97,8.",
    "error_title": "Tỷ lệ không hợp lệ",
    "error_message": "Tỷ lệ phải nằm trong khoảng 0–100 (%).",
}


Form1Values = dict[str, float | int | None]
Form2Values = dict[str, dict[str, float | None]]


def write_template(
    unit: Unit,
    settings: ReportSettings,
    path: Path,
    form1: Form1Values | None = None,
    form2: Form2Values | None = None,
    total_formula: bool = True,
) -> Path:
    """One unit's workbook; with values it is a filled submission (the sample inbox).

    ``total_formula=False`` types Tổng số as a number, as units did in templates
    made before the formula existed.
    """
    form1 = form1 or {}
    form2 = form2 or {}
    with new_workbook(path, settings.report_date) as wb:
        # the version stamp the reader checks (core.template): a file filled in an older template is told so
        wb.set_custom_property(STAMP_PROPERTY, template_stamp(settings))
        fmt = Formats(wb)
        subtitle = f"Đơn vị báo cáo: {unit.name}"
        help_text = "Nhập số liệu vào các ô màu vàng. Tổng số được tính tự động bằng tổng ba cột thành phần."

        # Biểu mẫu 1
        ws = wb.add_worksheet(FORM1_SHEET)
        write_titles(ws, fmt, FORM1_SHEET, settings.form1_title, subtitle, FORM1_LAST_COL, FORM1_WIDTHS)
        ws.merge_range(3, 0, 3, FORM1_LAST_COL, help_text, fmt.note)
        fit_row(ws, 3, [(help_text, widths_of(FORM1_WIDTHS, 0, FORM1_LAST_COL))])
        row = write_form1_header(ws, fmt)
        ws.write_number(row, 0, 1, fmt.center)
        ws.write_string(row, 1, unit.name, fmt.text)
        fit_row(ws, row, [(unit.name, FORM1_WIDTHS[1])])
        for col, f in enumerate(FORM1_FIELDS, start=2):
            value = form1.get(f.key)
            if f.key == "total" and total_formula:
                parts = [form1.get(p) or 0 for p in TOTAL_PARTS]
                ws.write_formula(row, col, f"=D{row + 1}+E{row + 1}+F{row + 1}", fmt.count, sum(parts))
            elif value is None:
                ws.write_blank(row, col, None, fmt.input_count)
            else:
                ws.write_number(row, col, value, fmt.input_count)
        ws.data_validation(row, 3 if total_formula else 2, row, FORM1_LAST_COL, COUNT_RULE)
        ws.protect("", {"format_columns": True, "format_rows": True})
        ws.freeze_panes(FIRST_DATA_ROW, 2)

        # Biểu mẫu 2
        ws = wb.add_worksheet(FORM2_SHEET)
        widths = (*FORM2_WIDTHS, *(WEIGHT_WIDTH,) * len(WEIGHTS))
        write_titles(ws, fmt, FORM2_SHEET, settings.form2_title, subtitle, FORM2_LAST_COL + len(WEIGHTS), widths)
        ws.merge_range(3, 0, 3, FORM2_LAST_COL + len(WEIGHTS), "Nhập tỷ lệ phần trăm (0–100) vào các ô màu vàng.", fmt.note)
        row = write_form2_header(ws, fmt, settings, weights=True)
        for n, ind in enumerate(FORM2_INDICATORS):
            r = row + n
            ws.write_number(r, 0, n + 1, fmt.center)
            ws.write_string(r, 1, ind.label, fmt.text)
            fit_row(ws, r, [(ind.label, FORM2_WIDTHS[1])])
            for col, key in enumerate((*RATES, *WEIGHTS), start=2):
                value = form2.get(ind.key, {}).get(key)
                style = fmt.input_rate if key in RATES else fmt.input_count
                if value is None:
                    ws.write_blank(r, col, None, style)
                else:
                    ws.write_number(r, col, value, style)
        last = row + len(FORM2_INDICATORS) - 1
        ws.data_validation(row, 2, last, FORM2_LAST_COL, RATE_RULE)
        ws.data_validation(row, FORM2_LAST_COL + 1, last, FORM2_LAST_COL + len(WEIGHTS), COUNT_RULE)
        notes = [
            "Ghi chú:",
            *settings.form2_notes,
            "Hai cột số hồ sơ không bắt buộc; nếu nhập, tỷ lệ chung của huyện được tính bình quân theo số hồ sơ.",
        ]
        write_notes(ws, fmt, last + 2, notes, FORM2_LAST_COL + len(WEIGHTS), widths)
        ws.protect("", {"format_columns": True, "format_rows": True})
    return path


def template_name(unit: Unit) -> str:
    return f"mau-bao-cao-{unit.code}.xlsx"


def write_templates(registry: Registry, settings: ReportSettings, out: Path) -> list[Path]:
    """A blank template for every unit expected to report."""
    return [write_template(u, settings, out / template_name(u)) for u in registry.reporting_units()]
