"""The Frictionless Data Package: ``datapackage.json`` and the data it describes, ``goi-so-lieu.csv``.

A statistics office or an analyst loads the package and gets typed, documented columns without
reading our README: the Table Schema gives each column's type and meaning, the primary key (one
value per period, unit and field) and which cells count as missing (an empty one). ``value`` is a
number; what a unit typed where it is not one is in ``value_text``. The package's CSV is its own
file, not the Excel-facing ``so-lieu.csv``: plain UTF-8 as declared (no byte-order mark) and no
leading apostrophes against Excel formulas, which are data to any other reader. The package is
checked with the ``frictionless`` library in the tests, never at run time: the tool does not
depend on it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import ACCEPTED, REJECTED, Observation
from ..core.registry import Registry
from ..core.template import FORM1, FORM2
from .output import ExportError, write_atomically
from ..core.periods import PERIOD_PATTERNS
from .tidy import TIDY_COLUMNS, tidy_rows

DESCRIPTOR = "datapackage.json"
PACKAGE_CSV = "goi-so-lieu.csv"
PACKAGE_COLUMNS = (*TIDY_COLUMNS[:6], "value_text", *TIDY_COLUMNS[6:])
# The spec recommends a licence; figures that public offices report are published for reuse with attribution.
LICENSES = [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/",
             "title": "Creative Commons Attribution 4.0"}]
PRIMARY_KEY = ["period", "unit_code", "field"]
MISSING_VALUES = [""]
# A period column value must be one of DHIS2's period codes (periods.py), as a Table Schema pattern.
PERIOD_PATTERN = "(" + "|".join(PERIOD_PATTERNS.values()) + ")"

FIELDS = [
    {"name": "period", "type": "string", "title": "Kỳ báo cáo",
     "description": "Mã kỳ theo DHIS2: 2024S1 (6 tháng đầu năm), 2024Q3 (quý), 202408 (tháng), 2024 (năm).",
     "constraints": {"required": True, "pattern": PERIOD_PATTERN}},
    {"name": "unit_code", "type": "string", "title": "Mã đơn vị", "constraints": {"required": True}},
    {"name": "unit_name", "type": "string", "title": "Tên đơn vị"},
    {"name": "form", "type": "string", "title": "Biểu mẫu",
     "description": "form1 = Biểu mẫu 1 (nhân sự, trang thiết bị); form2 = Biểu mẫu 2 (tỷ lệ dịch vụ công trực tuyến).",
     "constraints": {"required": True, "enum": [FORM1, FORM2]}},
    {"name": "field", "type": "string", "title": "Mã chỉ tiêu",
     "description": "form1.<cột> hoặc form2.<chỉ tiêu>.<cột>, ví dụ form1.computers, form2.online_payment.after.",
     "constraints": {"required": True}},
    {"name": "value", "type": "number", "title": "Giá trị",
     "description": "Số liệu (dấu chấm thập phân). Trống khi đơn vị không nhập, hoặc khi nội dung đơn vị nhập không "
                    "phải là số (xem value_text)."},
    {"name": "value_text", "type": "string", "title": "Nội dung đơn vị đã nhập",
     "description": "Chỉ có khi nội dung đơn vị nhập không phải là số (ví dụ “7 người”): giữ nguyên như đã nhập; "
                    "số liệu đó bị lỗi (status = rejected) và không được tổng hợp."},
    {"name": "status", "type": "string", "title": "Trạng thái",
     "description": "accepted: số liệu đạt các quy tắc kiểm tra; rejected: số liệu bị lỗi, không được tổng hợp.",
     "constraints": {"required": True, "enum": [ACCEPTED, REJECTED]}},
    {"name": "file", "type": "string", "title": "Tệp nguồn"},
    {"name": "sheet", "type": "string", "title": "Trang tính"},
    {"name": "cell", "type": "string", "title": "Ô"},
]
assert [f["name"] for f in FIELDS] == list(PACKAGE_COLUMNS)


def descriptor(csv_name: str = PACKAGE_CSV, package_id: str = "") -> dict:
    """The package's description of its CSV (a tabular data package with one resource)."""
    return {
        "profile": "tabular-data-package",
        **({"id": package_id} if package_id else {}),
        "name": "consolidate-so-lieu",
        "title": "Số liệu báo cáo của các đơn vị theo kỳ",
        "description": "Mỗi dòng là một giá trị một đơn vị báo cáo trong một kỳ, kèm tệp, trang tính và ô nguồn.",
        "licenses": LICENSES,
        "resources": [{
            "profile": "tabular-data-resource",
            "name": "so-lieu",
            "path": csv_name,
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",  # no byte-order mark: the bytes are what is declared
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "header": True},
            "schema": {"fields": FIELDS, "primaryKey": PRIMARY_KEY, "missingValues": MISSING_VALUES},
        }],
    }


def write_datapackage(observations: Iterable[Observation], out: Path, registry: Registry | None = None) -> list[Path]:
    """``goi-so-lieu.csv`` and ``datapackage.json`` in ``out``; ExportError if the primary key would repeat
    (the history keeps one value per period, unit and field, so that would be a damaged store)."""
    observations = list(observations)
    repeated = [key for key, n in Counter((o.period, o.unit_code, o.field_code) for o in observations).items() if n > 1]
    if repeated:
        period, unit, code = repeated[0]
        raise ExportError(f"Lịch sử có {len(repeated)} giá trị bị lặp (ví dụ kỳ {period}, đơn vị {unit}, "
                          f"chỉ tiêu {code}); không tạo được gói dữ liệu có khóa chính.")
    out = Path(out)
    data = package_csv_text(observations, registry).encode("utf-8")
    csv_path = write_atomically(out / PACKAGE_CSV, data)
    # The same data gives the same id (reproducible outputs); other data, another id.
    package_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "consolidate:datapackage:" + hashlib.sha256(data).hexdigest()))
    text = json.dumps(descriptor(csv_path.name, package_id), ensure_ascii=False, indent=2) + "\n"
    return [csv_path, write_atomically(out / DESCRIPTOR, text.encode("utf-8"))]


def package_csv_text(observations: list[Observation], registry: Registry | None = None) -> str:
    """The package's rows: a number in ``value``, a typed text in ``value_text``, every text as it is."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PACKAGE_COLUMNS)
    for o, row in zip(observations, tidy_rows(observations, registry)):
        row["value_text"] = row["value"] if isinstance(o.value, str) else ""
        if isinstance(o.value, str):
            row["value"] = ""
        writer.writerow([row[c] for c in PACKAGE_COLUMNS])
    return buffer.getvalue()
