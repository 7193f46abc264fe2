"""In-process step profile of one run, from the timings the app offers.

    python steps.py INBOX UNITS_CSV OUT [--cprofile STATS_FILE]

Does what ``consolidate run INBOX --units UNITS_CSV --out OUT`` does, through the
same library calls the CLI makes (``app.load``, ``app.run``, ``app.write``), and
passes them a ``Timings`` that the run and the writers fill with named step
durations ("discover", "read", "validate", "write.html"…). Nothing is patched.
Prints one JSON object: seconds and call counts per step.
"""

import time

_T0 = time.perf_counter()

import cProfile  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

_T_STDLIB = time.perf_counter()
from consolidate import app  # noqa: E402
from consolidate.core.timings import Timings  # noqa: E402

# consolidate.checks.validate (pandas, pandera) is NOT imported here: the run imports it
# while its reading workers are busy, and the profile must see that as it is.

_T_IMPORTS = time.perf_counter()

# Steps an older profile had that the app does not time (the harness lists them as not timed):
# matching units runs in the reading workers; the registry's methods are not steps.
NOT_TIMED = ("match_units", "registry.reporting_units", "registry.closest")


def main() -> None:
    inbox, units_csv, out = (Path(a) for a in sys.argv[1:4])
    stats = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--cprofile" else None
    timings = Timings()
    prof = cProfile.Profile() if stats else None
    t = time.perf_counter()
    if prof:
        prof.enable()
    with app.no_cycle_collection():  # what `consolidate run --units` does, collector off as there
        registry, settings = app.load(units_csv)
    t_reg = time.perf_counter()
    result = app.run(inbox, registry, settings, timings=timings)
    t_run = time.perf_counter()
    app.write(result, out, timings)  # the outputs, then the accounting check, as the CLI does
    t_write = time.perf_counter()
    gc.freeze()  # the CLI's exit with the collector's walk spared
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
        "write_outputs": t_write - t_run - timings.seconds.get("accounting", 0.0),
        "times": dict(timings.seconds),
        "calls": dict(timings.calls),
        "missing": [label for label in NOT_TIMED if label not in timings.seconds],
        "code": str(Path(sys.modules["consolidate"].__file__).parent),
    }))


if __name__ == "__main__":
    main()
