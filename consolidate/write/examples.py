"""The example settings files ``consolidate init`` writes: a units table (.xlsx) and a commented TOML file,
worded for the level that will run them: a district (the default) or a province.

One units table, the one the settings name: with a .csv beside the .xlsx, a clerk edited the .xlsx in Excel
while the run read the .csv, and the edit was silently ignored (issue 22). The .xlsx, because Excel is where
clerks edit; a clerk who prefers a CSV names it in ``units`` (settings/units.py reads both).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..settings.report import default_settings
from ..settings.units import ConfigError, read_units_rows
from .files import atomic_target
from .sheets import new_workbook

EXAMPLE_DATA = "example"
UNITS_XLSX = "don-vi.xlsx"  # the only units table init writes, the one cau-hinh.toml names
CONFIG_TOML = "cau-hinh.toml"
DISTRICT, PROVINCE = "huyen", "tinh"  # `consolidate init --cap huyen|tinh`: the words a clerk uses for the levels
LEVELS = (DISTRICT, PROVINCE)
# The units table shipped for each level: a district and its units; a province, its districts and their units.
UNITS_DATA = {DISTRICT: "don-vi-huyen.csv", PROVINCE: "don-vi-tinh.csv"}
# cau-hinh.toml is written for a district; a province's copy says "tỉnh" where the district's says "huyện".
# Keys left out of a config take the embedded district's wording, so a province's copy keeps every worded key.
PROVINCE_WORDING = (
    ("# của huyện Tuy Phước; chỉ cần ghi những gì khác.\n",
     "# của huyện Tuy Phước; chỉ cần ghi những gì khác. Ở cấp tỉnh, giữ lại các khóa\n"
     "# issuer, area và title dưới đây: bỏ đi thì bảng tổng hợp sẽ ghi theo cấp huyện.\n"),
    ("# Tệp don-vi.xlsx kèm theo là danh sách các đơn vị của huyện Tuy Phước: mở\n"
     "# bằng Excel, sửa thành các đơn vị của huyện mình rồi lưu lại (vẫn là .xlsx).\n",
     "# Tệp don-vi.xlsx kèm theo là danh sách của tỉnh Bình Định: các huyện, dưới mỗi\n"
     "# huyện là các đơn vị của huyện đó (cột “Mã đơn vị cấp trên” là mã của huyện).\n"
     "# Các dòng “Huyện Mẫu”, “Xã Mẫu …” là ví dụ, không có thật: xóa đi trước khi dùng.\n"
     "# Mở bằng Excel để sửa rồi lưu lại (vẫn là .xlsx).\n"),
    ('issuer = "UBND huyện"', 'issuer = "UBND tỉnh"'),
    ('ví dụ "huyện Tuy Phước".\narea = "huyện Tuy Phước"', 'ví dụ "tỉnh Bình Định".\narea = "tỉnh Bình Định"'),
    ('cấp huyện, cấp xã trên địa bàn huyện"', 'cấp huyện, cấp xã trên địa bàn tỉnh"'),
)


def write_examples(folder: Path, *, level: str = DISTRICT, overwrite: bool = False) -> list[Path]:
    """Write don-vi.xlsx and cau-hinh.toml (which names it) to start from; refuse to overwrite the clerk's files.

    ``level`` (DISTRICT or PROVINCE) chooses the units table and the wording ("UBND huyện" or "UBND tỉnh"):
    a province officer who started from a district's settings would print "trên địa bàn huyện" on the
    province's report.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    folder = Path(folder)
    targets = [folder / UNITS_XLSX, folder / CONFIG_TOML]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise ConfigError(existing[0], f"đã có trong thư mục {folder}; không ghi đè lên tệp đã có. "
                                       "Xóa hoặc đổi tên tệp này, hoặc chọn thư mục khác.")
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("consolidate") / "data" / EXAMPLE_DATA
    config = (source / CONFIG_TOML).read_text(encoding="utf-8")
    with atomic_target(folder / CONFIG_TOML) as tmp:
        tmp.write_bytes(config_text(config, level).encode("utf-8"))
    with resources.as_file(source / UNITS_DATA[level]) as src:
        rows = read_units_rows(src)
    _write_units_xlsx(rows, folder / UNITS_XLSX)
    return targets


def config_text(district_text: str, level: str) -> str:
    """The example config worded for ``level``; each change must find its text (a test writes both levels)."""
    if level == DISTRICT:
        return district_text
    text = district_text
    for old, new in PROVINCE_WORDING:
        if text.count(old) != 1:
            raise RuntimeError(f"the example config no longer has {old!r} once")
        text = text.replace(old, new)
    return text


def _write_units_xlsx(rows: list[tuple[int, list[str]]], path: Path) -> None:
    """The example table as an Excel sheet, same columns, header in bold."""
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
