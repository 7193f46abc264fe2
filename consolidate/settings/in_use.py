"""Which units list and settings a run uses, said to the clerk; and whether the inbox fits the built-in sample.

With no ``--config`` and no ``--units`` a run takes the embedded Tuy Phước sample, so that the sample inbox
runs with no setup. Another district's clerk who forgot the option would get fourteen "Chưa nhận được báo
cáo" lines and "có phải: Xã Phước An?" for each of their own communes, and no word of why. So every run
names what it uses, and a sample list that the inbox's units do not fit is said first, with the command
that makes one's own.
"""

from __future__ import annotations

from pathlib import Path

from ..core import problems as P
from ..core.records import Submission
from ..core.registry import Registry
from .report import default_settings, load_config
from .units import default_registry


def is_sample(registry: Registry) -> bool:
    """Whether these are the embedded sample's units (embedded, or a copy that ``init`` wrote and nobody edited)."""
    sample = default_registry().units
    return len(registry.units) == len(sample) and registry.units == sample


def units_path(units_file: Path | None, config_file: Path | None) -> Path | None:
    """The units table a run reads: ``--units``, else the one its settings file names, else None (the sample)."""
    if units_file is not None:
        return Path(units_file)
    return load_config(config_file)[1] if config_file is not None else None


def sources_line(registry: Registry, units_file: Path | None, config_file: Path | None) -> str:
    """One line naming the units list and the settings in use, e.g. "Danh sách đơn vị: cau-hinh/don-vi.xlsx
    (14 đơn vị báo cáo) · cấu hình: cau-hinh/cau-hinh.toml."."""
    units = units_path(units_file, config_file)
    count = f"{len(registry.reporting_units())} đơn vị báo cáo"
    sample = f"mẫu có sẵn của {default_settings().area}"
    listed = f"{_shown(units)} ({count})" if units is not None else f"{sample} ({count})"
    settings = _shown(config_file) if config_file is not None else sample
    return f"Danh sách đơn vị: {listed} · cấu hình: {settings}."


def _shown(path: Path) -> str:
    """A path as the clerk typed it, or from the working folder: short, and the one a clerk would type again."""
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:  # elsewhere on the machine (or another drive on Windows): the whole path
        return str(path)


def sample_mismatch(registry: Registry, submissions: list[Submission]) -> P.Problem | None:
    """The warning for a sample list that most files' units are not in (another district's inbox), or None.

    Its "có phải: Xã Phước An?" suggestions are then taken off the files' unknown-unit errors: a name
    from the sample is no answer for a commune of another district.
    """
    named = [sub for sub in submissions if sub.units]
    unknown = [sub for sub in named if not sub.matched
               and any(p.code == P.UnitUnknown.code for p in sub.problems)]
    if not unknown or 2 * len(unknown) <= len(named) or not is_sample(registry):
        return None
    for sub in named:
        for p in sub.problems:
            if p.code == P.UnitUnknown.code:
                p.params["suggestion"] = ""
    return P.SampleUnitsList(area=default_settings().area, unknown=len(unknown), files=len(named))
