"""The sample inbox: one filled submission per unit of Tuy Phước, from report 362/UBND.

Biểu mẫu 1 figures are the seed report's, unchanged (so Xã Phước Sơn still
says Tổng số 7 while 6 + 0 + 0 = 6). Biểu mẫu 2: Cấp huyện carries the seed's
district rates; the communes' rates are invented samples, drawn
deterministically near the district's. Regenerate with
``python -m consolidate.write.sample inbox/``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from ..core.registry import Registry, ReportSettings
from ..settings.report import default_settings
from ..settings.units import default_registry
from ..core.template import FORM1_FIELDS, FORM2_INDICATORS
from .templates import write_template

# Biểu mẫu 1 of report 362/UBND, in the seed's order: Tổng số, (4), (5), (6),
# Máy tính, Máy in, Máy scan, Chữ ký số được cấp.
SEED_FORM1: dict[str, tuple[int, ...]] = {
    "Cấp huyện": (8, 3, 1, 4, 7, 5, 6, 8),
    "Thị trấn Diêu Trì": (4, 4, 0, 0, 4, 2, 2, 4),
    "Thị trấn Tuy Phước": (6, 0, 6, 0, 5, 3, 2, 6),
    "Xã Phước An": (5, 5, 0, 0, 5, 3, 3, 4),
    "Xã Phước Hiệp": (6, 6, 0, 0, 4, 2, 3, 6),
    "Xã Phước Hòa": (6, 6, 0, 0, 6, 4, 4, 6),
    "Xã Phước Hưng": (6, 6, 0, 0, 5, 4, 3, 6),
    "Xã Phước Lộc": (6, 6, 0, 0, 4, 3, 2, 6),
    "Xã Phước Nghĩa": (5, 5, 0, 0, 4, 3, 2, 5),
    "Xã Phước Quang": (5, 5, 0, 0, 5, 4, 3, 5),
    "Xã Phước Sơn": (7, 6, 0, 0, 6, 4, 2, 7),
    "Xã Phước Thắng": (5, 5, 0, 0, 5, 4, 3, 4),
    "Xã Phước Thành": (5, 5, 0, 0, 4, 2, 2, 5),
    "Xã Phước Thuận": (6, 6, 0, 0, 6, 5, 3, 6),
}

# Biểu mẫu 2 of report 362/UBND: (i) before, (ii-b) after; the target is blank.
SEED_FORM2: dict[str, tuple[float, float]] = {
    "online_submission": (99.7, 97.8),
    "online_payment": (73.6, 95.6),
    "digitised_dossiers": (99.8, 98.6),
    "electronic_results": (87.3, 87.8),
    "reused_results": (1.9, 1.7),
}

DISTRICT_UNIT = "Cấp huyện"


def form1_values(name: str) -> dict[str, int]:
    return dict(zip((f.key for f in FORM1_FIELDS), SEED_FORM1[name]))


def form2_values(name: str, code: str) -> dict[str, dict[str, float | None]]:
    """The seed's rates for Cấp huyện; plausible invented rates for the communes."""
    if name == DISTRICT_UNIT:
        return {k: {"before": b, "target": None, "after": a} for k, (b, a) in SEED_FORM2.items()}
    rng = random.Random(f"sample-{code}")
    values = {}
    for ind in FORM2_INDICATORS:
        before, after = SEED_FORM2[ind.key]
        spread = min(8.0, max(1.0, before * 0.15))
        values[ind.key] = {
            "before": round(min(100.0, max(0.0, before + rng.uniform(-spread, spread / 4))), 1),
            "target": None,
            "after": round(min(100.0, max(0.0, after + rng.uniform(-spread, spread / 4))), 1),
        }
    return values


def make_sample_inbox(
    folder: Path, registry: Registry | None = None, settings: ReportSettings | None = None
) -> list[Path]:
    """Write the sample submissions; Tổng số is typed, as in the seed report."""
    registry = registry or default_registry()
    settings = settings or default_settings()
    paths = []
    for unit in registry.reporting_units():
        path = folder / f"bao-cao-{unit.code}.xlsx"
        write_template(
            unit, settings, path,
            form1=form1_values(unit.name), form2=form2_values(unit.name, unit.code),
            total_formula=False,
        )
        paths.append(path)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "inbox")
    for p in make_sample_inbox(target):
        print(p)
