"""The example settings files ``consolidate init`` writes: a units table (.csv and .xlsx) and a commented TOML file."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from ..settings.report import default_settings
from ..settings.units import ConfigError, read_units_rows
from .files import atomic_target
from .sheets import new_workbook

EXAMPLE_DATA = "example"
UNITS_CSV = "don-vi.csv"
UNITS_XLSX = "don-vi.xlsx"
CONFIG_TOML = "cau-hinh.toml"


def write_examples(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Write don-vi.csv, don-vi.xlsx and cau-hinh.toml to start from; refuse to overwrite the clerk's files."""
    folder = Path(folder)
    targets = [folder / UNITS_CSV, folder / UNITS_XLSX, folder / CONFIG_TOML]
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise ConfigError(existing[0], f"đã có trong thư mục {folder}; không ghi đè lên tệp đã có. "
                                       "Xóa hoặc đổi tên tệp này, hoặc chọn thư mục khác.")
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("consolidate") / "data" / EXAMPLE_DATA
    for name in (UNITS_CSV, CONFIG_TOML):
        with resources.as_file(source / name) as src, atomic_target(folder / name) as tmp:
            shutil.copyfile(src, tmp)
    with resources.as_file(source / UNITS_CSV) as src:
        rows = read_units_rows(src)
    _write_units_xlsx(rows, folder / UNITS_XLSX)
    return targets


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
