"""Merge the units' Excel reports into one checked summary: the package, and its public API.

What another program needs to run a consolidation or check a file without the CLI::

    import consolidate

    registry = consolidate.load_registry("don-vi.csv")        # or consolidate.default_registry()
    settings = consolidate.load_config("cau-hinh.toml")[0]    # or consolidate.default_settings()
    result = consolidate.run(Path("inbox"), registry, settings)  # a RunResult: problems, statuses, merged tables
    consolidate.write_outputs(result, Path("outbox"))         # workbook, CSV log, HTML page, feedback copies

    # with the history of the periods (issue 17): compare with the stored previous period, record this one
    result = consolidate.run(Path("inbox"), registry, settings, history="outbox/lich-su.sqlite")
    consolidate.record(result, "outbox/lich-su.sqlite")      # a store that fails: a warning in result.problems
    with consolidate.open_store("outbox/lich-su.sqlite") as store:
        store.periods(), store.observations(period="2024S2")
    for submission, problems in consolidate.check([Path("bao-cao.xlsx")]):
        ...

Each name is imported on first use (module ``__getattr__``), so ``import consolidate``
stays cheap and ``consolidate --help`` does not load the readers and writers. The
layers behind them are described in README "How it is built".
"""

from __future__ import annotations

import importlib

from .core.quiet import silence_library_warnings as _silence

_silence()  # openpyxl's reading warnings are noise on a clerk's console (see core/quiet.py)

# public name -> the module (under consolidate) that defines it
_API = {
    "run": "app",
    "check": "app",
    "record": "app",
    "open_store": "history",
    "HistoryStore": "history",
    "Observation": "core.observations",
    "no_cycle_collection": "app",
    "write_outputs": "write.outputs",
    "Outputs": "write.outputs",
    "Registry": "core.registry",
    "ReportSettings": "core.registry",
    "Unit": "core.registry",
    "Problem": "core.problems",
    "RunResult": "core.results",
    "Timings": "core.timings",
    "ConfigError": "settings.units",
    "load_registry": "settings.units",
    "default_registry": "settings.units",
    "load_settings": "settings.report",
    "load_config": "settings.report",
    "default_settings": "settings.report",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> object:
    """A public name, imported from its module the first time it is asked for."""
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
