"""The recording step alone, in this process: a run of the synthetic inbox at N units, then the run's
figures turned into rows and stored (a new SQLite file, and PostgreSQL with ``--postgres``), best of
``--repeat``. What benchmarks/history.py cannot separate from the rest of the run.

    .venv/bin/python benchmarks/record_step.py --n 10000 --repeat 3 [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402  (the benchmarks' own module, beside this file)

import consolidate  # noqa: E402
from consolidate.history.recording import record_run  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--postgres", default="")
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    args = p.parse_args()
    inbox, units = synth.build(args.cache, args.n)
    settings = consolidate.default_settings()
    result = consolidate.run(inbox, consolidate.load_registry(units), settings)
    targets = {"SQLite": lambda: str(args.cache / "record-step.sqlite")}
    if args.postgres:
        from history import postgres_database  # only when PostgreSQL is measured

        url, drop = postgres_database(args.postgres)
        targets["PostgreSQL"] = lambda: url
    try:
        for name, target in targets.items():
            times, cpu = [], []
            for _ in range(args.repeat):
                if name == "SQLite":
                    Path(target()).unlink(missing_ok=True)
                result.history = None
                started, started_cpu = time.perf_counter(), time.process_time()
                count = record_run(result, target())
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            print(f"{name}: {count} figures, best {min(times):.2f} s wall ({min(cpu):.2f} s CPU here), "
                  f"all {' / '.join(f'{t:.2f}' for t in times)}; load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        if args.postgres:
            drop()


if __name__ == "__main__":
    main()
