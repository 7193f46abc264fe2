"""In-process step profile of one run, by wrapping functions from the outside.

    python steps.py INBOX UNITS_CSV OUT [--cprofile STATS_FILE]

The package is not edited: module attributes that pipeline.run and
outputs.write_outputs look up at call time are replaced by timing wrappers.
Prints one JSON object: seconds and call counts per step.
"""

import time

_T0 = time.perf_counter()

import cProfile  # noqa: E402
import gc  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

_T_STDLIB = time.perf_counter()
import consolidate.config as config  # noqa: E402
from consolidate.accounting import violations  # noqa: E402
import consolidate.outputs as outputs  # noqa: E402
import consolidate.pipeline as pipeline  # noqa: E402
import consolidate.registry as registry  # noqa: E402

# consolidate.validate (pandas, pandera) is NOT imported here: the run imports it
# while its reading workers are busy, and the profile must see that as it is.

import importlib  # noqa: E402


def _optional(name):
    """A module that may not exist in every version of the package."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


feedback = _optional("consolidate.feedback")
html_summary = _optional("consolidate.html_summary")

_T_IMPORTS = time.perf_counter()

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(name, fn, key=None):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        label = key(*args, **kwargs) if key else name
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[label] += time.perf_counter() - t
            CALLS[label] += 1

    return wrapper


def _data_only_key(prefix):
    def key(path, data_only=True, *args, **kwargs):
        return f"{prefix}(values)" if data_only else f"{prefix}(formulas)"

    return key


# (label, module, attribute names to try in order, call-key function). The package
# is being changed while this harness exists: a step whose function is gone is
# reported as missing instead of failing the profile.
STEPS = (
    ("discover", pipeline, ("discover",), None),
    ("read", pipeline, ("read_files",), None),
    ("match_units", pipeline, ("_match_units",), None),
    ("consolidate", pipeline, ("consolidate",), None),
    ("write.check_folder", outputs, ("check_feedback_folder",), None),
    ("write.log_csv", outputs, ("write_log_csv",), None),
    ("write.feedback", outputs, ("write_feedback",), None),
    ("write.feedback.copies", feedback, ("_write_copy",), None),
    ("write.html", outputs, ("write_html_summary",), None),
    ("registry.reporting_units", registry.Registry, ("reporting_units",), None),
    ("registry.closest", registry.Registry, ("closest",), None),
)


def _instrument_checks() -> None:
    """Time the first, importing call of pipeline._load_checks (made while the workers read) and,
    once consolidate.validate exists, its steps."""
    load = pipeline._load_checks
    wrapped = {}

    def load_checks():
        if "fn" in wrapped:
            return wrapped["fn"]
        t = time.perf_counter()
        fn = load()
        TIMES["read.imports_meanwhile"] += time.perf_counter() - t
        CALLS["read.imports_meanwhile"] += 1
        validate = sys.modules["consolidate.validate"]
        validate._frame = timed("validate.build_frames", validate._frame)
        validate._failures = timed("validate.pandera", validate._failures)
        wrapped["fn"] = timed("validate", fn)
        return wrapped["fn"]

    pipeline._load_checks = load_checks


def _instrument_background() -> None:
    """The merged workbook is written by a forked child: what the parent can time is how long
    it still waits for the child once its own outputs are written."""
    start = outputs.background.start

    def start_timed(work):
        TIMES["write.workbook.started"] = time.perf_counter()
        join = start(work)

        def join_timed():
            t = time.perf_counter()
            try:
                return join()
            finally:
                TIMES["write.workbook.wait"] += time.perf_counter() - t
                CALLS["write.workbook.wait"] += 1
                TIMES["write.workbook"] = time.perf_counter() - TIMES.pop("write.workbook.started")
                CALLS["write.workbook"] += 1

        return join_timed

    outputs.background.start = start_timed


def instrument() -> list[str]:
    """Wrap every step that exists; return the labels of those that do not."""
    if hasattr(pipeline, "_load_checks"):
        _instrument_checks()
    if hasattr(outputs, "background"):
        _instrument_background()
    missing = []
    for label, owner, names, key in STEPS:
        name = next((n for n in names if owner is not None and callable(getattr(owner, n, None))), None)
        if name is None:
            missing.append(label)
            continue
        setattr(owner, name, timed(label, getattr(owner, name), key))
    return missing


def main() -> None:
    inbox, units_csv, out = (Path(a) for a in sys.argv[1:4])
    stats = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--cprofile" else None
    missing = instrument()
    prof = cProfile.Profile() if stats else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    with pipeline.no_cycle_collection():  # what `consolidate run --units` does, collector off as there
        reg = config.load_registry(units_csv)
    t_reg = time.perf_counter()
    result = pipeline.run(inbox, reg)
    t_run = time.perf_counter()
    with pipeline.no_cycle_collection():  # as the CLI writes and checks the outputs
        outputs.write_outputs(result, out)
        t_write = time.perf_counter()
        violations(result)  # the CLI's accounting check, then its exit with the collector's walk spared
        TIMES["accounting"] += time.perf_counter() - t_write
        CALLS["accounting"] += 1
    gc.freeze()
    if prof:
        prof.disable()
        prof.dump_stats(stats)
    print(json.dumps({
        "files": len(result.files),
        "problems": len(result.problems),
        "imports": _T_IMPORTS - _T_STDLIB,
        "stdlib_imports": _T_STDLIB - _T0,
        "registry_load": t_reg - t,
        "run": t_run - t_reg,
        "write_outputs": t_write - t_run,
        "times": dict(TIMES),
        "calls": dict(CALLS),
        "missing": missing,
        "code": str(Path(sys.modules["consolidate"].__file__).parent),
    }))


if __name__ == "__main__":
    main()
