"""Write the district's merged workbook: the two official forms and the detail sheet of Biểu mẫu 2.

The sheets that list rather than report (Tình trạng nộp, Nhật ký lỗi, Nguồn dữ liệu) are in
listing_sheets.py; the layout both share is in sheets.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from ..core import problems as P
from ..core.consolidation import SETTING, WEIGHTED, Aggregate, Consolidated, LeftOut, form1_sums
from ..core.results import MISSING, REPORTED, STATUS_LABELS, UNUSABLE, RunResult
from ..core.numbers import format_number, interpret
from ..core.records import Record
from ..core.registry import Unit
from .listing_sheets import STATUS_SHEET, write_log, write_origins, write_status
from .sheets import (
    FIRST_DATA_ROW,
    FORM1_LAST_COL,
    FORM1_WIDTHS,
    FORM2_LAST_COL,
    FORM2_WIDTHS,
    Cell,
    Formats,
    fit_row,
    keep_on_one_page,
    new_workbook,
    row_height,
    set_print,
    widths_of,
    write_form1_header,
    write_row,
    write_form2_header,
    write_notes,
    write_titles,
)
from ..core.template import (
    DETAIL_SHEET,
    FORM1_FIELDS,
    FORM1_LABELS,
    FORM1_SHEET,
    FORM2_INDICATORS,
    FORM2_SHEET,
    LOG_SHEET,
    RATE_SHORT,
    RATES,
    WEIGHT_LABELS,
    WEIGHTS,
)

@dataclass(frozen=True)
class Use:
    """What a sheet's figures feed, in the words of their comments."""

    left_out: str  # said of a figure in error
    taken: str  # said of a figure with only warnings: "{value}" is the value used
    tied: str  # said of a figure left out with the others of a rule that one of them breaks


FOR_TOTALS = Use("Số liệu lỗi này không được cộng vào Tổng cộng.",
                 "Vẫn được cộng vào Tổng cộng theo giá trị {value}.",
                 "Số liệu này không được cộng vào Tổng cộng: nó thuộc cùng một quy tắc với ô lỗi nêu trên, "
                 "nên cả nhóm số liệu của quy tắc đó đều không được cộng.")
FOR_MEANS = Use("Số liệu lỗi này không được tính vào Biểu mẫu 2.",
                "Vẫn được tính vào Biểu mẫu 2 theo giá trị {value}.",
                "Số liệu này không được tính vào Biểu mẫu 2: nó thuộc cùng một quy tắc với ô lỗi nêu trên, "
                "nên cả nhóm số liệu của quy tắc đó đều không được tính.")


def _value_columns(fmt: Formats, kinds: list[str]) -> list[tuple[str, Format]]:
    """Each value column's kind ("count" or "rate") and plain format, looked up once, not per cell."""
    plain = {"count": fmt.count, "rate": fmt.figure_rate}
    return [(kind, plain[kind]) for kind in kinds]


def _value_cells(ws: Worksheet, fmt: Formats, row: int, first_col: int, recs: list[Record | None],
                 columns: list[tuple[str, Format]], c: Consolidated, use: Use) -> list[Cell]:
    """Units' values as submitted, for ``write_row``; a flagged cell, or one left out with the figures of
    a broken rule, also gets its comment here."""
    cells: list[Cell] = []
    text = fmt.text
    flags, excluded = c.flags, c.excluded
    col = first_col - 1
    for rec, (kind, plain) in zip(recs, columns):
        col += 1
        if rec is None:
            cells.append((None, plain))
            continue
        value = rec.value
        found = flags.get(rec.source)
        left_out = excluded.get(rec.source) if excluded else None
        if found or left_out:
            cells.append(_flagged(ws, fmt, row, col, rec, kind, found or [], left_out, use))
        elif value is None or isinstance(value, float):
            cells.append((value, plain))
        else:
            cells.append((value, text))  # text where a number belongs, shown as typed
    return cells


def _flagged(ws: Worksheet, fmt: Formats, row: int, col: int, rec: Record, kind: str, found: list,
             left_out: LeftOut | None, use: Use) -> Cell:
    """A flagged value, coloured by its worst problem, with the messages and its source as a comment.

    A figure left out (in error, or tied by a rule that one of its figures breaks) is written as the
    text the unit typed: Excel's and LibreOffice's SUM skip text, so no total adds it, and it still
    reads as the unit typed it (2,5 is not shown as 3). The comment says whether the figure counts,
    so the province need not know the rule.
    """
    value = rec.value
    lines = [p.message for p in found]
    if left_out is not None:
        if isinstance(value, float):
            value, style = as_typed(rec, percent=kind == "rate"), fmt.error["typed"]
        else:
            style = fmt.error[kind] if value is None else fmt.error["text"]
        if left_out.own:
            lines.append(use.left_out)
        else:  # a right-looking figure: the error of its rule first, then why it is not added
            lines[:0] = [left_out.problem.message]
            lines.append(use.tied)
    else:
        style = fmt.warning[kind] if isinstance(value, float) or value is None else fmt.warning["text"]
        if isinstance(value, float):
            lines.append(use.taken.format(value=format_number(value, decimals=10)))
    lines.append(f"{rec.source.file} – {rec.source.sheet}!{rec.source.cell}")
    ws.write_comment(row, col, "\n".join(lines), {"x_scale": 2.2, "y_scale": max(1.6, 0.4 * len(lines))})
    return value, style


def as_typed(rec: Record, percent: bool = False) -> str:
    """A figure as the unit typed it, as text: the typed text itself when it reads as this figure,
    else the number in Vietnamese notation ("2,5", "-1").

    Read back (a province reading a district's workbook), the text gives the same figure, so the
    same rules flag it again.
    """
    raw = rec.raw
    if isinstance(raw, str) and interpret(raw, percent=percent).value == rec.value:
        return raw
    return number_text(rec.value, percent)


def number_text(value: float, percent: bool = False) -> str:
    """A number in full, with a decimal comma, that reads back as itself (no exponent, no rounding)."""
    if value.is_integer():
        return str(int(value))
    text = format(Decimal(repr(value)), "f").replace(".", ",")
    if interpret(text, percent=percent).value != value:  # "1,234" reads as a thousands group
        text += "0"
    return text


def _form1(wb, fmt: Formats, result: RunResult) -> None:
    c: Consolidated = result.consolidated
    s = result.settings
    ws = wb.add_worksheet(FORM1_SHEET)
    write_titles(ws, fmt, FORM1_SHEET, s.form1_title, s.attachment_line, FORM1_LAST_COL, FORM1_WIDTHS)
    row = write_form1_header(ws, fmt)
    first, n = row, 0
    subtotals: list[int] = []
    columns = _value_columns(fmt, ["count"] * len(FORM1_FIELDS))
    for group, members in result.registry.groups():
        if group is not None:  # a province: each district's units, then the district's subtotal
            ws.write_blank(row, 0, None, fmt.group)
            ws.merge_range(row, 1, row, FORM1_LAST_COL, group.name, fmt.group)
            fit_row(ws, row, [(group.name, widths_of(FORM1_WIDTHS, 1, FORM1_LAST_COL))], bold=True)
            row += 1
        group_first = row
        for unit in members:
            n += 1
            values = c.form1.get(unit.code)
            if values is None:
                write_row(ws, row, 0, [(n, fmt.center), (unit.name, fmt.text)])
                ws.merge_range(row, 2, row, FORM1_LAST_COL, _absent(result, unit.code), fmt.missing)
            else:
                recs = [values.get(f.key) for f in FORM1_FIELDS]
                write_row(ws, row, 0, [(n, fmt.center), (unit.name, fmt.text),
                                       *_value_cells(ws, fmt, row, 2, recs, columns, c, FOR_TOTALS)])
            fit_row(ws, row, [(unit.name, FORM1_WIDTHS[1])])
            row += 1
        if group is not None:
            ws.merge_range(row, 0, row, 1, f"Cộng {group.name}", fmt.subtotal_label)
            _left_out_comment(ws, row, f"Cộng {group.name}", c.left_out(members), c)
            sums = form1_sums((c.form1.get(u.code, {}) for u in members), c.errors)
            for col, f in enumerate(FORM1_FIELDS, start=2):
                top, bottom = xl_rowcol_to_cell(group_first, col), xl_rowcol_to_cell(row - 1, col)
                ws.write_formula(row, col, f"=SUM({top}:{bottom})", fmt.subtotal, _cached(sums[f.key]))
            subtotals.append(row)
            row += 1
    ws.merge_range(row, 0, row, 1, "Tổng cộng", fmt.total_label)
    left_out = c.left_out(c.units)
    _left_out_comment(ws, row, "Tổng cộng", left_out, c)
    for col, f in enumerate(FORM1_FIELDS, start=2):
        if subtotals:
            formula = "=" + "+".join(xl_rowcol_to_cell(r, col) for r in subtotals)
        else:
            formula = f"=SUM({xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)})"
        ws.write_formula(row, col, formula, fmt.total, _cached(c.form1_totals[f.key]))
    notes = [f"Số đơn vị đã báo cáo: {result.count(REPORTED)}/{len(c.units)}."]
    for state in (MISSING, UNUSABLE):
        names = [result.registry_name(code) for code, st in result.status.items() if st.state == state]
        if names:
            notes.append(f"{STATUS_LABELS[state]}: {', '.join(names)}.")
    if c.missing and len(c.missing) > result.count(MISSING) + result.count(UNUSABLE):
        notes.append("Một số đơn vị chỉ gửi một biểu; xem trang “" + STATUS_SHEET + "”.")
    flagged = sum(1 for p in result.problems if p.sheet and p.cell and p.severity == P.ERROR)
    tied = sum(1 for left in c.excluded.values() if not left.own)
    if flagged:
        also = f" hoặc số liệu cùng một quy tắc với ô lỗi ({tied} ô)" if tied else ""
        notes.append(f"Ô tô đỏ là ô có lỗi ({flagged} ô){also}; xem ghi chú trong ô và trang “{LOG_SHEET}”.")
    if left_out:
        notes.append(_left_out_note(left_out, c, province=bool(subtotals)))
    last = write_notes(ws, fmt, row + 2, notes, FORM1_LAST_COL, FORM1_WIDTHS) - 1
    keep_on_one_page(ws, FORM1_WIDTHS, last)  # a district's table and its notes: no note alone on page 2
    ws.freeze_panes(FIRST_DATA_ROW, 2)


LISTED = 10  # units named in a note line; the total row's comment names up to LISTED_IN_COMMENT
LISTED_IN_COMMENT = 60


def _by_reason(recs: list[Record], c: Consolidated) -> list[tuple[str, list[Record]]]:
    """A unit's figures left out, in groups: those in error of their own ("" first), then those of each
    broken rule, under the message of the error that breaks it."""
    groups: dict[str, list[Record]] = {}
    for rec in recs:
        left = c.excluded[rec.source]
        groups.setdefault(left.problem.message.rstrip(".") if left.rule else "", []).append(rec)
    return sorted(groups.items(), key=lambda group: group[0] != "")


def _left_out_note(left_out: list[tuple[Unit, list[Record]]], c: Consolidated, province: bool) -> str:
    """The note under Biểu mẫu 1 saying that its totals leave out figures in error, and whose: for a
    broken rule, every figure of it, and why."""
    which = "Tổng cộng và các dòng “Cộng …”" if province else "Tổng cộng"
    names, rules = [], False
    for unit, recs in left_out[:LISTED]:
        groups = []
        for why, group in _by_reason(recs, c):
            labels = ", ".join(FORM1_LABELS[r.field] for r in group)
            groups.append(f"{labels}: {why}" if why else labels)
            rules = rules or bool(why)
        names.append(f"{unit.name} ({'; '.join(groups)})")
    more = f" và {len(left_out) - LISTED} đơn vị khác" if len(left_out) > LISTED else ""
    tied = (" Khi một quy tắc giữa các số liệu của đơn vị có ô lỗi, không số liệu nào của quy tắc đó được cộng, "
            f"để dòng {which} vẫn đúng quy tắc.") if rules else ""
    return (f"{which} chưa gồm số liệu lỗi của {len(left_out)} đơn vị: {'; '.join(names)}{more}. "
            f"Các số liệu này vẫn ghi trong bảng như đơn vị đã nhập (ô tô đỏ) nhưng không được cộng.{tied}")


def _cached(total: float) -> float | str:
    """The value a total's formula is stored with: what Excel computes, #NUM! for a sum beyond the
    largest number (valid huge figures). ``inf`` or ``nan`` written as a cell's value makes Excel
    call the whole file corrupt."""
    return total if math.isfinite(total) else "#NUM!"


def _left_out_comment(ws: Worksheet, row: int, label: str, left_out: list[tuple[Unit, list[Record]]],
                      c: Consolidated) -> None:
    """On a total or subtotal row's label: which units' figures it leaves out, column by column (a
    broken rule's figures followed by its error)."""
    if not left_out:
        return
    lines = [f"{label} chưa gồm số liệu lỗi của {len(left_out)} đơn vị:"]
    for unit, recs in left_out[:LISTED_IN_COMMENT]:
        groups = ["; ".join(f"{FORM1_LABELS[r.field]} ({_shown(r)})" for r in group) + (f" – {why}" if why else "")
                  for why, group in _by_reason(recs, c)]
        lines.append(f"– {unit.name}: " + "; ".join(groups))
    if len(left_out) > LISTED_IN_COMMENT:
        lines.append(f"… và {len(left_out) - LISTED_IN_COMMENT} đơn vị khác (xem trang “{LOG_SHEET}”).")
    ws.write_comment(row, 0, "\n".join(lines), {"x_scale": 4, "y_scale": max(1.6, 0.35 * len(lines))})


def _shown(rec: Record, limit: int = 40) -> str:
    """A figure in error as the comment on a total names it (a long text cut: the cell shows it all)."""
    if rec.value is None:
        return "bỏ trống"
    if isinstance(rec.value, float):
        return as_typed(rec)[:limit]
    text = rec.value if len(rec.value) <= limit else rec.value[:limit - 1].rstrip() + "…"
    return f"“{text}”"


def _form2(wb, fmt: Formats, result: RunResult) -> None:
    c = result.consolidated
    s = result.settings
    ws = wb.add_worksheet(FORM2_SHEET)
    write_titles(ws, fmt, FORM2_SHEET, s.form2_title, s.attachment_line, FORM2_LAST_COL, FORM2_WIDTHS)
    row = write_form2_header(ws, fmt, s)
    for n, ind in enumerate(FORM2_INDICATORS, start=1):
        ws.write_number(row, 0, n, fmt.center)
        ws.write_string(row, 1, ind.label, fmt.text)
        fit_row(ws, row, [(ind.label, FORM2_WIDTHS[1])])
        for col, rate in enumerate(RATES, start=2):
            agg = c.form2_means[ind.key][rate]
            if agg.value is None:
                ws.write_blank(row, col, None, fmt.rate)
            else:
                ws.write_number(row, col, round(agg.value, 10), fmt.rate)
        row += 1
    notes = [
        "Ghi chú:",
        *s.form2_notes,
        *_methods(c),
        f"Số liệu từng đơn vị: xem trang “{DETAIL_SHEET}”.",
    ]
    last = write_notes(ws, fmt, row + 1, notes, FORM2_LAST_COL, FORM2_WIDTHS) - 1
    keep_on_one_page(ws, FORM2_WIDTHS, last)


def _methods(c: Consolidated) -> list[str]:
    """How Biểu mẫu 2's cells were computed: one line when every indicator shares the method (the
    usual case: five near-identical lines pushed the last onto a page of its own), else one each."""
    head = "Cách tổng hợp (không tính các ô bỏ trống hoặc có lỗi)"
    each = {ind.label: "; ".join(
        f"{RATE_SHORT[rate]}: {how}" for rate, how in (
            (rate, _method(c.form2_means[ind.key][rate])) for rate in RATES  # named as the header names them
        ) if how
    ) for ind in FORM2_INDICATORS}
    shared = set(each.values())
    if len(shared) == 1 and "" not in shared:
        return [f"{head}, như nhau cho cả {len(each)} chỉ tiêu: {shared.pop()}."]
    return [f"{head}:", *(f"– {label}: {how}." for label, how in each.items())]


def _method(agg: Aggregate) -> str:
    """How one cell of the district's Biểu mẫu 2 was computed, in words."""
    if agg.method == SETTING:
        return "chỉ tiêu tỉnh giao theo cấu hình báo cáo"
    if agg.count == 0:
        return ""
    if agg.method == WEIGHTED:
        dossiers = f"{agg.weight:,.0f}".replace(",", ".")
        return f"bình quân theo số hồ sơ của {agg.count} đơn vị ({dossiers} hồ sơ)"
    return f"trung bình cộng (không trọng số) của {agg.count} đơn vị"


def _detail(wb, fmt: Formats, result: RunResult) -> None:
    c = result.consolidated
    s = result.settings
    ws = wb.add_worksheet(DETAIL_SHEET)
    ws.write_string(0, 0, DETAIL_SHEET, fmt.form_label)
    # The optional dossier-count columns only when some unit filled them: empty, they are a
    # quarter of the sheet's cells (160,000 bordered blanks for a whole country).
    weights = [w for w in WEIGHTS if any(
        rec is not None and rec.value is not None
        for rates in c.form2.values() for fields in rates.values() for rec in (fields.get(w),)
    )]
    last = len(RATES) + len(weights) + 2
    title = f"{s.form2_title} – số liệu của từng đơn vị"
    ws.merge_range(1, 0, 1, last, title, fmt.title)
    heads = ["STT", "Đơn vị", "Chỉ tiêu", *(RATE_SHORT[r] + " (%)" for r in RATES), *(WEIGHT_LABELS[w] for w in weights)]
    widths = (6, 24, 34, *(16,) * (last - 2))
    ws.set_row(1, max(36, row_height([(title, widths_of(widths, 0, last))], bold=True, size=13)))
    for col, h in enumerate(heads):
        ws.write_string(3, col, h, fmt.header)
    fit_row(ws, 3, zip(heads, widths), bold=True, at_least=48)
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    row = 4
    keys = (*RATES, *weights)
    columns = _value_columns(fmt, ["rate" if key in RATES else "count" for key in keys])
    for n, unit in enumerate(c.units, start=1):
        values = c.form2.get(unit.code)
        if values is None:
            write_row(ws, row, 0, [(n, fmt.center), (unit.name, fmt.text)])
            ws.merge_range(row, 2, row, last, _absent(result, unit.code), fmt.missing)
            row += 1
            continue
        for ind in FORM2_INDICATORS:
            fields = values.get(ind.key, {})
            recs = [fields.get(key) for key in keys]
            write_row(ws, row, 0, [(n, fmt.center), (unit.name, fmt.text), (ind.label, fmt.text),
                                   *_value_cells(ws, fmt, row, 3, recs, columns, c, FOR_MEANS)])
            fit_row(ws, row, [(unit.name, widths[1]), (ind.label, widths[2])])
            row += 1
    ws.autofilter(3, 0, row - 1, last)
    ws.freeze_panes(4, 2)
    set_print(ws, repeat=(3, 3))


def _absent(result: RunResult, code: str) -> str:
    """What stands in a unit's row when it has no figures for a form."""
    state = result.status[code].state
    return STATUS_LABELS[state] if state != REPORTED else "Không có số liệu biểu này"


def write_workbook(result: RunResult, path: Path) -> Path:
    """The merged workbook, written atomically (a temporary file renamed over the target)."""
    s = result.settings
    title = f"Tổng hợp báo cáo {s.report_number} – {s.area}"
    with new_workbook(path, s.report_date, title) as wb:
        fmt = Formats(wb)
        _form1(wb, fmt, result)
        _form2(wb, fmt, result)
        _detail(wb, fmt, result)
        write_status(wb, fmt, result)
        write_log(wb, fmt, result)
        write_origins(wb, fmt, result)
    return path

