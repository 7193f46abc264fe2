"""The Frictionless Data Package: ``datapackage.json`` describing the tidy CSV beside it.

A statistics office or an analyst loads the package and gets typed, documented columns without
reading our README: the Table Schema gives each column's type and meaning, the primary key (one
value per period, unit and field) and which cells count as missing (an empty one). The package is
checked with the ``frictionless`` library in the tests, never at run time: the tool does not
depend on it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..core.observations import ACCEPTED, REJECTED, Observation
from ..core.registry import Registry
from ..core.template import FORM1, FORM2
from .output import ExportError, write_atomically
from .periods import PERIOD_PATTERNS
from .tidy import TIDY_COLUMNS, TIDY_CSV, write_tidy_csv

DESCRIPTOR = "datapackage.json"
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
    {"name": "value", "type": "any", "title": "Giá trị",
     "description": "Một số (dấu chấm thập phân) khi status = accepted; khi status = rejected là nội dung đơn vị "
                    "đã nhập, giữ nguyên. Ô trống: đơn vị không nhập. Nội dung bắt đầu bằng = + - @ có thêm dấu ' "
                    "ở đầu để Excel không chạy nó như công thức."},
    {"name": "status", "type": "string", "title": "Trạng thái",
     "description": "accepted: số liệu đạt các quy tắc kiểm tra; rejected: số liệu bị lỗi, không được tổng hợp.",
     "constraints": {"required": True, "enum": [ACCEPTED, REJECTED]}},
    {"name": "file", "type": "string", "title": "Tệp nguồn"},
    {"name": "sheet", "type": "string", "title": "Trang tính"},
    {"name": "cell", "type": "string", "title": "Ô"},
]
assert [f["name"] for f in FIELDS] == list(TIDY_COLUMNS)


def descriptor(csv_name: str = TIDY_CSV) -> dict:
    """The package's description of the tidy CSV (a tabular data package with one resource)."""
    return {
        "profile": "tabular-data-package",
        "name": "consolidate-so-lieu",
        "title": "Số liệu báo cáo của các đơn vị theo kỳ",
        "description": "Mỗi dòng là một giá trị một đơn vị báo cáo trong một kỳ, kèm tệp, trang tính và ô nguồn.",
        "resources": [{
            "profile": "tabular-data-resource",
            "name": "so-lieu",
            "path": csv_name,
            "format": "csv",
            "mediatype": "text/csv",
            # the file starts with a byte-order mark for Excel (tidy.ENCODING); UTF-8 readers skip it
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "header": True},
            "schema": {"fields": FIELDS, "primaryKey": PRIMARY_KEY, "missingValues": MISSING_VALUES},
        }],
    }


def write_datapackage(observations: Iterable[Observation], out: Path, registry: Registry | None = None) -> list[Path]:
    """``so-lieu.csv`` and ``datapackage.json`` in ``out``; ExportError if the primary key would repeat
    (the history keeps one value per period, unit and field, so that would be a damaged store)."""
    observations = list(observations)
    repeated = [key for key, n in Counter((o.period, o.unit_code, o.field_code) for o in observations).items() if n > 1]
    if repeated:
        period, unit, code = repeated[0]
        raise ExportError(f"Lịch sử có {len(repeated)} giá trị bị lặp (ví dụ kỳ {period}, đơn vị {unit}, "
                          f"chỉ tiêu {code}); không tạo được gói dữ liệu có khóa chính.")
    out = Path(out)
    csv_path = write_tidy_csv(observations, out, registry)
    text = json.dumps(descriptor(csv_path.name), ensure_ascii=False, indent=2) + "\n"
    return [csv_path, write_atomically(out / DESCRIPTOR, text.encode("utf-8"))]
