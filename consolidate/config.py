"""The units file and the config file: the only place that knows their formats.

A district (or a province) describes itself with two files it can edit:

- a units table (``don-vi.csv`` or ``don-vi.xlsx``), one row per unit with
  its code, name, level and the code of the unit it reports to, in the
  official order of the report;
- a TOML config (``cau-hinh.toml``) with the report's number, date, titles,
  periods and the province targets, and optionally where the units table is.

Anything wrong in them is a ConfigError whose Vietnamese message names the
file, the row or line, and the column or key, so the clerk can fix it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import difflib
import io
import json
import math
import re
import shutil
import tomllib
from importlib import resources
from pathlib import Path
from typing import Iterable

from .registry import Registry, ReportSettings, Unit
from .template import FORM2_INDICATORS
from .text import clean, fold, unit_key

EXAMPLE_DATA = "example"
UNITS_CSV = "don-vi.csv"
UNITS_XLSX = "don-vi.xlsx"
CONFIG_TOML = "cau-hinh.toml"

MAX_ROWS = 20_000  # a national table (3,321 communes + districts and provinces) with room; a stray cell far below cannot stall the read
MAX_COLS = 30
MAX_BYTES = 20 << 20
HEADER_SCAN = 10  # non-empty rows searched for the header (a title may sit above it)

# The units table's columns: key -> the Vietnamese header written in examples.
COLUMNS = {"code": "Mã", "name": "Tên đơn vị", "level": "Cấp", "parent": "Mã đơn vị cấp trên"}
REQUIRED = ("code", "name")
_HEADER_NAMES = {
    "code": ("code", "Mã", "Mã đơn vị", "Mã ĐV", "Mã số"),
    "name": ("name", "Tên", "Tên đơn vị", "Tên ĐV", "Đơn vị"),
    "level": ("level", "Cấp", "Cấp đơn vị", "Cấp hành chính"),
    "parent": ("parent", "Cấp trên", "Mã cấp trên", "Mã đơn vị cấp trên", "Mã ĐV cấp trên", "Đơn vị cấp trên"),
}
_HEADERS = {fold(name): key for key, names in _HEADER_NAMES.items() for name in names}
# Codes name output files (tong-hop-<code>.xlsx, mau-bao-cao-<code>.xlsx).
_BAD_CODE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_LEADING_DOT = re.compile(r"^\.")


class ConfigError(Exception):
    """A units or config file the tool cannot use, with a message for the clerk.

    ``str(error)`` is the whole Vietnamese message, e.g. "Tệp don-vi.csv,
    dòng 7, cột “Mã đơn vị cấp trên”: không có đơn vị mã “tp-x”."
    """

    def __init__(
        self,
        path: Path | str,
        detail: str,
        *,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.file = self.path.name
        self.line = line
        self.column = column
        self.key = key
        self.detail = detail
        where = [f"Tệp {self.file}"]
        if line is not None:
            where.append(f"dòng {line}")
        if column is not None:
            where.append(f"cột “{column}”")
        if key is not None:
            where.append(f"khóa “{key}”")
        self.message = f"{', '.join(where)}: {detail}"
        super().__init__(self.message)


# The units table ---------------------------------------------------------------


def load_registry(path: Path) -> Registry:
    """The units of a ``.csv`` or ``.xlsx`` table, checked, in the file's order."""
    path = Path(path)
    rows = _read_rows(path)
    return Registry(_units(path, rows))


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(row number as the clerk sees it, cell texts) for every row of the table."""
    if not path.is_file():
        raise ConfigError(path, "không tìm thấy tệp này.")
    from .formats import sniff  # what the file really is, whatever its extension

    kind = sniff(path)
    if kind == "xlsx":
        return _xlsx_rows(path)
    if kind in {"unknown", "empty"}:
        return _csv_rows(path)
    raise ConfigError(
        path,
        f"bảng đơn vị phải là tệp .csv hoặc Excel .xlsx, tệp này là {_kind_name(kind)}; "
        "trong Excel chọn Lưu thành “Sổ làm việc Excel (*.xlsx)” hoặc “CSV UTF-8”.",
    )


def _kind_name(kind: str) -> str:
    from .formats import KIND_NAMES

    return KIND_NAMES.get(kind, kind)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ConfigError(path, f"tệp quá lớn ({len(data) >> 20} MB) để là một bảng đơn vị.")
    text = _decode(path, data)
    first, _, rest = text.partition("\n")
    start = 0
    if re.fullmatch(r"sep=.", first.strip(), flags=re.IGNORECASE):  # Excel's hint line, e.g. "sep=;"
        delimiter, text, start = first.strip()[4], rest, 1
    else:
        delimiter = _sniff_delimiter(text.split("\n", 200)[:200])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = start
    try:
        for record in reader:
            first_line, line = line + 1, start + reader.line_num
            rows.append((first_line, record))
            if len(rows) > MAX_ROWS:
                raise ConfigError(path, f"có hơn {MAX_ROWS} dòng, quá nhiều cho một bảng đơn vị.", line=first_line)
    except csv.Error as exc:
        raise ConfigError(path, f"không đọc được dòng này như bảng CSV ({exc}).", line=line + 1) from None
    return rows


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text"
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path,
            "không phải văn bản UTF-8 (có thể đã lưu bằng bảng mã cũ TCVN3/VNI hoặc Windows-1258); "
            "trong Excel chọn Lưu thành “CSV UTF-8 (Comma delimited)” rồi thử lại.",
            line=data[: exc.start].count(b"\n") + 1,
        ) from None


def _sniff_delimiter(lines: list[str]) -> str:
    """',' or ';' (Excel in a Vietnamese locale) or tab: whichever makes the most known headers."""
    candidates = [line for line in lines if line.strip()][:HEADER_SCAN]
    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t"):
        for line in candidates:
            cells = next(csv.reader([line], delimiter=delimiter), [])
            score = (sum(fold(c) in _HEADERS for c in cells), line.count(delimiter))
            if score > best_score:
                best, best_score = delimiter, score
    return best


def _xlsx_rows(path: Path) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        with open(path, "rb") as fh:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True, keep_vba=False)
            try:
                ws = wb.worksheets[0]
                rows = [
                    (r, [_cell_text(v) for v in values])
                    for r, values in enumerate(
                        ws.iter_rows(min_row=1, max_row=MAX_ROWS + 1, max_col=MAX_COLS, values_only=True), start=1
                    )
                ]
            finally:
                wb.close()
    except Exception as exc:  # a damaged or hostile workbook is a message, never a crash
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if str(exc) else type(exc).__name__
        raise ConfigError(path, f"không mở được tệp Excel ({reason}).") from None
    if len(rows) > MAX_ROWS and any(rows[MAX_ROWS][1]):
        raise ConfigError(path, f"có dữ liệu quá dòng {MAX_ROWS}, quá nhiều cho một bảng đơn vị.", line=MAX_ROWS + 1)
    return rows


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    return clean(value)


def _header(path: Path, rows: list[tuple[int, list[str]]]) -> tuple[int, dict[str, int], dict[str, str]]:
    """(index of the header in rows, column index of each field, header text of each field)."""
    filled = [i for i, (_, cells) in enumerate(rows) if any(clean(c) for c in cells)]
    if not filled:
        raise ConfigError(path, "tệp trống, không có dòng tiêu đề và không có đơn vị nào.")
    for i in filled[:HEADER_SCAN]:
        columns, texts = _header_columns(path, *rows[i])
        if all(k in columns for k in REQUIRED):
            return i, columns, texts
    line, cells = rows[filled[0]]
    columns, _ = _header_columns(path, line, cells)
    missing = next(k for k in REQUIRED if k not in columns)
    raise ConfigError(
        path,
        f"thiếu cột “{COLUMNS[missing]}” (hoặc “{missing}”); dòng tiêu đề của bảng đơn vị cần các cột "
        "Mã, Tên đơn vị và nếu có thì Cấp, Mã đơn vị cấp trên (hoặc code, name, level, parent).",
        line=line,
    )


def _header_columns(path: Path, line: int, cells: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    columns: dict[str, int] = {}
    texts: dict[str, str] = {}
    for index, cell in enumerate(cells):
        key = _HEADERS.get(fold(cell))
        if key is None:
            continue  # STT, Ghi chú and other columns of the clerk's own are ignored
        if key in columns:
            raise ConfigError(
                path,
                f"cột “{clean(cell)}” và cột “{texts[key]}” cùng là {_FIELD_NAMES[key]}; chỉ giữ một cột.",
                line=line,
            )
        columns[key], texts[key] = index, clean(cell)
    return columns, texts


_FIELD_NAMES = {"code": "mã đơn vị", "name": "tên đơn vị", "level": "cấp của đơn vị", "parent": "mã đơn vị cấp trên"}


def _units(path: Path, rows: list[tuple[int, list[str]]]) -> list[Unit]:
    header, columns, texts = _header(path, rows)
    header_line = rows[header][0]

    def value(cells: list[str], key: str) -> str:
        index = columns.get(key)
        return clean(cells[index]) if index is not None and index < len(cells) else ""

    units: list[Unit] = []
    lines: dict[str, int] = {}  # code -> row
    by_folded: dict[str, str] = {}  # code.casefold() -> code
    for line, cells in rows[header + 1:]:
        code, name = value(cells, "code"), value(cells, "name")
        level, parent = value(cells, "level"), value(cells, "parent")
        if not (code or name or level or parent):
            continue
        if not code:
            what = f"mã của đơn vị “{name}”" if name else "mã đơn vị"
            raise ConfigError(path, f"để trống {what}; mỗi đơn vị cần một mã riêng, ví dụ “x-phuoc-an”.",
                              line=line, column=texts["code"])
        if bad := _BAD_CODE_CHARS.search(code) or _LEADING_DOT.match(code):
            raise ConfigError(
                path,
                f"mã “{code}” có ký tự “{bad.group()}” không dùng được (mã được dùng để đặt tên tệp); "
                "chỉ nên dùng chữ không dấu, số và dấu gạch ngang, ví dụ “x-phuoc-an”.",
                line=line, column=texts["code"],
            )
        if not name:
            raise ConfigError(path, f"để trống tên của đơn vị mã “{code}”.", line=line, column=texts["name"])
        if (other := by_folded.get(code.casefold())) is not None:
            case = "" if other == code else f" (mã “{other}”: chữ hoa, chữ thường được coi là một)"
            raise ConfigError(
                path,
                f"mã “{code}” đã dùng cho đơn vị “{_name_of(units, other)}” ở dòng {lines[other]}{case}; "
                "mỗi đơn vị cần một mã riêng.",
                line=line, column=texts["code"],
            )
        by_folded[code.casefold()] = code
        lines[code] = line
        units.append(Unit(code=code, name=name, level=level, parent=parent))

    if not units:
        raise ConfigError(path, f"không có đơn vị nào dưới dòng tiêu đề (dòng {header_line}).")
    if "parent" not in columns:
        # No hierarchy given: the first unit consolidates, every other one reports to it.
        units = units[:1] + [dataclasses.replace(u, parent=units[0].code) for u in units[1:]]
    else:
        units = [_resolve_parent(path, u, by_folded, units, lines[u.code], texts["parent"]) for u in units]
        _check_one_root(path, units, lines, texts["parent"])
        _check_no_cycle(path, units, lines, texts["parent"])
    _check_names_differ(path, units, lines, texts["name"])
    return units


def _name_of(units: Iterable[Unit], code: str) -> str:
    return next(u.name for u in units if u.code == code)


def _resolve_parent(path: Path, unit: Unit, by_folded: dict[str, str], units: list[Unit], line: int,
                    column: str) -> Unit:
    if not unit.parent:
        return unit
    code = by_folded.get(unit.parent.casefold())
    if code is not None:
        return dataclasses.replace(unit, parent=code)
    detail = f"không có đơn vị mã “{unit.parent}”."
    named = [u for u in units if unit_key(u.name) == unit_key(unit.parent)]
    if len(named) == 1:
        detail += f" Cột này ghi mã của đơn vị cấp trên, không ghi tên: có phải mã “{named[0].code}”?"
    elif close := difflib.get_close_matches(unit.parent, [u.code for u in units], n=1, cutoff=0.6):
        detail += f" Có phải mã “{close[0]}”?"
    raise ConfigError(path, detail, line=line, column=column)


def _check_one_root(path: Path, units: list[Unit], lines: dict[str, int], column: str) -> None:
    roots = [u for u in units if not u.parent]
    if len(roots) > 1:
        first, second = roots[0], roots[1]
        raise ConfigError(
            path,
            f"để trống, nhưng đơn vị “{first.code}” ở dòng {lines[first.code]} cũng để trống; chỉ một đơn vị "
            "(đơn vị tổng hợp) được để trống cột này, mỗi đơn vị khác ghi mã đơn vị cấp trên của mình.",
            line=lines[second.code], column=column,
        )


def _check_no_cycle(path: Path, units: list[Unit], lines: dict[str, int], column: str) -> None:
    parent = {u.code: u.parent for u in units}
    settled: set[str] = set()  # codes known to lead up to the root
    for unit in units:  # in file order, so the cycle is named from its first row
        chain: list[str] = []
        code = unit.code
        while code and code not in settled:
            if code in chain:
                cycle = chain[chain.index(code):] + [code]
                start = min(cycle[:-1], key=lambda c: lines[c])
                at = cycle.index(start)
                cycle = cycle[at:-1] + cycle[:at] + [start]
                what = (f"đơn vị “{start}” ghi chính mình là cấp trên" if len(cycle) == 2 else
                        f"cấp trên của các đơn vị nối thành vòng tròn: {' → '.join(cycle)} "
                        "(mỗi mũi tên chỉ tới đơn vị cấp trên)")
                raise ConfigError(
                    path,
                    f"{what}; cấp trên của mỗi đơn vị phải dẫn lên đơn vị tổng hợp (đơn vị để trống cột này).",
                    line=lines[start], column=column,
                )
            chain.append(code)
            code = parent[code]
        settled.update(chain)


def _check_names_differ(path: Path, units: list[Unit], lines: dict[str, int], column: str) -> None:
    seen: dict[tuple[str, str], Unit] = {}
    for unit in units:
        key = (unit.parent, unit_key(unit.name))
        if (other := seen.get(key)) is not None:
            raise ConfigError(
                path,
                f"tên “{unit.name}” trùng với đơn vị “{other.code}” ở dòng {lines[other.code]}, cùng đơn vị cấp "
                f"trên “{unit.parent}”; báo cáo gửi về ghi tên đơn vị nên hai đơn vị cùng tên không phân biệt được.",
                line=lines[unit.code], column=column,
            )
        seen[key] = unit


# The config file ----------------------------------------------------------------

_TOP_KEYS = ("units", "issuer", "area", "report_number", "report_date", "year", "form1", "form2")
_FORM1_KEYS = ("title",)
_FORM2_KEYS = ("title", "period_before", "period_after", "notes", "targets")
_TEXT_FIELDS = {  # config key -> ReportSettings field
    ("issuer",): "issuer",
    ("area",): "area",
    ("report_number",): "report_number",
    ("form1", "title"): "form1_title",
    ("form2", "title"): "form2_title",
    ("form2", "period_before"): "period_before",
    ("form2", "period_after"): "period_after",
}
_BACKSLASH = ("dấu “\\” trong chuỗi phải viết hai lần (“\\\\”), hoặc đặt chuỗi trong dấu nháy đơn, "
              "ví dụ units = 'C:\\Bao cao\\don-vi.csv', hoặc dùng dấu “/”")
_TOML_ERRORS = (  # tomllib's message -> what the clerk should check
    ("Illegal character '\\n'", "chuỗi chưa đóng dấu ngoặc kép trước khi hết dòng"),
    ("Invalid value", "giá trị không hợp lệ; chữ phải đặt trong dấu ngoặc kép (ví dụ \"362/UBND\"), "
                      "ngày viết 2024-08-09, số viết dấu chấm thập phân (97.5)"),
    ("Expected newline or end of document", "sau giá trị còn ký tự thừa; chữ phải đặt trọn trong dấu ngoặc kép "
                                            "(ví dụ \"362/UBND\"), ngày viết 2024-08-09"),
    ("Expected '=' after a key", "thiếu dấu “=” giữa khóa và giá trị; tên khóa có dấu hoặc khoảng trắng "
                                 "phải đặt trong dấu ngoặc kép"),
    ("Invalid initial character for a key", "tên khóa không hợp lệ; tên có dấu hoặc khoảng trắng phải đặt "
                                             "trong dấu ngoặc kép"),
    ("Cannot overwrite a value", "khóa này được ghi hai lần"),
    ("Cannot declare", "bảng hoặc khóa này được khai báo hai lần"),
    ("Unclosed array", "danh sách mở bằng “[” chưa đóng bằng “]”, hoặc thiếu dấu phẩy giữa các phần tử"),
    ("Unclosed inline table", "bảng mở bằng “{” chưa đóng bằng “}”"),
    ("Unterminated string", "chuỗi chưa đóng dấu ngoặc kép"),
    ("Unescaped '\\'", _BACKSLASH),
    ("Invalid hex value", _BACKSLASH),
    ("Escaped character", _BACKSLASH),
    ("Invalid date or datetime", "ngày không hợp lệ; viết năm-tháng-ngày, ví dụ 2024-08-09"),
    ("Expected ']' at the end of a table", "tên bảng thiếu dấu “]”"),
    ("Illegal character", "có ký tự không được phép (ví dụ ký tự điều khiển)"),
    ("Found invalid character", "có ký tự không được phép"),
    ("Invalid statement", "dòng không đúng dạng “khóa = giá trị”"),
)


def load_config(path: Path) -> tuple[ReportSettings, Path | None]:
    """The report settings of a TOML config, and the units table it names (or None).

    Keys left out keep the embedded default (report 362/UBND of Tuy Phước),
    so a config may give only what differs.
    """
    from .registry import default_settings

    path = Path(path)
    data, lines = _read_toml(path)
    settings = _settings(path, data, lines, default_settings())
    units = data.get("units")
    if units is None:
        return settings, None
    if not isinstance(units, str) or not units.strip():
        raise _wrong(path, lines, ("units",), units, "đường dẫn tới bảng đơn vị trong dấu ngoặc kép, "
                                                     "ví dụ units = \"don-vi.csv\"")
    units_path = (path.parent / clean(units)).resolve()
    if not units_path.is_file():
        raise ConfigError(path, f"không tìm thấy bảng đơn vị “{units}” (tìm ở {units_path}).",
                          line=_line(lines, ("units",)), key="units")
    return settings, units_path


def read_settings(path: Path, base: ReportSettings | None = None) -> ReportSettings:
    """Settings from a TOML file; with no ``base`` every key is required."""
    path = Path(path)
    data, lines = _read_toml(path)
    return _settings(path, data, lines, base)


def _read_toml(path: Path) -> tuple[dict, dict[tuple[str, ...], int]]:
    if not path.is_file():
        raise ConfigError(path, "không tìm thấy tệp này.")
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise ConfigError(path, f"tệp quá lớn ({len(raw) >> 20} MB) để là một tệp cấu hình.")
    try:
        text = raw.decode("utf-8-sig")  # Notepad may add a BOM
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "không phải văn bản UTF-8; mở bằng Notepad và lưu lại với Encoding “UTF-8”.",
                          line=raw[: exc.start].count(b"\n") + 1) from None
    lines = _scan(text)[0]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, text, str(exc)) from None
    return data, lines


def _syntax_error(path: Path, text: str, message: str) -> ConfigError:
    if m := re.search(r"\(at line (\d+), column \d+\)", message):
        line = int(m.group(1))
    else:  # "(at end of document)"
        line = len(text.splitlines()) or 1
    explained = next((f" – {vi}" for en, vi in _TOML_ERRORS if message.startswith(en)), "")
    source = text.splitlines()[line - 1].strip() if line <= len(text.splitlines()) else ""
    key = _scan(text)[1].get(line)
    shown = f" Dòng này là: {source}" if source and len(source) <= 120 else ""
    return ConfigError(
        path,
        f"sai cú pháp TOML{explained}.{shown} (TOML: {message})",
        line=line, key=".".join(key) if key else None,
    )


def _settings(path: Path, data: dict, lines: dict[tuple[str, ...], int], base: ReportSettings | None) -> ReportSettings:
    _check_keys(path, lines, data, (), _TOP_KEYS)
    for table, keys in (("form1", _FORM1_KEYS), ("form2", _FORM2_KEYS)):
        if table in data:
            if not isinstance(data[table], dict):
                raise _wrong(path, lines, (table,), data[table], f"một bảng [{table}]")
            _check_keys(path, lines, data[table], (table,), keys)

    def get(key: tuple[str, ...]) -> object:
        node: object = data
        for part in key:
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
        return node

    values: dict[str, object] = {}
    for key, field in _TEXT_FIELDS.items():
        value = get(key)
        if value is _MISSING:
            continue
        if not isinstance(value, str):
            raise _wrong(path, lines, key, value, f"chữ trong dấu ngoặc kép, ví dụ {key[-1]} = \"{_EXAMPLES[key[-1]]}\"")
        if not clean(value):
            raise ConfigError(path, "không được để trống.", line=_line(lines, key), key=".".join(key))
        values[field] = clean(value)

    if (value := get(("report_date",))) is not _MISSING:
        values["report_date"] = _date(path, lines, value)
    if (value := get(("year",))) is not _MISSING:
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2999:
            raise _wrong(path, lines, ("year",), value, "một năm viết bằng số, không có ngoặc kép, ví dụ year = 2024")
        values["year"] = value
    if (value := get(("form2", "notes"))) is not _MISSING:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _wrong(path, lines, ("form2", "notes"), value,
                         "một danh sách chuỗi trong [ ], ví dụ notes = [\"(i) …\", \"(ii) …\"]")
        for n, note in enumerate(value, start=1):
            if not isinstance(note, str):
                raise ConfigError(path, f"ghi chú thứ {n} phải là chữ trong dấu ngoặc kép; ở đây là {_shown(note)}.",
                                  line=_line(lines, ("form2", "notes")), key="form2.notes")
        values["form2_notes"] = tuple(clean(v) for v in value if clean(v))
    if (value := get(("form2", "targets"))) is not _MISSING:
        values["targets"] = _targets(path, lines, value)

    if base is not None:
        return dataclasses.replace(base, **values)
    for key, field in [*_TEXT_FIELDS.items(), (("report_date",), "report_date"), (("year",), "year")]:
        if field not in values:
            raise ConfigError(path, "thiếu khóa này.", key=".".join(key))
    return ReportSettings(**values)  # type: ignore[arg-type]


_MISSING = object()
_EXAMPLES = {"issuer": "UBND huyện", "area": "huyện Tuy Phước", "report_number": "362/UBND", "title": "…",
             "period_before": "từ 01/01/2024 – 30/4/2024", "period_after": "Từ 01/5 – 25/7/2024"}


def _check_keys(path: Path, lines: dict, table: dict, prefix: tuple[str, ...], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" Có phải “{close[0]}”?" if close else f" Các khóa dùng được: {', '.join(known)}."
            raise ConfigError(path, "không có khóa này trong cấu hình." + hint,
                              line=_line(lines, (*prefix, key)), key=".".join((*prefix, key)))


def _date(path: Path, lines: dict, value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = clean(value)
        for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                pass
    raise _wrong(path, lines, ("report_date",), value, "một ngày viết năm-tháng-ngày, ví dụ report_date = 2024-08-09")


def _targets(path: Path, lines: dict, value: object) -> tuple[tuple[str, float], ...]:
    key = ("form2", "targets")
    if not isinstance(value, dict):
        raise _wrong(path, lines, key, value, "một bảng [form2.targets] với mỗi dòng: chỉ tiêu = tỷ lệ %")
    by_name = {fold(i.key): i.key for i in FORM2_INDICATORS} | {fold(i.label): i.key for i in FORM2_INDICATORS}
    labels = {i.key: i.label for i in FORM2_INDICATORS}
    given: dict[str, tuple[str, float]] = {}
    for name, target in value.items():
        where = (*key, name)
        indicator = by_name.get(fold(name))
        if indicator is None:
            close = [k for k in by_name if fold(name) and fold(name) in k] or difflib.get_close_matches(
                fold(name), list(by_name), n=1, cutoff=0.6)
            hint = (f" Có phải “{labels[by_name[close[0]]]}” ({by_name[close[0]]})?" if close else
                    " Các chỉ tiêu là: " + "; ".join(f"{i.key} ({i.label})" for i in FORM2_INDICATORS) + ".")
            raise ConfigError(path, "không có chỉ tiêu này trong Biểu mẫu 2." + hint,
                              line=_line(lines, where), key=".".join(where))
        if indicator in given:
            raise ConfigError(path, f"chỉ tiêu “{labels[indicator]}” đã được ghi ở khóa “{given[indicator][0]}”.",
                              line=_line(lines, where), key=".".join(where))
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise _wrong(path, lines, where, target, "một tỷ lệ % viết bằng số, không có ngoặc kép, ví dụ 80 hoặc 97.5")
        if not (math.isfinite(target) and 0 <= target <= 100):
            raise ConfigError(path, f"chỉ tiêu phải là tỷ lệ % từ 0 đến 100, không phải {_shown(target)}.",
                              line=_line(lines, where), key=".".join(where))
        given[indicator] = (name, float(target))
    return tuple((i.key, given[i.key][1]) for i in FORM2_INDICATORS if i.key in given)


def _wrong(path: Path, lines: dict, key: tuple[str, ...], value: object, expected: str) -> ConfigError:
    return ConfigError(path, f"phải là {expected}; ở đây là {_shown(value)}.",
                       line=_line(lines, key), key=".".join(key))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"chuỗi “{value}”"
    if isinstance(value, dict):
        return "một bảng"
    if isinstance(value, list):
        return "một danh sách"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


# Where each key is written, for messages: tomllib keeps no positions.

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\]|\\.)*"'
_LITERAL = r"'[^']*'"
_PART = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})"
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_KEY_LINE = re.compile(rf"\s*({_DOTTED})\s*=(.*)")
_TABLE_LINE = re.compile(rf"\s*\[\s*({_DOTTED})\s*\]")
_STRINGS = re.compile(rf"{_BASIC}|{_LITERAL}")


def _parts(dotted: str) -> tuple[str, ...]:
    parts = []
    for m in re.finditer(_PART, dotted):
        part = m.group()
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _scan(text: str) -> tuple[dict[tuple[str, ...], int], dict[int, tuple[str, ...]]]:
    """The line each key or table is first written on, and the key written on each line.

    A best effort that also works on a file tomllib refuses: used only to point at a key.
    """
    found: dict[tuple[str, ...], int] = {}
    on_line: dict[int, tuple[str, ...]] = {}
    table: tuple[str, ...] = ()
    depth = 0  # inside a multi-line array
    multiline: str | None = None  # inside a ''' or """ string
    for number, line in enumerate(text.splitlines(), start=1):
        if multiline:
            if line.count(multiline) % 2:
                multiline = None
            continue
        if depth > 0:
            depth = max(0, depth + _brackets(line))
            continue
        stripped = line.strip()
        if stripped.startswith("[[") or not stripped or stripped.startswith("#"):
            continue
        if m := _TABLE_LINE.match(line):
            table = _parts(m.group(1))
            found.setdefault(table, number)
            on_line[number] = table
            continue
        if m := _KEY_LINE.match(line):
            key = (*table, *_parts(m.group(1)))
            found.setdefault(key, number)
            on_line[number] = key
            rest = m.group(2)
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2:
                    multiline = quote
            if not multiline:
                depth = max(0, _brackets(rest))
    return found, on_line


def _brackets(text: str) -> int:
    text = _STRINGS.sub("", text).split("#", 1)[0]
    return text.count("[") - text.count("]")


def _line(lines: dict[tuple[str, ...], int], key: tuple[str, ...]) -> int | None:
    """The line of a key, else of the nearest table that holds it."""
    for n in range(len(key), 0, -1):
        if key[:n] in lines:
            return lines[key[:n]]
    return None


# Examples -----------------------------------------------------------------------


def write_examples(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Write don-vi.csv, don-vi.xlsx and cau-hinh.toml to start from; refuse to overwrite the clerk's files."""
    folder = Path(folder)
    targets = [folder / UNITS_CSV, folder / UNITS_XLSX, folder / CONFIG_TOML]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise ConfigError(existing[0], f"đã có trong thư mục {folder}; không ghi đè lên tệp đã có. "
                                       "Xóa hoặc đổi tên tệp này, hoặc chọn thư mục khác.")
    from .files import atomic_target

    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("consolidate") / "data" / EXAMPLE_DATA
    for name in (UNITS_CSV, CONFIG_TOML):
        with resources.as_file(source / name) as src, atomic_target(folder / name) as tmp:
            shutil.copyfile(src, tmp)
    with resources.as_file(source / UNITS_CSV) as src:
        rows = _csv_rows(src)
    _write_units_xlsx(rows, folder / UNITS_XLSX)
    return targets


def _write_units_xlsx(rows: list[tuple[int, list[str]]], path: Path) -> None:
    """The example table as an Excel sheet, same columns, header in bold."""
    from .registry import default_settings
    from .sheets import new_workbook

    table = [cells for _, cells in rows if any(cells)]
    with new_workbook(path, default_settings().report_date, title="Danh sách đơn vị") as wb:
        ws = wb.add_worksheet("Đơn vị")
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for c, width in enumerate((16, 26, 10, 22, 48)):
            ws.set_column(c, c, width)
        ws.write_row(0, 0, table[0], bold)
        for r, cells in enumerate(table[1:], start=1):
            for c, text in enumerate(cells):
                ws.write_string(r, c, text)
        ws.freeze_panes(1, 0)
