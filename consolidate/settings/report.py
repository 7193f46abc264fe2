"""The report settings file (TOML): number, date, titles, periods, province targets, and where the units table is.

Read with the standard library's ``tomllib``; anything wrong is a ConfigError whose
Vietnamese message names the file, the line and the key (tomllib keeps no positions,
so the line is found afterwards, only when a message needs it: ``KeyLines``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
import tomllib
from importlib import resources
from pathlib import Path

from ..core.periods import EXAMPLES, parse_period
from ..core.registry import DEFAULT_DATA, ReportSettings
from ..core.template import FORM2_INDICATORS
from ..core.text import clean, fold
from .toml_lines import MISSING, KeyLines, line_of, lookup
from .toml_values import shown
from .units import MAX_BYTES, ConfigError

_TOP_KEYS = ("units", "issuer", "area", "report_number", "report_date", "year", "period", "upload_limit_mb",
             "upload_per_hour", "upload_total_mb", "form1", "form2")
MAX_UPLOAD_MB = 1024  # upload_limit_mb: a report is ~10 kB; more than this is a typo
MAX_PER_HOUR = 3600  # upload_per_hour: one a second is already no limit
MAX_TOTAL_MB = 1024 * 1024  # upload_total_mb: a terabyte per unit is already no limit
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
                          line=line_of(lines, ("units",)), key="units")
    return settings, units_path


def read_settings(path: Path, base: ReportSettings | None = None) -> ReportSettings:
    """Settings from a TOML file; with no ``base`` every key is required."""
    path = Path(path)
    data, lines = _read_toml(path)
    return _settings(path, data, lines, base)


def read_toml(path: Path) -> tuple[dict, KeyLines]:
    """A TOML file parsed, and where its keys are written; any fault is a ConfigError naming the line
    (the report settings and the report definitions share it)."""
    return _read_toml(path)


def _read_toml(path: Path) -> tuple[dict, KeyLines]:
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
    lines = KeyLines(text)
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
    key = KeyLines(text).key_on(line)
    shown = f" Dòng này là: {source}" if source and len(source) <= 120 else ""
    return ConfigError(
        path,
        f"sai cú pháp TOML{explained}.{shown} (TOML: {message})",
        line=line, key=".".join(key) if key else None,
    )


def _settings(path: Path, data: dict, lines: KeyLines, base: ReportSettings | None) -> ReportSettings:
    _check_keys(path, lines, data, (), _TOP_KEYS)
    for table, keys in (("form1", _FORM1_KEYS), ("form2", _FORM2_KEYS)):
        if table in data:
            if not isinstance(data[table], dict):
                raise _wrong(path, lines, (table,), data[table], f"một bảng [{table}]")
            _check_keys(path, lines, data[table], (table,), keys)

    def get(key: tuple[str, ...]) -> object:
        return lookup(data, key)

    values: dict[str, object] = {}
    for key, field in _TEXT_FIELDS.items():
        value = get(key)
        if value is _MISSING:
            continue
        if not isinstance(value, str):
            raise _wrong(path, lines, key, value, f"chữ trong dấu ngoặc kép, ví dụ {key[-1]} = \"{_EXAMPLES[key[-1]]}\"")
        if not clean(value):
            raise ConfigError(path, "không được để trống.", line=line_of(lines, key), key=".".join(key))
        values[field] = clean(value)

    if (value := get(("report_date",))) is not _MISSING:
        values["report_date"] = _date(path, lines, value)
    if (value := get(("year",))) is not _MISSING:
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2999:
            raise _wrong(path, lines, ("year",), value, "một năm viết bằng số, không có ngoặc kép, ví dụ year = 2024")
        values["year"] = value
    if (value := get(("upload_limit_mb",))) is not _MISSING:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_UPLOAD_MB:
            raise _wrong(path, lines, ("upload_limit_mb",), value,
                         f"một số MB lớn hơn 0 và không quá {MAX_UPLOAD_MB}, không có ngoặc kép, ví dụ upload_limit_mb = 10")
        values["upload_limit_mb"] = float(value)
    if (value := get(("upload_per_hour",))) is not _MISSING:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_HOUR:
            raise _wrong(path, lines, ("upload_per_hour",), value,
                         f"một số nguyên từ 1 đến {MAX_PER_HOUR}, không có ngoặc kép, ví dụ upload_per_hour = 20")
        values["upload_per_hour"] = value
    if (value := get(("upload_total_mb",))) is not _MISSING:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_TOTAL_MB:
            raise _wrong(path, lines, ("upload_total_mb",), value,
                         f"một số MB lớn hơn 0 và không quá {MAX_TOTAL_MB}, không có ngoặc kép, ví dụ upload_total_mb = 100")
        values["upload_total_mb"] = float(value)
    if (value := get(("period",))) is not _MISSING:
        values["period"] = _period(path, lines, value)
    if (value := get(("form2", "notes"))) is not _MISSING:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise _wrong(path, lines, ("form2", "notes"), value,
                         "một danh sách chuỗi trong [ ], ví dụ notes = [\"(i) …\", \"(ii) …\"]")
        for n, note in enumerate(value, start=1):
            if not isinstance(note, str):
                raise ConfigError(path, f"ghi chú thứ {n} phải là chữ trong dấu ngoặc kép; ở đây là {shown(note)}.",
                                  line=line_of(lines, ("form2", "notes")), key="form2.notes")
        values["form2_notes"] = tuple(clean(v) for v in value if clean(v))
    if (value := get(("form2", "targets"))) is not _MISSING:
        values["targets"] = _targets(path, lines, value)

    if base is not None:
        return dataclasses.replace(base, **values)
    for key, field in [*_TEXT_FIELDS.items(), (("report_date",), "report_date"), (("year",), "year")]:
        if field not in values:
            raise ConfigError(path, "thiếu khóa này.", key=".".join(key))
    return ReportSettings(**values)  # type: ignore[arg-type]


_MISSING = MISSING
_EXAMPLES = {"issuer": "UBND huyện", "area": "huyện Tuy Phước", "report_number": "362/UBND", "title": "…",
             "period_before": "từ 01/01/2024 – 30/4/2024", "period_after": "Từ 01/5 – 25/7/2024"}


def _check_keys(path: Path, lines: KeyLines, table: dict, prefix: tuple[str, ...], known: tuple[str, ...]) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f" Có phải “{close[0]}”?" if close else f" Các khóa dùng được: {', '.join(known)}."
            raise ConfigError(path, "không có khóa này trong cấu hình." + hint,
                              line=line_of(lines, (*prefix, key)), key=".".join((*prefix, key)))


def _date(path: Path, lines: KeyLines, value: object) -> dt.date:
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


def _period(path: Path, lines: KeyLines, value: object) -> str:
    """A DHIS2 period code ("2024S1"); a bare year or month may be written without quotes (period = 2024)."""
    code = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    period = parse_period(clean(code)) if isinstance(code, str) else None
    if period is None:
        raise _wrong(path, lines, ("period",), value, f"một mã kỳ báo cáo theo DHIS2 trong dấu ngoặc kép: {EXAMPLES}")
    return period.code


def _targets(path: Path, lines: KeyLines, value: object) -> tuple[tuple[str, float], ...]:
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
                              line=line_of(lines, where), key=".".join(where))
        if indicator in given:
            raise ConfigError(path, f"chỉ tiêu “{labels[indicator]}” đã được ghi ở khóa “{given[indicator][0]}”.",
                              line=line_of(lines, where), key=".".join(where))
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise _wrong(path, lines, where, target, "một tỷ lệ % viết bằng số, không có ngoặc kép, ví dụ 80 hoặc 97.5")
        if not (math.isfinite(target) and 0 <= target <= 100):
            raise ConfigError(path, f"chỉ tiêu phải là tỷ lệ % từ 0 đến 100, không phải {shown(target)}.",
                              line=line_of(lines, where), key=".".join(where))
        given[indicator] = (name, float(target))
    return tuple((i.key, given[i.key][1]) for i in FORM2_INDICATORS if i.key in given)


def _wrong(path: Path, lines: KeyLines, key: tuple[str, ...], value: object, expected: str) -> ConfigError:
    return ConfigError(path, f"phải là {expected}; ở đây là {shown(value)}.",
                       line=line_of(lines, key), key=".".join(key))




def load_settings(path: Path) -> ReportSettings:
    """Report settings from a TOML file that gives every key (the embedded defaults are one)."""
    return read_settings(path)


def default_settings() -> ReportSettings:
    """The embedded sample's settings (report 362/UBND of Tuy Phước)."""
    with resources.as_file(resources.files("consolidate") / "data" / DEFAULT_DATA / "report.toml") as p:
        return load_settings(p)
