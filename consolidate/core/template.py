"""The template contract: the two forms' sheets, fields, labels and layout.

Reader, schemas and writers all take their labels and column order from here,
so the template a unit fills and the workbook the district sends agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import ReportSettings

FORM1 = "form1"
FORM2 = "form2"
FORM1_SHEET = "Biểu mẫu 1"
FORM2_SHEET = "Biểu mẫu 2"
FORM_SHEETS = {FORM1: FORM1_SHEET, FORM2: FORM2_SHEET}
# Sheets of the merged workbook that a province reads back (written by write.workbook, read by read.tables).
DETAIL_SHEET = "Chi tiết Biểu mẫu 2"
LOG_SHEET = "Nhật ký lỗi"
# The template's version stamp: a custom document property (Excel: Tệp › Thông tin › Thuộc tính), kept by Excel
# and LibreOffice when a unit saves its file. Raise TEMPLATE_VERSION when the template's layout changes, so files
# filled in an older template are told to take the new one. A custom property, not a defined name: a name makes
# the fast reader's screen look for external references in every workbook.
TEMPLATE_VERSION = 2
STAMP_PROPERTY = "Phiên bản mẫu"


def template_stamp(settings: ReportSettings) -> str:
    """The stamp a template made for these settings carries, e.g. "362/UBND – mẫu 2": the report it is for and
    the layout's version, so a template of another report or an older layout is told apart."""
    return f"{settings.report_number} – mẫu {TEMPLATE_VERSION}"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    group: str = ""  # the merged group header above the label, if any


STAFF_GROUP = "Số lượng công chức, viên chức, nhân viên làm việc tại BPMC"
EQUIPMENT_GROUP = "Số lượng trang thiết bị làm việc"

FORM1_STT = "STT"
FORM1_UNIT = "Bộ phận Một cửa"
# Count columns of Biểu mẫu 1, in the official order (columns 3–10).
FORM1_FIELDS: tuple[Field, ...] = (
    Field("total", "Tổng số", STAFF_GROUP),
    Field("staff_own", "Thuộc biên chế (hoặc biệt phái) của Bộ phận Một cửa", STAFF_GROUP),
    Field("staff_seconded", "Công chức, viên chức do các cơ quan chuyên môn cử đến", STAFF_GROUP),
    Field("staff_bcci", "Thuê nhân viên Doanh nghiệp BCCI", STAFF_GROUP),
    Field("computers", "Máy tính", EQUIPMENT_GROUP),
    Field("printers", "Máy in", EQUIPMENT_GROUP),
    Field("scanners", "Máy scan", EQUIPMENT_GROUP),
    Field("signatures", "Chữ ký số được cấp"),
)
FORM1_LABELS = {f.key: f.label for f in FORM1_FIELDS}
TOTAL_PARTS = ("staff_own", "staff_seconded", "staff_bcci")

FORM2_STT = "STT"
FORM2_INDICATOR = "Chỉ tiêu"


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str


FORM2_INDICATORS: tuple[Indicator, ...] = (
    Indicator("online_submission", "Tỷ lệ nộp hồ sơ trực tuyến"),
    Indicator("online_payment", "Tỷ lệ thanh toán trực tuyến"),
    Indicator("digitised_dossiers", "Tỷ lệ số hóa hồ sơ"),
    Indicator("electronic_results", "Tỷ lệ cấp kết quả điện tử"),
    Indicator("reused_results", "Tỷ lệ tái sử dụng kết quả số hóa"),
)
INDICATOR_LABELS = {i.key: i.label for i in FORM2_INDICATORS}

# The three rate columns of Biểu mẫu 2. Their header texts carry period dates
# that change between reports; see rate_headers().
RATES = ("before", "target", "after")
RATE_SHORT = {
    "before": "(i) Kết quả trước khi chuyển giao",
    "target": "(ii) Chỉ tiêu UBND tỉnh giao",
    "after": "(ii) Kết quả sau khi chuyển giao",
}
AFTER_GROUP = "(ii) Sau khi chuyển giao"

# Optional: how many dossiers each result is computed on, so that a rate over
# many units can be weighted by them (a unit with 20 dossiers should not weigh
# as much as one with 2,000).
WEIGHT_OF = {"before": "weight_before", "after": "weight_after"}
WEIGHTS = tuple(WEIGHT_OF.values())
WEIGHT_LABELS = {
    "weight_before": "Số hồ sơ làm căn cứ tính tỷ lệ (i)",
    "weight_after": "Số hồ sơ làm căn cứ tính tỷ lệ (ii)",
}
WEIGHT_NOTE = "(không bắt buộc)"


def rate_headers(settings: ReportSettings) -> dict[str, str]:
    """The official header text of each rate column for this report's periods."""
    return {
        "before": (
            "(i) Kết quả đạt được trước khi chuyển giao "
            f"({settings.period_before}) (Tỷ lệ %)"
        ),
        "target": f"Chỉ tiêu UBND tỉnh giao năm {settings.year} (Tỷ lệ %)",
        "after": f"Kết quả đạt được ({settings.period_after}) (Tỷ lệ %)",
    }


def field_label(form: str, field: str, item: str = "") -> str:
    """A human name for one value, for messages: 'Máy in' or 'Tỷ lệ số hóa hồ sơ – (i) …'."""
    if form == FORM1:
        return FORM1_LABELS.get(field, field)
    return f"{INDICATOR_LABELS.get(item, item)} – {RATE_SHORT.get(field) or WEIGHT_LABELS.get(field, field)}"
