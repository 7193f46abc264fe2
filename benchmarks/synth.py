"""Synthetic registries and inboxes of N filled submissions, cached on disk.

Files are made by consolidate's own template writer (``write_template`` with
typed totals, as in the sample inbox), so they have the real layout: merged
headers, data validation, protection, comments-free cells. Unit ``i`` is
always the same file whatever N is, so every inbox is a set of hard links
into one pool (``.cache/pool``) that is only ever extended.

About 5 % of the files carry a realistic mistake (see ``mistake``) so that the
error log, the red cells and the comments are written too; about one file in
500 names its unit with a tone typo (unit-unknown + unit-not-reported, which
also exercises the "closest names" suggestion).
"""

from __future__ import annotations

import csv
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from consolidate.core.registry import Unit
from consolidate.settings.report import default_settings
from consolidate.write.sample import DISTRICT_UNIT, SEED_FORM1, form2_values
from consolidate.core.template import FORM1_FIELDS, TOTAL_PARTS
from consolidate.write.templates import write_template

# Bump when the generated content changes: the pool is then rebuilt.
GENERATOR_VERSION = "1"

ROOT = Unit(code="tinh-thu-nghiem", name="Tỉnh Thử nghiệm", level="tỉnh", parent="")
_COMMUNE_ROWS = [v for k, v in SEED_FORM1.items() if k != DISTRICT_UNIT]
_KEYS = [f.key for f in FORM1_FIELDS]


def unit(i: int) -> Unit:
    return Unit(code=f"u{i:05d}", name=f"Xã Thử nghiệm {i:05d}", level="xã", parent=ROOT.code)


def units(n: int) -> list[Unit]:
    """The registry of an inbox of n submissions: a root and n reporting units."""
    return [ROOT, *(unit(i) for i in range(1, n + 1))]


def file_name(i: int) -> str:
    return f"bao-cao-{unit(i).code}.xlsx"


def mistake(i: int) -> str:
    """The mistake unit i makes, '' for a clean file (deterministic, ~5 %)."""
    if i % 500 == 250:
        return "unit-unknown"
    return {
        5: "total-mismatch",
        23: "negative-count",
        41: "rate-out-of-range",
        59: "missing-value",
        77: "not-whole-number",
    }.get(i % 97, "")


def values(i: int) -> tuple[str, dict, dict]:
    """(unit name as typed, Biểu mẫu 1 values, Biểu mẫu 2 values) of unit i's file."""
    u = unit(i)
    form1 = dict(zip(_KEYS, _COMMUNE_ROWS[(i - 1) % len(_COMMUNE_ROWS)]))
    form1["total"] = sum(form1[p] for p in TOTAL_PARTS)
    form2 = form2_values(u.name, u.code)  # invented rates near the district's
    name = u.name
    kind = mistake(i)
    if kind == "total-mismatch":
        form1["total"] += 1  # the seed's own mistake (Phước Sơn: 7 ≠ 6)
    elif kind == "negative-count":
        form1["printers"] = -1
    elif kind == "not-whole-number":
        form1["computers"] = 2.5
    elif kind == "rate-out-of-range":
        form2["online_payment"]["after"] = round(form2["online_payment"]["after"] * 10, 1)  # 97,8 typed as 978
    elif kind == "missing-value":
        form2["electronic_results"]["after"] = None
    elif kind == "unit-unknown":
        name = name.replace("nghiệm", "nghiêm")  # a dropped tone mark
    return name, form1, form2


def _write(args: tuple[int, str]) -> None:
    i, folder = args
    name, form1, form2 = values(i)
    u = unit(i)
    typed = Unit(u.code, name, u.level, u.parent)
    write_template(typed, default_settings(), Path(folder) / file_name(i), form1=form1, form2=form2, total_formula=False)


def _fill_pool(pool: Path, n: int, jobs: int, log=print) -> None:
    stamp = pool / ".version"
    if pool.exists() and (not stamp.exists() or stamp.read_text() != GENERATOR_VERSION):
        shutil.rmtree(pool)
    pool.mkdir(parents=True, exist_ok=True)
    stamp.write_text(GENERATOR_VERSION)
    todo = [i for i in range(1, n + 1) if not (pool / file_name(i)).exists()]
    if not todo:
        return
    log(f"  generating {len(todo)} submission files in {pool} ({jobs} processes)…")
    if jobs > 1 and len(todo) > 50:
        with ProcessPoolExecutor(jobs) as ex:
            list(ex.map(_write, [(i, str(pool)) for i in todo], chunksize=64))
    else:
        for i in todo:
            _write((i, str(pool)))


def write_units_csv(path: Path, n: int) -> Path:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "level", "parent"])
        for u in units(n):
            w.writerow([u.code, u.name, u.level, u.parent])
    os.replace(tmp, path)
    return path


def build(cache: Path, n: int, jobs: int | None = None, log=print) -> tuple[Path, Path]:
    """(inbox folder, units.csv) for n submissions, built once under ``cache``."""
    jobs = jobs or len(os.sched_getaffinity(0))
    cache.mkdir(parents=True, exist_ok=True)
    inbox = cache / f"inbox-{n:05d}"
    units_csv = cache / f"units-{n:05d}.csv"
    stamp = cache / f"inbox-{n:05d}.ok"
    if inbox.is_dir() and units_csv.exists() and stamp.exists() and stamp.read_text() == GENERATOR_VERSION:
        return inbox, units_csv
    pool = cache / "pool"
    _fill_pool(pool, n, jobs, log)
    tmp = cache / f"inbox-{n:05d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for i in range(1, n + 1):
        src, dst = pool / file_name(i), tmp / file_name(i)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    shutil.rmtree(inbox, ignore_errors=True)
    os.replace(tmp, inbox)
    write_units_csv(units_csv, n)
    stamp.write_text(GENERATOR_VERSION)
    return inbox, units_csv


def expected_mistakes(n: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for i in range(1, n + 1):
        kind = mistake(i)
        if kind:
            counts[kind] = counts.get(kind, 0) + 1
    return counts
