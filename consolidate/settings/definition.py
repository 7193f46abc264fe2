"""Report definitions (``schemas/*.toml``): read with ``tomllib``, checked whole, handed on as core objects.

A definition may be written by a province officer who knows Excel but not Python, and it may
come from anywhere, so everything is checked here, before any inbox file is read: every key is
one the format knows, every value has its type, keys are unique, every rule parses with the safe
language of ``core.rules`` and names only fields, every layout can be drawn. Each refusal is a
ConfigError in Vietnamese that names the file, the line and the key (``KeyLines`` finds the line).
The format is documented, key by key, in docs/dinh-nghia-bao-cao.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
from pathlib import Path

from ..core import definition as D
from ..core.rules import MISSING, RuleError, parse_rule, parse_template, parse_value
from ..core.text import clean
from .report import read_toml
from .toml_values import REPORT_KEY, TomlValues, shown

_TOP = ("report", "form")
_REPORT = ("key", "number", "title", "attachment", "period_type", "district_word", "province_word", "layout_version")
_FORM = ("key", "sheet", "title", "layout", "number_label", "unit_label", "indicator_label", "row_label", "code_label",
         "detail_sheet", "notes", "field", "indicator", "row", "rule", "plausibility")
_FIELD = ("key", "label", "type", "group", "code", "required", "unit", "help", "short", "note", "aggregate", "weight",
          "options", "formula")
_INDICATOR = ("key", "label", "code")
_ROW = ("key", "code", "label", "indent", "sum_of_rows")
_RULE = ("key", "check", "severity", "tolerance", "message", "fix_unit", "fix_clerk", "missing", "scope")
_PLAUSIBILITY = ("target", "result", "outliers", "z_limit", "min_units", "change", "rate_jump", "count_jump",
                 "count_min_jump")
_ONLY_IN = {  # form keys that belong to one layout
    "unit_label": (D.UNIT_ROWS,), "indicator_label": (D.INDICATOR_ROWS,), "indicator": (D.INDICATOR_ROWS,),
    "row_label": (D.GRID,), "code_label": (D.GRID,), "row": (D.GRID,), "detail_sheet": (D.INDICATOR_ROWS, D.GRID),
}
_LAYOUT_NAMES = {D.UNIT_ROWS: "mỗi đơn vị một dòng (unit-rows)", D.INDICATOR_ROWS: "chỉ tiêu theo dòng (indicator-rows)",
                 D.GRID: "lưới cố định (grid)"}
_SEVERITIES = {"error": D.ERROR, "warning": D.WARNING, "lỗi": D.ERROR, "cảnh báo": D.WARNING}
_SHEET_FORBIDDEN = set("[]:*?/\\")
MAX_SHEET = 31  # Excel's limit on a sheet's name


def load_definition(path: Path) -> D.Report:
    """The report a definition file describes, or a ConfigError naming the line of the first fault."""
    path = Path(path)
    data, lines = read_toml(path)
    return _Loader(path, lines).report(data)


def shipped_definitions() -> list[Path]:
    """The definitions installed with the package (``schemas/*.toml``), by file name.

    Found through the import system without importing ``consolidate.schemas`` (that package
    loads pandera): its folder is wherever the installation put it."""
    spec = importlib.util.find_spec("consolidate.schemas")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return sorted({p for folder in folders for p in Path(folder).glob("*.toml")}, key=lambda p: p.name)


class _Loader(TomlValues):
    """One definition being read: the file and its key lines, for the messages."""

    # -- the report ----------------------------------------------------------------------------

    def report(self, data: dict) -> D.Report:
        self.keys(data, (), _TOP, "một định nghĩa báo cáo")
        if "report" not in data:
            raise self.refuse((), "thiếu bảng [report] (số, tên, kỳ báo cáo).")
        at: tuple[str | int, ...] = ("report",)
        table = self.keys(data["report"], at, _REPORT, "bảng [report]")
        key = self.key_of(table, at, REPORT_KEY)
        number = self.text(table, at, "number", required=True)
        title = self.words(self.text(table, at, "title", required=True), (*at, "title"), D.SETTINGS_WORDS)
        attachment = self.words(self.text(table, at, "attachment", default=D.Report.attachment),
                                (*at, "attachment"), D.ATTACHMENT_WORDS)
        period_type = self.text(table, at, "period_type", required=True)
        if period_type not in D.PERIOD_TYPES:
            close = difflib.get_close_matches(period_type, D.PERIOD_TYPES, n=1, cutoff=0.5)
            hint = f" Có phải “{close[0]}”?" if close else ""
            raise self.refuse((*at, "period_type"), f"kỳ báo cáo “{period_type}” không dùng được; chọn một trong "
                                                     f"{', '.join(D.PERIOD_TYPES)} (tên kỳ của DHIS2).{hint}")
        version = self.number(table, at, "layout_version", 1, low=1, high=10_000, whole=True)
        forms_data = self.tables(data, (), "form", "biểu mẫu")
        if not forms_data:
            raise self.refuse(at, "định nghĩa chưa có biểu mẫu nào: thêm ít nhất một bảng [[form]].")
        keys: dict[str, tuple] = {}
        sheets: dict[str, tuple] = {}
        forms = []
        for n, form in enumerate(forms_data):
            made = self.form(form, ("form", n))
            self.unique(keys, made.key, ("form", n, "key"), "khóa biểu mẫu")
            for name, what in ((made.sheet, "sheet"), (made.detail_sheet, "detail_sheet")):
                if name:
                    self.unique(sheets, name, ("form", n, what), "tên trang tính", fold_case=True)
            forms.append(made)
        return D.Report(
            key=key, number=number, title=title, forms=tuple(forms), attachment=attachment, period_type=period_type,
            district_word=self.text(table, at, "district_word", default=D.Report.district_word),
            province_word=self.text(table, at, "province_word", default=D.Report.province_word),
            layout_version=int(version),
        )

    # -- a form --------------------------------------------------------------------------------

    def form(self, table: object, at: tuple[str | int, ...]) -> D.Form:
        table = self.keys(table, at, _FORM, "một bảng [[form]]")
        key = self.key_of(table, at)
        layout = self.text(table, at, "layout", required=True)
        if layout not in D.LAYOUTS:
            raise self.refuse((*at, "layout"), f"cách trình bày “{layout}” không có; chọn một trong: "
                                                + "; ".join(f"{k} ({v})" for k, v in _LAYOUT_NAMES.items()) + ".")
        for name, layouts in _ONLY_IN.items():
            if name in table and layout not in layouts:
                raise self.refuse((*at, name), f"khóa “{name}” chỉ dùng cho biểu "
                                               + " hoặc ".join(_LAYOUT_NAMES[x] for x in layouts)
                                               + f"; biểu “{key}” là {_LAYOUT_NAMES[layout]}.")
        sheet = self.sheet(table, at, "sheet", required=True)
        fields = self.fields(table, at, layout)
        indicators = self.indicators(table, at) if layout == D.INDICATOR_ROWS else ()
        rows = self.rows(table, at) if layout == D.GRID else ()
        if layout == D.INDICATOR_ROWS and not indicators:
            raise self.refuse(at, f"biểu “{key}” dạng chỉ tiêu theo dòng chưa có chỉ tiêu nào: thêm các bảng "
                                  "[[form.indicator]].")
        if layout == D.GRID and not rows:
            raise self.refuse(at, f"biểu “{key}” dạng lưới chưa có dòng nào nên không vẽ được: thêm các bảng "
                                  "[[form.row]] (mỗi dòng một mã số và một tên).")
        form = D.Form(
            key=key, sheet=sheet, title=self.words(self.text(table, at, "title", required=True), (*at, "title"),
                                                   D.SETTINGS_WORDS),
            layout=layout, fields=fields, indicators=indicators, rows=rows,
            number_label=self.text(table, at, "number_label", default=D.Form.number_label),
            unit_label=self.text(table, at, "unit_label", default=D.Form.unit_label),
            indicator_label=self.text(table, at, "indicator_label", default=D.Form.indicator_label),
            row_label=self.text(table, at, "row_label", default=D.Form.row_label),
            code_label=self.text(table, at, "code_label", default=D.Form.code_label),
            detail_sheet=self.sheet(table, at, "detail_sheet") if "detail_sheet" in table else "",
            notes=self.texts(table, at, "notes"),
        )
        formulas = tuple(self.formula(form, f, (*at, "field", n)) for n, f in enumerate(fields))
        rules = self.rules(table, at, form)
        plausibility = self.plausibility(table.get("plausibility", {}), (*at, "plausibility"), form)
        return dataclasses.replace(form, fields=formulas, rules=rules, plausibility=plausibility)

    def sheet(self, table: dict, at: tuple[str | int, ...], key: str, required: bool = False) -> str:
        name = self.text(table, at, key, required=required)
        bad = sorted(set(name) & _SHEET_FORBIDDEN)
        if len(name) > MAX_SHEET or bad or name.startswith("'") or name.endswith("'"):
            why = (f"dài {len(name)} ký tự, Excel chỉ cho tối đa {MAX_SHEET}" if len(name) > MAX_SHEET
                   else f"có ký tự Excel không cho dùng trong tên trang tính ({' '.join(bad) or chr(39)})")
            raise self.refuse((*at, key), f"tên trang tính “{name}” {why}.")
        return name

    # -- fields ----------------------------------------------------------------------------------

    def fields(self, form: dict, at: tuple[str | int, ...], layout: str) -> tuple[D.Field, ...]:
        tables = self.tables(form, at, "field", "cột")
        if not tables:
            raise self.refuse(at, "biểu chưa có cột nào: thêm các bảng [[form.field]].")
        keys: dict[str, tuple] = {}
        codes: dict[str, tuple] = {}
        fields = []
        for n, table in enumerate(tables):
            where = (*at, "field", n)
            made = self.field(table, where, layout, n)
            self.unique(keys, made.key, (*where, "key"), "khóa cột")
            if made.code:
                self.unique(codes, made.code, (*where, "code"), "mã cột")
            fields.append(made)
        by_key = {f.key: f for f in fields}
        for n, f in enumerate(fields):
            where = (*at, "field", n)
            if f.aggregate == D.WEIGHTED_MEAN:
                if not f.weight:
                    raise self.refuse((*where, "aggregate"), f"cột “{f.key}” tính bình quân gia quyền nhưng chưa có "
                                                             "khóa weight (cột số dùng làm quyền số).")
                weight = by_key.get(f.weight)
                if weight is None or not weight.numeric or weight.key == f.key:
                    close = difflib.get_close_matches(f.weight, list(by_key), n=1, cutoff=0.6)
                    hint = f" Có phải “{close[0]}”?" if close else ""
                    raise self.refuse((*where, "weight"), f"quyền số “{f.weight}” phải là khóa của một cột số khác "
                                                          f"trong cùng biểu.{hint}")
            elif f.weight:
                raise self.refuse((*where, "weight"), "khóa weight chỉ dùng khi aggregate = \"weighted-mean\".")
        self.groups(fields, at)
        return tuple(fields)

    def field(self, table: object, where: tuple[str | int, ...], layout: str, n: int) -> D.Field:
        table = self.keys(table, where, _FIELD, "một cột [[form.field]]")
        key = self.key_of(table, where)
        kind = self.text(table, where, "type", default=D.COUNT)
        if kind not in D.TYPES:
            raise self.refuse((*where, "type"), f"kiểu “{kind}” không có; chọn một trong: "
                                                + "; ".join(f"{k} ({v})" for k, v in D.TYPE_NAMES.items()) + ".")
        aggregate = self.text(table, where, "aggregate", default=D.DEFAULT_AGGREGATE.get(kind, D.NONE))
        if aggregate not in D.AGGREGATES:
            raise self.refuse((*where, "aggregate"), f"cách tổng hợp “{aggregate}” không có; chọn một trong: "
                                                     f"{', '.join(D.AGGREGATES)}.")
        if aggregate != D.NONE and kind not in D.NUMERIC:
            raise self.refuse((*where, "aggregate"), f"cột “{key}” kiểu {kind} không phải số nên không tổng hợp "
                                                     f"được; ghi aggregate = \"none\".")
        options = self.texts(table, where, "options")
        if kind == D.CHOICE and not options:
            raise self.refuse(where, f"cột “{key}” kiểu choice cần danh sách options, ví dụ options = [\"Có\", \"Không\"].")
        if options and kind != D.CHOICE:
            raise self.refuse((*where, "options"), "khóa options chỉ dùng cho cột kiểu choice.")
        if len(set(options)) != len(options):
            raise self.refuse((*where, "options"), "danh sách options có giá trị trùng nhau.")
        group = self.texts(table, where, "group") if table.get("group") != "" else ()
        code = self.text(table, where, "code", default=str(n + 1) if layout == D.GRID else "")
        return D.Field(
            key=key, label=self.words(self.text(table, where, "label", required=True), (*where, "label"),
                                      D.SETTINGS_WORDS),
            type=kind, group=group, code=code, required=self.flag(table, where, "required", True),
            unit=self.text(table, where, "unit"), help=self.text(table, where, "help"),
            short=self.text(table, where, "short"), note=self.text(table, where, "note"), aggregate=aggregate,
            weight=self.text(table, where, "weight"), options=options, formula_text=self.text(table, where, "formula"),
        )

    def groups(self, fields: list[D.Field], at: tuple[str | int, ...]) -> None:
        """Each merged header must sit above neighbouring columns, or it cannot be drawn as one cell."""
        for depth in range(max((len(f.group) for f in fields), default=0)):
            last: dict[tuple[str, ...], int] = {}
            for n, f in enumerate(fields):
                path = f.group[: depth + 1]
                if len(path) <= depth:
                    continue
                if path in last and last[path] != n - 1:
                    raise self.refuse((*at, "field", n, "group"),
                                      f"nhóm tiêu đề “{path[-1]}” của cột “{f.key}” không liền với các cột khác của "
                                      "nhóm nên không gộp ô được: xếp các cột cùng nhóm liền nhau.")
                last[path] = n

    def formula(self, form: D.Form, f: D.Field, where: tuple[str | int, ...]) -> D.Field:
        if not f.formula_text:
            return f
        names = {k: v for k, v in form.names(D.ROW_SCOPE).items() if k != f.key}
        try:
            expr = parse_value(f.formula_text, names)
        except RuleError as exc:
            raise self.refuse((*where, "formula"), f"công thức của cột “{f.key}”: {exc.reason}") from None
        return dataclasses.replace(f, formula=expr)

    # -- indicators and rows ------------------------------------------------------------------------

    def indicators(self, form: dict, at: tuple[str | int, ...]) -> tuple[D.Indicator, ...]:
        keys: dict[str, tuple] = {}
        made = []
        for n, table in enumerate(self.tables(form, at, "indicator", "chỉ tiêu")):
            where = (*at, "indicator", n)
            table = self.keys(table, where, _INDICATOR, "một chỉ tiêu [[form.indicator]]")
            key = self.key_of(table, where)
            self.unique(keys, key, (*where, "key"), "khóa chỉ tiêu")
            made.append(D.Indicator(key, self.text(table, where, "label", required=True), self.text(table, where, "code")))
        return tuple(made)

    def rows(self, form: dict, at: tuple[str | int, ...]) -> tuple[D.Row, ...]:
        keys: dict[str, tuple] = {}
        codes: dict[str, tuple] = {}
        tables = self.tables(form, at, "row", "dòng")
        made = []
        for n, table in enumerate(tables):
            where = (*at, "row", n)
            table = self.keys(table, where, _ROW, "một dòng [[form.row]]")
            key = self.key_of(table, where)
            self.unique(keys, key, (*where, "key"), "khóa dòng")
            code = self.text(table, where, "code", required=True)
            self.unique(codes, code, (*where, "code"), "mã số dòng")
            indent = self.number(table, where, "indent", 0, low=0, high=3, whole=True)
            made.append(D.Row(key, code, self.text(table, where, "label", required=True), int(indent)))
        totals = {r.key for r, t in zip(made, tables) if "sum_of_rows" in t}
        done = []
        for n, (row, table) in enumerate(zip(made, tables)):
            if row.key not in totals:
                done.append(row)
                continue
            where = (*at, "row", n, "sum_of_rows")
            value = table["sum_of_rows"]
            if value == "*":
                parts = tuple(r.key for r in made if r.indent == 0 and r.key not in totals)
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                parts = tuple(clean(v) for v in value)
            else:
                raise self.refuse(where, "phải là \"*\" (mọi dòng không thụt lề) hoặc danh sách khóa dòng, "
                                         f"ví dụ [\"tu_phap\", \"dat_dai\"]; ở đây là {shown(value)}.")
            for part in parts:
                if part not in keys or part in totals:
                    close = difflib.get_close_matches(part, [k for k in keys if k not in totals], n=1, cutoff=0.6)
                    hint = f" Có phải “{close[0]}”?" if close else ""
                    raise self.refuse(where, f"“{part}” không phải khóa của một dòng thường trong biểu (dòng tổng "
                                             f"chỉ cộng các dòng không phải dòng tổng).{hint}")
            if not parts:
                raise self.refuse(where, "dòng tổng không có dòng nào để cộng.")
            done.append(dataclasses.replace(row, sum_of_rows=parts))
        return tuple(done)

    # -- rules -----------------------------------------------------------------------------------

    def rules(self, table: dict, at: tuple[str | int, ...], form: D.Form) -> tuple[D.Rule, ...]:
        keys: dict[str, tuple] = {}
        made = []
        for n, rule in enumerate(self.tables(table, at, "rule", "quy tắc")):
            where = (*at, "rule", n)
            one = self.rule(rule, where, form)
            self.unique(keys, one.key, (*where, "key"), "khóa quy tắc")
            made.append(one)
        for n, row in enumerate(form.rows):
            if row.is_total:
                made.append(self.total_rule(form, row, (*at, "row", n, "sum_of_rows"), keys))
        return tuple(made)

    def rule(self, table: object, where: tuple[str | int, ...], form: D.Form) -> D.Rule:
        table = self.keys(table, where, _RULE, "một quy tắc [[form.rule]]")
        key = self.key_of(table, where, REPORT_KEY)
        text = self.text(table, where, "check", required=True)
        scope = self.text(table, where, "scope")
        if scope and form.layout != D.GRID:
            raise self.refuse((*where, "scope"), "khóa scope chỉ dùng cho biểu dạng lưới.")
        if scope and scope not in (D.ROW_SCOPE, D.COLUMN_SCOPE, D.CELL_SCOPE):
            raise self.refuse((*where, "scope"), f"phạm vi “{scope}” không có; chọn \"row\" (quy tắc giữa các cột, "
                                                 "áp dụng cho mọi dòng) hoặc \"column\" (giữa các dòng, cho mọi cột).")
        try:
            check, scope = self.check(text, form, scope)
        except RuleError as exc:
            raise self.refuse((*where, "check"), f"quy tắc “{key}”: {exc.reason}") from None
        names = form.names(scope)
        templates = {}
        for name in ("message", "fix_unit", "fix_clerk"):
            try:
                templates[name] = parse_template(self.text(table, where, name), names)
            except RuleError as exc:
                raise self.refuse((*where, name), exc.reason) from None
        severity = self.text(table, where, "severity", default=D.ERROR)
        if severity.casefold() not in _SEVERITIES:
            raise self.refuse((*where, "severity"), "mức độ phải là \"error\" (Lỗi: số liệu không được cộng) hoặc "
                                                    "\"warning\" (Cảnh báo: chỉ nhắc kiểm tra).")
        missing = self.text(table, where, "missing", default=MISSING[0])
        if missing not in MISSING:
            raise self.refuse((*where, "missing"), "phải là \"skip\" (bỏ qua quy tắc khi có ô trống) hoặc \"zero\" "
                                                   "(coi ô trống là 0).")
        return D.Rule(
            key=key, check=check, text=text, severity=_SEVERITIES[severity.casefold()],
            tolerance=self.number(table, where, "tolerance", 0.0), missing=missing,
            scope=scope if form.layout == D.GRID else "", **templates,
        )

    def check(self, text: str, form: D.Form, scope: str) -> tuple:
        """The parsed rule and its scope; in a grid with no scope, names of cells (row.column) make it
        a once-per-unit rule, and plain column names a rule for every row."""
        if form.layout != D.GRID:
            return parse_rule(text, form.names()), ""
        if scope:
            return parse_rule(text, form.names(scope)), scope
        try:
            return parse_rule(text, form.names(D.ROW_SCOPE)), D.ROW_SCOPE
        except RuleError as first:
            try:
                return parse_rule(text, form.names(D.CELL_SCOPE)), D.CELL_SCOPE
            except RuleError:
                raise first from None

    def total_rule(self, form: D.Form, row: D.Row, where: tuple[str | int, ...], keys: dict) -> D.Rule:
        """A total row's rule, made from its sum_of_rows: for every column, the total = the sum of the rows."""
        key = f"{row.key.replace('_', '-')}-bang-tong-cac-dong"
        self.unique(keys, key, where, "khóa quy tắc")
        parts = ", ".join(row.sum_of_rows)
        names = form.names(D.COLUMN_SCOPE)
        text = f"{row.key} == sum({parts})"
        return D.Rule(
            key=key, check=parse_rule(text, names), text=text, scope=D.COLUMN_SCOPE, generated=True,
            message=parse_template(f"Dòng “{row.label}” ghi {{{row.key}}}, nhưng cộng các dòng được "
                                   f"{{sum({parts})}}.", names),
            fix_clerk=parse_template(f"Dòng “{row.label}” phải bằng tổng các dòng ở trên: đề nghị đơn vị sửa "
                                     f"thành {{sum({parts})}} hoặc sửa lại các dòng.", names),
            fix_unit=parse_template(f"Sửa dòng “{row.label}” thành {{sum({parts})}} (tổng các dòng ở trên), hoặc "
                                    "sửa lại các dòng.", names),
        )

    # -- plausibility ------------------------------------------------------------------------------

    def plausibility(self, table: object, where: tuple[str | int, ...], form: D.Form) -> D.Plausibility:
        table = self.keys(table, where, _PLAUSIBILITY, "bảng [form.plausibility]")
        target, result = self.text(table, where, "target"), self.text(table, where, "result")
        numeric = {f.key for f in form.numeric_fields}
        for name, value in (("target", target), ("result", result)):
            if value and value not in numeric:
                raise self.refuse((*where, name), f"“{value}” không phải khóa của một cột số trong biểu “{form.key}”.")
        if bool(target) != bool(result):
            raise self.refuse(where, "target (cột chỉ tiêu) và result (cột kết quả so với chỉ tiêu) phải ghi cùng nhau.")
        base = D.Plausibility()
        return D.Plausibility(
            target=target, result=result,
            outliers=self.flag(table, where, "outliers", base.outliers),
            z_limit=self.number(table, where, "z_limit", base.z_limit, low=1, high=100),
            min_units=int(self.number(table, where, "min_units", base.min_units, low=2, high=10_000, whole=True)),
            change=self.flag(table, where, "change", base.change),
            rate_jump=self.number(table, where, "rate_jump", base.rate_jump, high=100),
            count_jump=self.number(table, where, "count_jump", base.count_jump),
            count_min_jump=self.number(table, where, "count_min_jump", base.count_min_jump),
        )


def summary(report: D.Report) -> str:
    """One Vietnamese line on a good definition: what it holds."""
    fields = sum(len(f.fields) for f in report.forms)
    extra = []
    if indicators := sum(len(f.indicators) for f in report.forms):
        extra.append(f"{indicators} chỉ tiêu")
    if rows := sum(len(f.rows) for f in report.forms):
        extra.append(f"{rows} dòng")
    more = "".join(f", {e}" for e in extra)
    return (f"Định nghĩa hợp lệ: {report.key} – báo cáo số {report.number}: {len(report.forms)} biểu mẫu, "
            f"{fields} cột{more}, {len(report.rules)} quy tắc kiểm tra.")


