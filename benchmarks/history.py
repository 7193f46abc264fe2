"""The history store's cost (issue 17): what recording adds to a run at N units, and how fast the stored
periods answer.

    .venv/bin/python benchmarks/history.py                      # N = 10000, 3 repeats, 10 periods, SQLite
    .venv/bin/python benchmarks/history.py --n 1000 --repeat 1  # a quick look
    .venv/bin/python benchmarks/history.py --postgres postgresql://consolidate:consolidate@127.0.0.1/postgres
    .venv/bin/python benchmarks/history.py --output benchmarks/results.md   # replaces its section there

1. **Recording's share of the run.** The command line in a fresh process, as the clerk types it
   (``consolidate run INBOX --units units.csv --out OUT --json``), on the synthetic inbox of synth.py,
   three ways, interleaved, median of ``--repeat``: ``--no-history``; recording the first period into a
   new store; recording a second period into a store that holds the first (the run then also reads the
   previous period's figures and the trends). Goal: recording adds at most 10 % at N = 10000.
2. **Queries.** The period recorded above, stored again under ``--periods`` period codes (10 × N units),
   then each query the tool makes, timed in this process (best of 5, after one warm-up): the periods list,
   one unit's series, one period's observations, the previous period's figures as the run reads them,
   the units list. Goal: each under a second. Also ``consolidate history --unit`` as a whole command.

Not a test: nothing is asserted; the verdicts are printed and written.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402  (the benchmarks' own module, beside this file)

from consolidate.history import open_store  # noqa: E402

GOAL_SHARE = 0.10
GOAL_QUERY = 1.0
PERIODS = ["2020S1", "2020S2", "2021S1", "2021S2", "2022S1", "2022S2", "2023S1", "2023S2", "2024S1", "2024S2",
           "2025S1", "2025S2"]


def child(args: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, the child and what it waited for) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "consolidate", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"consolidate {' '.join(args)} ended with {code}: {proc.stderr.read().decode()[-2000:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def measure_run(n: int, repeat: int, cache: Path, log) -> dict:
    inbox, units = synth.build(cache, n, log=log)
    work = cache / f"history-{n:05d}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    configs = {}
    for period in ("2024S1", "2024S2"):
        configs[period] = work / f"cau-hinh-{period}.toml"
        configs[period].write_text(f'period = "{period}"\n', encoding="utf-8")
    base = ["run", str(inbox), "--units", str(units), "--json"]
    # the store the second-period runs start from: the first period, recorded once
    first = work / "first.sqlite"
    child([*base, "--out", str(work / "out-seed"), "--config", str(configs["2024S1"]), "--history", str(first)])
    for p in inbox.iterdir():  # a warm page cache for every variant
        p.read_bytes()
    times: dict[str, list[tuple[float, float]]] = {"without": [], "first": [], "second": []}
    for r in range(repeat):
        for kind in times:
            out = work / f"out-{kind}"
            store = work / f"{kind}.sqlite"
            store.unlink(missing_ok=True)
            if kind == "second":
                shutil.copy2(first, store)
            args = [*base, "--out", str(out), "--config", str(configs["2024S1" if kind == "first" else "2024S2"])]
            args += ["--no-history"] if kind == "without" else ["--history", str(store)]
            times[kind].append(child(args))
            log(f"  N={n} {kind:<8} run {r + 1}/{repeat}: {times[kind][-1][0]:.2f} s wall, {times[kind][-1][1]:.2f} s CPU")
    med = {kind: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for kind, t in times.items()}
    return {"n": n, "repeat": repeat, "median": med, "all": times, "store": work / "first.sqlite",
            "size": (work / "second.sqlite").stat().st_size}


def best_of(fn, times: int = 5) -> tuple[float, int]:
    fn()  # warm-up: the first call pays for the page cache and SQLAlchemy's statement cache
    best, size = float("inf"), 0
    for _ in range(times):
        started = time.perf_counter()
        found = fn()
        best = min(best, time.perf_counter() - started)
        size = len(found) if hasattr(found, "__len__") else 1
    return best, size


def measure_queries(seed: Path, target: str, periods: int, log) -> dict:
    """Fill ``target`` with the seed's period under ``periods`` codes, then time the queries."""
    with open_store(seed) as store:
        (period,) = store.periods()
        figures = store.observations(period=period)
    units = sorted({o.unit_code for o in figures})
    codes = PERIODS[:periods]
    record_times = []
    with open_store(target) as store:
        for code in codes:
            started = time.perf_counter()
            store.record(code, units, [o._replace(period=code) for o in figures], figures[0].run_time,
                         figures[0].tool_version)
            record_times.append(time.perf_counter() - started)
        log(f"  {len(codes)} periods × {len(units)} units recorded ({len(figures)} figures each), "
            f"median {statistics.median(record_times):.2f} s a period")
        unit = units[len(units) // 2]
        queries = {
            "periods()": lambda: store.periods(),
            f"series({unit!r})": lambda: store.series(unit),
            f"observations(period={codes[-1]!r})": lambda: store.observations(period=codes[-1]),
            f"observations(unit={unit!r})": lambda: store.observations(unit=unit),
            f"values(period={codes[-2]!r}) (the run's previous period)": lambda: store.values(period=codes[-2]),
            "units()": lambda: store.units(),
            "period_counts()": lambda: store.period_counts(),
        }
        found = {}
        for name, fn in queries.items():
            found[name] = best_of(fn)
            log(f"  {name}: {found[name][0]:.3f} s ({found[name][1]} rows)")
    return {"queries": found, "record": statistics.median(record_times), "figures": len(figures),
            "units": len(units), "periods": len(codes), "unit": unit}


def postgres_database(url: str) -> tuple[str, callable]:
    import sqlalchemy as sa  # only when PostgreSQL is measured

    admin = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"consolidate_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(url).set(database=name).render_as_string(hide_password=False), drop


def render(run: dict, stores: dict[str, dict], cli: tuple[float, float] | None, load: tuple[float, float]) -> str:
    n, med = run["n"], run["median"]
    lines = ["<!-- history -->", "## History store (issue 17)", "",
             f"`benchmarks/history.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, this 2-core machine "
             f"(1-minute load average {load[0]:.1f} before, {load[1]:.1f} after: other work was running), "
             f"N = {n}, median of {run['repeat']}.", "",
             "| run | wall-clock (s) | CPU (s) | added to the run without history |", "|---|---|---|---|"]
    names = {"without": "`--no-history`", "first": "recording the first period (new store)",
             "second": "recording a second period (reads the first: previous-period check, trends)"}
    base_wall, base_cpu = med["without"]
    verdicts = []
    for kind in ("without", "first", "second"):
        wall, cpu = med[kind]
        share = "—" if kind == "without" else f"{(wall / base_wall - 1) * 100:+.1f} % wall, {(cpu / base_cpu - 1) * 100:+.1f} % CPU"
        lines.append(f"| {names[kind]} | {wall:.2f} | {cpu:.2f} | {share} |")
        if kind != "without":
            ok = wall / base_wall - 1 <= GOAL_SHARE
            verdicts.append(f"- Recording at N = {n} ({names[kind]}) adds ≤ 10 %: "
                            f"**{'met' if ok else 'missed'}** ({(wall / base_wall - 1) * 100:+.1f} % wall-clock).")
    lines += ["", f"Every run: {', '.join(f'{k}: ' + ' / '.join(f'{w:.2f}' for w, _ in run['all'][k]) for k in run['all'])} s.",
              f"The SQLite store after two periods of {n} units: {run['size'] / 2**20:.1f} MiB.", ""]
    for store_name, q in stores.items():
        lines += [f"Queries on {store_name}, {q['periods']} periods × {q['units']} units "
                  f"({q['figures']} figures a period, {q['periods'] * q['figures']} in all; best of 5 after a warm-up; "
                  f"recording one period took {q['record']:.2f} s):", "",
                  "| query | seconds | rows |", "|---|---|---|"]
        for name, (seconds, rows) in q["queries"].items():
            lines.append(f"| `{name}` | {seconds:.3f} | {rows} |")
            verdicts.append(f"- {store_name}: `{name}` under 1 s: **{'met' if seconds < GOAL_QUERY else 'missed'}** ({seconds:.3f} s).")
        lines.append("")
    if cli is not None:
        lines += [f"`consolidate history --unit {stores['SQLite']['unit']}` as a whole command (start-up included): "
                  f"{cli[0]:.2f} s wall-clock, {cli[1]:.2f} s CPU.", ""]
    return "\n".join([*lines, *verdicts, "<!-- /history -->", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--periods", type=int, default=10)
    p.add_argument("--postgres", default=os.environ.get("CONSOLIDATE_TEST_POSTGRES", ""),
                   help="a PostgreSQL URL whose role may create databases: the queries are measured there too")
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    p.add_argument("--output", type=Path, help="a Markdown file whose history section is replaced (or appended)")
    args = p.parse_args()

    load_before = os.getloadavg()[0]
    run = measure_run(args.n, args.repeat, args.cache, print)
    stores = {}
    sqlite_target = args.cache / f"history-{args.n:05d}" / "periods.sqlite"
    sqlite_target.unlink(missing_ok=True)
    print("SQLite:")
    stores["SQLite"] = measure_queries(run["store"], str(sqlite_target), args.periods, print)
    cli = child(["history", "--history", str(sqlite_target), "--unit", stores["SQLite"]["unit"]])
    if args.postgres:
        url, drop = postgres_database(args.postgres)
        try:
            print("PostgreSQL:")
            stores["PostgreSQL 15 (local)"] = measure_queries(run["store"], url, args.periods, print)
        finally:
            drop()
    text = render(run, stores, cli, (load_before, os.getloadavg()[0]))
    print(text)
    if args.output:
        old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if "<!-- history -->" in old and "<!-- /history -->" in old:
            head, rest = old.split("<!-- history -->", 1)
            new = head + text + rest.split("<!-- /history -->", 1)[1].lstrip("\n")
        else:
            new = old.rstrip("\n") + "\n\n" + text
        args.output.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
