"""The DHIS2 mapping file: our field and unit codes beside the DHIS2 codes they are sent as.

``consolidate init`` writes ``dhis2-anh-xa.csv`` with every field (its Vietnamese label) and every
reporting unit (its name) listed and the DHIS2 columns empty; the clerk fills them in Excel from the
province's DHIS2 (data element and category option combo codes for a field, the org unit code for a
unit) and passes the file to ``consolidate export --mapping``. A CSV with a byte-order mark opens
in Excel with its Vietnamese intact, and Excel saves it back as CSV; the reader also takes the ';'
that Excel writes where the decimal separator is a comma (Vietnamese Windows) and a tab.

A field whose data element is left empty, or a unit whose org unit is, is not mapped: its values are
left out of the DHIS2 files and reported, never sent under a guessed code. The category option combo
may stay empty: DHIS2 then files the value under the data element's default combo. A form's row names
the DHIS2 data set its values belong to (DHIS2 2.43 refuses a whole import whose data element sits in
two data sets and no data set is given).

Each DHIS2 column may hold codes or UIDs (the combos DHIS2 generates have no code, so their column is
filled with UIDs): the column's scheme is UID when every code in it has a UID's shape, CODE otherwise
(``Dhis2Mapping.scheme``), and the export's command names each column's scheme. Two rows that would
send values under one DHIS2 key are refused with both lines: DHIS2 2.43 rejects the whole group.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..core.observations import field_code
from ..core.registry import Registry
from ..core.template import FORM1, FORM1_FIELDS, FORM2, FORM2_INDICATORS, FORM_SHEETS, RATES, WEIGHTS, field_label
from ..core.text import excel_safe, fold
from ..settings.units import ConfigError, decode_csv
from .output import write_atomically

MAPPING_CSV = "dhis2-anh-xa.csv"
KIND, CODE, NAME = "Loại", "Mã", "Tên"
DATA_ELEMENT = "Mã phần tử dữ liệu DHIS2 (dataElement)"
COMBO = "Mã tổ hợp phân tổ DHIS2 (categoryOptionCombo)"
ORG_UNIT = "Mã đơn vị DHIS2 (orgUnit)"
DATA_SET = "Mã bộ dữ liệu DHIS2 (dataSet)"
HEADER = (KIND, CODE, NAME, DATA_ELEMENT, COMBO, ORG_UNIT, DATA_SET)
FIELD_KIND, UNIT_KIND, FORM_KIND = "Chỉ tiêu", "Đơn vị", "Biểu mẫu"
# A DHIS2 UID: eleven letters and digits, a letter first (dhis2-core CodeGenerator.isValidUid).
UID_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9]{10}")
UID, CODE_SCHEME = "UID", "CODE"
MAX_BYTES = 20 << 20  # a mapping of 10,000 units is ~1 MB


def all_fields() -> list[tuple[str, str]]:
    """(field code, Vietnamese label) of every value a unit reports, in the forms' order."""
    fields = [(field_code(FORM1, "", f.key), f"Biểu mẫu 1 – {f.label}") for f in FORM1_FIELDS]
    for ind in FORM2_INDICATORS:
        fields += [(field_code(FORM2, ind.key, key), f"Biểu mẫu 2 – {field_label(FORM2, key, ind.key)}")
                   for key in (*RATES, *WEIGHTS)]
    return fields


@dataclass(frozen=True)
class Dhis2Mapping:
    """The filled-in part of a mapping file: field code → (data element, combo), unit code → org unit,
    form → data set; and the export's attribute option combo, if it names one."""

    fields: dict[str, tuple[str, str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    name: str = MAPPING_CSV  # the file's name, for messages
    data_sets: dict[str, str] = field(default_factory=dict)
    attribute_option_combo: str = ""

    def scheme(self, column: str) -> str:
        """UID when every code of that DHIS2 column (DATA_ELEMENT, COMBO, ORG_UNIT, DATA_SET) has a UID's
        shape, else CODE; the attribute option combo counts with the combos (DHIS2 looks both up by
        ``categoryOptionComboIdScheme``)."""
        if column == DATA_ELEMENT:
            codes = [element for element, _ in self.fields.values()]
        elif column == COMBO:
            codes = [combo for _, combo in self.fields.values()] + [self.attribute_option_combo]
        elif column == ORG_UNIT:
            codes = list(self.units.values())
        else:
            codes = list(self.data_sets.values())
        return id_scheme(codes)


def id_scheme(codes: list[str]) -> str:
    """UID when every non-empty code has a UID's shape (and there is one), else CODE.

    >>> id_scheme(["HllvX50cXC0", "Prlt0C1RF0s"]), id_scheme(["DE_MAY_TINH", "HllvX50cXC0"]), id_scheme([""])
    ('UID', 'CODE', 'CODE')
    """
    codes = [c for c in codes if c]
    return UID if codes and all(UID_SHAPE.fullmatch(c) for c in codes) else CODE_SCHEME


def mapping_template_text(registry: Registry) -> str:
    """The mapping file to fill: a row per field, then a row per reporting unit, DHIS2 codes empty."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for form, sheet in FORM_SHEETS.items():
        writer.writerow([FORM_KIND, form, sheet, "", "", "", ""])
    for code, label in all_fields():
        writer.writerow([FIELD_KIND, code, label, "", "", "", ""])
    for unit in registry.reporting_units():
        writer.writerow([UNIT_KIND, excel_safe(unit.code), excel_safe(unit.name), "", "", "", ""])
    return buffer.getvalue()


def write_mapping_template(registry: Registry, path: Path) -> Path:
    """``dhis2-anh-xa.csv`` (UTF-8 with a byte-order mark, so Excel shows Vietnamese), written atomically."""
    return write_atomically(Path(path), mapping_template_text(registry).encode("utf-8-sig"))


def read_mapping(path: Path) -> Dhis2Mapping:
    """The DHIS2 codes a clerk filled in; ConfigError (file, line, column, in Vietnamese) for a file
    that cannot be read as one, so a typo never turns into a wrong code sent to DHIS2."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "không tìm thấy tệp ánh xạ này; tạo tệp bằng lệnh “consolidate init THƯ_MỤC”.")
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise ConfigError(path, f"tệp quá lớn ({len(data) >> 20} MB) để là một tệp ánh xạ.")
    rows = _rows(path, decode_csv(path, data))
    header_at = next((i for i, (_, cells) in enumerate(rows) if any(c.strip() for c in cells)), None)
    if header_at is None:
        raise ConfigError(path, "tệp trống, không có dòng tiêu đề.")
    line, header = rows[header_at]
    columns = _columns(path, line, header)
    known = dict(all_fields())
    fields: dict[str, tuple[str, str]] = {}
    units: dict[str, str] = {}
    data_sets: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    sent_to: dict[tuple[str, ...], int] = {}  # a DHIS2 key → the line that sends values to it first
    kinds = {fold(FIELD_KIND): FIELD_KIND, fold(UNIT_KIND): UNIT_KIND, fold(FORM_KIND): FORM_KIND}
    for line, cells in rows[header_at + 1:]:
        def cell(column: str) -> str:
            i = columns.get(column)
            return _clean(cells[i]) if i is not None and i < len(cells) else ""

        if not any(c.strip() for c in cells):
            continue
        kind, code = kinds.get(fold(cell(KIND))), cell(CODE)
        if kind is None:
            raise ConfigError(path, f"loại “{cell(KIND)}” không rõ; ghi “{FIELD_KIND}”, “{UNIT_KIND}” hoặc "
                                    f"“{FORM_KIND}”.", line=line, column=KIND)
        if not code:
            raise ConfigError(path, "thiếu mã.", line=line, column=CODE)
        if (kind, code) in seen:
            raise ConfigError(path, f"mã “{code}” đã có ở dòng {seen[kind, code]}.", line=line, column=CODE)
        seen[kind, code] = line
        if kind == FIELD_KIND:
            if code not in known:
                raise ConfigError(path, f"“{code}” không phải mã chỉ tiêu nào của biểu mẫu; giữ nguyên cột "
                                        f"“{CODE}” như tệp do “consolidate init” tạo.", line=line, column=CODE)
            if cell(DATA_ELEMENT):
                fields[code] = (cell(DATA_ELEMENT), cell(COMBO))
                _send_once(path, sent_to, (FIELD_KIND, *fields[code]), line,
                           f"phần tử dữ liệu “{fields[code][0]}”, tổ hợp phân tổ “{fields[code][1] or 'mặc định'}”")
        elif kind == FORM_KIND:
            if code not in FORM_SHEETS:
                raise ConfigError(path, f"“{code}” không phải mã biểu mẫu nào ({', '.join(FORM_SHEETS)}).",
                                  line=line, column=CODE)
            if cell(DATA_SET):
                data_sets[code] = cell(DATA_SET)
        elif cell(ORG_UNIT):
            units[code] = cell(ORG_UNIT)
            _send_once(path, sent_to, (UNIT_KIND, units[code]), line, f"đơn vị DHIS2 “{units[code]}”")
    return Dhis2Mapping(fields, units, path.name, data_sets)


def _send_once(path: Path, sent_to: dict[tuple[str, ...], int], key: tuple[str, ...], line: int, what: str) -> None:
    """Refuse a second row that sends to the same DHIS2 key: DHIS2 2.43 rejects the whole group for it."""
    if key in sent_to:
        raise ConfigError(path, f"dòng {sent_to[key]} và dòng {line} cùng gửi số liệu vào {what}: DHIS2 sẽ từ chối "
                                "cả lần nhập. Mỗi dòng cần một mã DHIS2 riêng; sửa một trong hai dòng.", line=line)
    sent_to[key] = line


def _clean(text: str) -> str:
    """A cell as typed, in NFC, without the surrounding spaces or a leading ' that Excel hides."""
    text = unicodedata.normalize("NFC", text).strip()
    return text[1:] if text.startswith("'") else text


def _rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line as the clerk sees it, cells) for every record, with the delimiter Excel used."""
    first, _, rest = text.partition("\n")
    start = 0
    if re.fullmatch(r"sep=.", first.strip(), flags=re.IGNORECASE):  # Excel's hint line, e.g. "sep=;"
        delimiter, text, start = first.strip()[4], rest, 1
    else:
        head = next((line for line in text.splitlines() if line.strip()), "")
        delimiter = max((",", ";", "\t"), key=lambda d: (len(_columns_found(next(csv.reader([head], delimiter=d)))),
                                                         head.count(d)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, line = [], start
    try:
        for record in reader:
            rows.append((line + 1, record))
            line = start + reader.line_num
    except csv.Error as exc:
        raise ConfigError(path, f"không đọc được dòng này như bảng CSV ({exc}).", line=line + 1) from None
    return rows


# What a header cell must contain, folded (no accents, lower case), to be that column: the DHIS2
# name in brackets is enough, so "dataElement" alone or a translated header still works.
_HEADER_KEYS = {KIND: ("loai",), CODE: ("ma",), NAME: ("ten",), DATA_ELEMENT: ("dataelement",),
                COMBO: ("categoryoptioncombo",), ORG_UNIT: ("orgunit",), DATA_SET: ("dataset",)}


def _columns_found(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = fold(_clean(cell)).replace(" ", "")
        for column, words in _HEADER_KEYS.items():
            exact = column in (KIND, CODE, NAME)
            if column not in found and any(key == w if exact else w in key for w in words):
                found[column] = i
    return found


def _columns(path: Path, line: int, cells: list[str]) -> dict[str, int]:
    found = _columns_found(cells)
    missing = [c for c in (KIND, CODE, DATA_ELEMENT, COMBO, ORG_UNIT) if c not in found]
    if missing:
        raise ConfigError(path, "thiếu cột " + ", ".join(f"“{c}”" for c in missing)
                          + "; giữ nguyên dòng tiêu đề như tệp do “consolidate init” tạo.", line=line)
    return found
