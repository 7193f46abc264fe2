"""The units table (.csv or .xlsx): the only place that knows its format; the report settings are in report.py.

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
import re
from importlib import resources
from pathlib import Path
from typing import Iterable

from ..core.formats import KIND_NAMES, sniff
from ..core.registry import DEFAULT_DATA, Registry, Unit
from ..core.text import clean, fold, unit_key

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
    """The units of a ``.csv`` or ``.xlsx`` table, checked, in the file's order; refused when a table of the
    same name and the other kind beside it lists other units (see ``_check_twin``)."""
    path = Path(path)
    units = _units(path, _read_rows(path))
    _check_twin(path, units)
    return Registry(units)


TWIN_SUFFIXES = {".csv": ".xlsx", ".xlsx": ".csv"}


def _check_twin(path: Path, units: list[Unit]) -> None:
    """don-vi.csv named by the settings and don-vi.xlsx edited in Excel beside it (as older versions of
    ``init`` left them): a run that read one would silently ignore the other's edits. Both readable and
    listing the same units is no question; listing different ones is, and only the clerk can answer it."""
    twin = path.with_suffix(TWIN_SUFFIXES.get(path.suffix.lower(), path.suffix))
    if twin == path or not twin.is_file():
        return
    try:
        other = _units(twin, _read_rows(twin))
    except ConfigError:
        return  # not a units table the tool could use anyway: the named one is
    if other == units:
        return
    newer = twin if twin.stat().st_mtime > path.stat().st_mtime else path
    raise ConfigError(
        path,
        f"tệp này và tệp {twin.name} bên cạnh có danh sách đơn vị khác nhau (tệp {newer.name} được sửa sau), "
        f"nên không biết dùng tệp nào. Giữ lại một tệp: nếu đã sửa danh sách trong {twin.name}, xóa {path.name} "
        f"và ghi units = \"{twin.name}\" trong tệp cấu hình; nếu không, xóa {twin.name}.",
    )


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(row number as the clerk sees it, cell texts) for every row of the table."""
    if not path.is_file():
        raise ConfigError(path, "không tìm thấy tệp này.")
    kind = sniff(path)  # what the file really is, whatever its extension
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
    return KIND_NAMES.get(kind, kind)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ConfigError(path, f"tệp quá lớn ({len(data) >> 20} MB) để là một bảng đơn vị.")
    text = decode_csv(path, data)
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


def decode_csv(path: Path, data: bytes) -> str:
    """A CSV a clerk saved from Excel as text: UTF-16 ("Unicode Text") or UTF-8 with or without the mark;
    ConfigError, saying how to save it, for a legacy code page (also the DHIS2 mapping file's reader)."""
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
    import openpyxl  # start-up: only for an .xlsx units table (~0.3 s)

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


def read_units_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, cell texts) of a units .csv as the clerk sees it; the examples write it out as .xlsx."""
    return _csv_rows(path)


def load_units(path: Path) -> list[Unit]:
    """The units of a checked units table (.csv or .xlsx)."""
    return load_registry(path).units


def default_registry() -> Registry:
    """The embedded sample's units (Tuy Phước)."""
    with resources.as_file(resources.files("consolidate") / "data" / DEFAULT_DATA / "units.csv") as p:
        return Registry(load_units(p))
