"""Measure the whole consolidate run against the time to just read the files.

    .venv/bin/python benchmarks/run.py                  # N = 14, 200, 1000, 3321; 3 repeats
    .venv/bin/python benchmarks/run.py --quick          # N = 14, 200; 1 repeat; prints only
    .venv/bin/python benchmarks/run.py --sizes 14,10000 --repeat 5

For each N a synthetic registry and inbox of N filled submissions is built
once under benchmarks/.cache/ (see synth.py). Then, each in a fresh process
so that interpreter start-up and imports count:

* floor calamine: list the inbox and read every sheet's values with
  python-calamine, nothing else (floor_read.py);
* floor openpyxl: the same with openpyxl read_only=True, data_only=True,
  the reader the tool uses today;
* consolidate run: the command line itself, ``consolidate run INBOX --units
  UNITS --out OUT --json``, called in the child (drive.py).

Wall-clock is the median of --repeat runs, measured around the child from
spawn to exit. Peak RSS is the child's own ru_maxrss, from os.wait4 on that
child (not a RUSAGE_CHILDREN delta, which is a maximum over all children).
Where there is no os.wait4 (Windows) peak RSS and CPU time are not measured
(NaN, shown as "nan"); the timings still are.
Afterwards one more run of the largest N is profiled in-process (steps.py).
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import synth  # noqa: E402

DEFAULT_SIZES = (14, 200, 1000, 3321, 10000)
OPENPYXL_FLOOR_MAX = 3321  # above this the openpyxl floor (~15 ms a file) is skipped unless asked for
QUICK_SIZES = (14, 200)
TARGET_SECONDS = 2.0  # issue 7: 3321 submissions in under 2 s
TARGET_SECONDS_N = 3321
TARGET_RATIO = 2.5  # issue 7: at N = 10000, within 2.5x of the calamine floor
TARGET_RATIO_N = 10000
FLAT_SLOPE = 2.0  # "flat": at most 2 MiB more peak RSS per 1000 submissions (20 MiB at N = 10000)
FLAT_MIN_N = 100  # smaller runs are dominated by imports and the HTML charts (drawn below 60 units)
COLUMNS = (
    "N",
    "floor calamine (s)",
    "floor openpyxl (s)",
    "consolidate run (s)",
    "ratio to calamine floor",
    "peak RSS (MiB)",
    "target",
    "verdict",
)
PACKAGES = ("pandas", "pandera", "numpy", "openpyxl", "xlsxwriter", "python-calamine", "defusedxml", "click")


# Measuring one child process -------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rss_mib: float
    returncode: int
    cpu: float = 0.0  # user + system seconds of the child
    stdout: str = ""
    stderr: str = ""
    killed: bool = False


CODE_ENV: dict[str, str] = {}  # PYTHONPATH of the code snapshot, set by use_snapshot()


def snapshot_code(cache: Path) -> tuple[Path, str]:
    """A copy of consolidate/ (with schemas/ as consolidate/schemas) as it is now, byte-compiled.

    Others edit the package while a benchmark runs for many minutes: every child
    imports this copy (it comes first on PYTHONPATH, before the editable install),
    so all figures of one run are of the same code. Named by a hash of its files.
    """
    root = cache / "code"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="snapshot-", dir=root))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "consolidate", tmp / "consolidate", ignore=ignore)
    if (REPO / "schemas").is_dir() and not (tmp / "consolidate" / "schemas").exists():
        shutil.copytree(REPO / "schemas", tmp / "consolidate" / "schemas", ignore=ignore)
    h = hashlib.sha256()
    for p in sorted(q for q in tmp.rglob("*") if q.is_file()):
        h.update(p.relative_to(tmp).as_posix().encode() + b"\0" + p.read_bytes())
    digest = h.hexdigest()[:12]
    dest = root / digest
    if dest.exists():
        shutil.rmtree(tmp)
    else:
        compileall.compile_dir(tmp, quiet=1)  # as an installed package would be: no compiling in the timed runs
        os.replace(tmp, dest)
    return dest, digest


def use_snapshot(path: Path | None) -> None:
    CODE_ENV.clear()
    if path is not None:
        CODE_ENV["PYTHONPATH"] = str(path)


def measure(cmd: list[str], timeout: float) -> Sample:
    """Run cmd once; wall-clock from spawn to exit, and that child's own peak RSS."""
    env = {**os.environ, **CODE_ENV}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO, env=env)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            # only the child we started, by its id (SIGKILL is POSIX; SIGTERM terminates on Windows)
            os.kill(proc.pid, getattr(signal, "SIGKILL", signal.SIGTERM))

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
                rss, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
            else:  # Windows: no rusage of one child
                proc.wait()
                rss = cpu = float("nan")
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        return Sample(seconds, rss, proc.returncode, cpu, out.read(), err.read(), killed.is_set())


@dataclass
class Result:
    """Median wall-clock and peak RSS of the repeats of one measurement."""

    samples: list[Sample] = field(default_factory=list)
    missing: str = ""  # why there is no figure ("not installed", "> 180 s (killed)")
    at_least: float | None = None  # when killed: it ran at least this long

    @property
    def ok(self) -> bool:
        return bool(self.samples) and not self.missing

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)


@dataclass
class Row:
    n: int
    calamine: Result
    openpyxl: Result
    run: Result
    summary: dict = field(default_factory=dict)  # drive.py's JSON: files, errors, problem codes
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average before and after, other work on the machine


def _python() -> str:
    return sys.executable


def _add(result: Result, sample: Sample, what: str, timeout: float) -> None:
    if sample.killed:
        result.missing = f"> {timeout:g} s (killed)"
        result.at_least = timeout
    elif sample.returncode == 3 and "not installed" in sample.stderr:
        result.missing = "not installed"
    elif sample.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {sample.returncode}):\n{sample.stderr[-3000:]}")
    else:
        result.samples.append(sample)


MEASURES = ("calamine", "openpyxl", "run")


def measure_size(n: int, inbox: Path, units_csv: Path, out: Path, repeat: int = 3, timeout: float = 180.0,
                 log=print, which: tuple[str, ...] = MEASURES, openpyxl_max: int = OPENPYXL_FLOOR_MAX) -> Row:
    """The two floors and the whole run for one inbox, each repeated and interleaved.

    ``which`` limits the measurements (the harness test skips the slow run);
    above ``openpyxl_max`` files the openpyxl floor is not measured (it would
    take minutes and says nothing the smaller sizes do not).
    """
    for p in inbox.iterdir():  # warm the page cache so the first floor is not the one that pays for the disk
        p.read_bytes()
    row = Row(n, Result(), Result(), Result())
    if n > openpyxl_max:
        row.openpyxl.missing = f"not measured above N={openpyxl_max} (--openpyxl-floor-max)"
    load_before = os.getloadavg()[0]
    floor = [_python(), str(HERE / "floor_read.py")]
    run = [_python(), str(HERE / "drive.py"), str(inbox), str(units_csv), str(out)]
    for k in range(repeat):
        for key, result, cmd, what in (
            ("calamine", row.calamine, [*floor, "calamine", str(inbox)], "floor calamine"),
            ("openpyxl", row.openpyxl, [*floor, "openpyxl", str(inbox)], "floor openpyxl"),
            ("run", row.run, run, "consolidate run"),
        ):
            if result.missing or key not in which:
                continue
            sample = measure(cmd, timeout)
            _add(result, sample, what, timeout)
            if result.ok:
                log(f"  N={n} #{k + 1} {what}: {sample.seconds:.2f} s, {sample.rss_mib:.0f} MiB")
            else:
                log(f"  N={n} #{k + 1} {what}: {result.missing}")
        if row.run.missing:
            break
    if row.run.ok:
        row.summary = json.loads(row.run.samples[-1].stdout.strip().splitlines()[-1])
    row.load = (load_before, os.getloadavg()[0])
    return row


# Verdicts ------------------------------------------------------------------------


def _ratio(row: Row) -> float | None:
    if row.run.ok and row.calamine.ok:
        return row.run.seconds / row.calamine.seconds
    return None


def target_and_verdict(row: Row) -> tuple[str, str]:
    if row.n == TARGET_SECONDS_N:
        target = f"≤ {TARGET_SECONDS:g} s"
        if row.run.at_least:
            return target, f"missed: > {row.run.at_least:g} s, more than {row.run.at_least / TARGET_SECONDS:.0f}× the target"
        if not row.run.ok:
            return target, f"missed: {row.run.missing}"
        s = row.run.seconds
        if s <= TARGET_SECONDS:
            return target, f"met ({s:.2f} s)"
        return target, f"missed by {s - TARGET_SECONDS:.1f} s ({s / TARGET_SECONDS:.1f}× the target)"
    if row.n == TARGET_RATIO_N:
        target = f"≤ {TARGET_RATIO:g}× calamine floor"
        ratio = _ratio(row)
        if ratio is None:
            return target, f"no figure ({row.run.missing or row.calamine.missing})"
        if ratio <= TARGET_RATIO:
            return target, f"met ({ratio:.1f}×)"
        return target, f"missed: {ratio:.1f}× ({ratio / TARGET_RATIO:.1f}× over the allowed ratio)"
    return "—", ""


def memory_verdict(rows: list[Row]) -> str:
    """Flat means: growing by at most FLAT_SLOPE MiB per 1000 submissions between the two largest N measured.

    (The smallest N is not a fair base: start-up and imports dominate it.)
    """
    done = [r for r in rows if r.run.ok]
    big = [r for r in done if r.n >= FLAT_MIN_N]
    if len(big) < 2:
        return f"Peak memory flat in N: needs two sizes of at least {FLAT_MIN_N} measured."
    lo, hi = big[-2], big[-1]
    slope = (hi.run.rss_mib - lo.run.rss_mib) / (hi.n - lo.n) * 1000
    verdict = "met" if slope <= FLAT_SLOPE else "missed"
    at_10000 = hi.run.rss_mib + max(0.0, slope) * (TARGET_RATIO_N - hi.n) / 1000
    all_sizes = ", ".join(f"{r.run.rss_mib:.0f} MiB at N={r.n}" for r in done)
    unmeasured = [r.n for r in rows if not r.run.ok]
    return (
        f"Peak memory flat in N (criterion: at most {FLAT_SLOPE:g} MiB more per 1000 submissions between the two "
        f"largest N measured, N ≥ {FLAT_MIN_N}): **{verdict}**: {slope:+.1f} MiB per 1000 submissions from N={lo.n} to N={hi.n} "
        f"({all_sizes})"
        + (f"; if it goes on, about {at_10000:.0f} MiB at N={TARGET_RATIO_N}" if hi.n < TARGET_RATIO_N else "")
        + f", i.e. {slope * 1024 / 1000:.0f} KiB more per submission"
        + (f"; N={', '.join(map(str, unmeasured))} not measured." if unmeasured else ".")
    )


def time_verdicts(rows: list[Row]) -> list[str]:
    lines = []
    by_n = {r.n: r for r in rows}
    r = by_n.get(TARGET_SECONDS_N)
    if r is None:
        lines.append(f"Whole run over {TARGET_SECONDS_N} submissions ≤ {TARGET_SECONDS:g} s: not measured in this run.")
    else:
        _, v = target_and_verdict(r)
        extra = ""
        if r.calamine.ok and r.calamine.seconds >= TARGET_SECONDS:
            extra = (f" The calamine floor alone took {r.calamine.seconds:.2f} s in this run, already above the "
                     "target (see the load average in the detail table).")
        elif r.calamine.ok:
            extra = (f" The calamine floor alone took {r.calamine.seconds:.2f} s, leaving "
                     f"{TARGET_SECONDS - r.calamine.seconds:.2f} s for everything else.")
        lines.append(f"Whole run over {TARGET_SECONDS_N} submissions ≤ {TARGET_SECONDS:g} s: **{v}**.{extra}")
    r = by_n.get(TARGET_RATIO_N)
    if r is None:
        largest = max((x for x in rows if _ratio(x) is not None), key=lambda x: x.n, default=None)
        hint = f" (at N={largest.n} the ratio is {_ratio(largest):.1f}×)" if largest else ""
        lines.append(f"At N={TARGET_RATIO_N} within {TARGET_RATIO:g}× of the calamine floor: not measured in this run{hint}; "
                     f"add it with `--sizes ...,{TARGET_RATIO_N}`.")
    else:
        _, v = target_and_verdict(r)
        lines.append(f"At N={TARGET_RATIO_N} within {TARGET_RATIO:g}× of the calamine floor: **{v}**.")
    return lines


# Rendering -------------------------------------------------------------------------


def _s(result: Result) -> str:
    if result.ok:
        return f"{result.seconds:.2f}"
    return "—" if not result.missing or result.missing.startswith("not run") else result.missing


def render_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        ratio = _ratio(r)
        target, verdict = target_and_verdict(r)
        if ratio is None and r.run.at_least and r.calamine.ok:
            shown = f"> {r.run.at_least / r.calamine.seconds:.0f}×"
        else:
            shown = f"{ratio:.1f}×" if ratio is not None else "—"
        cells = [
            str(r.n),
            _s(r.calamine),
            _s(r.openpyxl),
            _s(r.run),
            shown,
            f"{r.run.rss_mib:.0f}" if r.run.ok else "—",
            target,
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_details(rows: list[Row]) -> str:
    lines = [
        "| N | calamine ms/file | openpyxl ms/file | run ms/file | run CPU s (user+sys) | floor RSS calamine / openpyxl (MiB) "
        "| run samples (s) | load avg before → after | problems logged |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        def per(res: Result) -> str:
            return f"{res.seconds / r.n * 1000:.2f}" if res.ok else "—"

        rss = "/".join(f"{x.rss_mib:.0f}" if x.ok else "—" for x in (r.calamine, r.openpyxl))
        samples = ", ".join(f"{s.seconds:.2f}" for s in r.run.samples) or "—"
        codes = r.summary.get("codes", {})
        logged = ", ".join(f"{k} {v}" for k, v in sorted(codes.items())) or "none"
        cpu = f"{r.run.cpu:.2f}" if r.run.ok else "—"
        load = f"{r.load[0]:.2f} → {r.load[1]:.2f}"
        lines.append(f"| {r.n} | {per(r.calamine)} | {per(r.openpyxl)} | {per(r.run)} | {cpu} | {rss} | {samples} "
                     f"| {load} | {logged} |")
    return "\n".join(lines)


STEP_ROWS = (
    # (label, key in times, indent)
    ("interpreter start-up (`python -c pass`, measured apart)", "startup", 0),
    ("imports (consolidate and what it loads at import; pandas/pandera come later, see below)", "imports", 0),
    ("load registry (units.csv)", "registry_load", 0),
    ("discover", "discover", 0),
    ("read (`read_files`: two forked workers do the whole per-file work, matching units and the period check included)", "read", 0),
    ("this process meanwhile: importing pandas + pandera", "read.imports_meanwhile", 1),
    ("match units (`read.prepare.match_units`; in the reading workers since 2026-11-29, so part of read)", "match_units", 0),
    ("validate (`validate_records`)", "validate", 0),
    ("build frames", "validate.build_frames", 1),
    ("pandera `validate(lazy=True)`", "validate.pandera", 1),
    ("failures → problems, sorting (rest)", "validate.rest", 1),
    ("plausibility (`checks.plausibility`: targets, outliers, changes)", "plausibility", 0),
    ("consolidate", "consolidate", 0),
    ("rest of `app.run` (newest-file choice, completeness, the bytes behind the copies)", "run.rest", 0),
    ("check feedback folder", "write.check_folder", 0),
    ("write CSV log", "write.log_csv", 0),
    ("write feedback copies (`write_feedback`)", "write.feedback", 0),
    ("one copy per file with problems", "write.feedback.copies", 1),
    ("write HTML summary (`write_html_summary`)", "write.html", 0),
    ("wait for the merged workbook (xlsxwriter, written by a forked child meanwhile)", "write.workbook.wait", 0),
    ("rest of `write_outputs`", "write.rest", 0),
    ("accounting check (every file and unit is in the workbook or the log)", "accounting", 0),
)
PARALLEL_ROWS = (
    # work done on the other core, overlapping the rows above
    ("merged workbook, start to finish in its child (overlaps the CSV, copies, HTML)", "write.workbook"),
)
WRITE_STEPS = ("write.check_folder", "write.workbook.wait", "write.log_csv", "write.feedback", "write.html")
CROSS_ROWS = (
    ("`Registry.reporting_units` (inside match units, completeness, consolidate)", "registry.reporting_units"),
    ("`Registry.closest` (suggestions for unknown names)", "registry.closest"),
)


def step_table(profile: dict) -> str:
    t = dict(profile["times"])
    calls = profile["calls"]
    t["startup"] = profile["startup"]
    t["imports"] = profile["imports"] + profile["stdlib_imports"]
    t["registry_load"] = profile["registry_load"]
    if "validate" in t and "validate.pandera" in t:
        t["validate.rest"] = t["validate"] - t.get("validate.build_frames", 0) - t["validate.pandera"]
    t["run.rest"] = profile["run"] - sum(t.get(k, 0) for k in ("discover", "read", "match_units", "validate", "plausibility", "consolidate"))
    t["write.rest"] = profile["write_outputs"] - sum(t.get(k, 0) for k in WRITE_STEPS)
    total = profile["wall"]
    lines = [
        f"One run of N={profile['n']} ({profile['files']} files, {profile['problems']} problems logged), "
        f"{total:.2f} s wall-clock for the whole process:",
        "",
        "| step | s | % of wall | calls |",
        "|---|---|---|---|",
    ]
    for label, key, indent in STEP_ROWS:
        if key not in t:
            continue
        name = ("&nbsp;&nbsp;└ " if indent else "") + label
        lines.append(f"| {name} | {t[key]:.2f} | {t[key] / total * 100:.0f} % | {calls.get(key, '')} |")
    accounted = sum(t[k] for _, k, i in STEP_ROWS if i == 0 and k in t)
    lines.append(f"| not in any step above (mostly interpreter shutdown) | {total - accounted:.2f} | "
                 f"{(total - accounted) / total * 100:.0f} % | |")
    for label, key in PARALLEL_ROWS:
        if key in t:
            lines.append(f"| *on the other core:* {label} | {t[key]:.2f} | {t[key] / total * 100:.0f} % | |")
    if any(key in t for _, key in CROSS_ROWS):
        lines.append("| **of which, across the steps above:** | | | |")
    for label, key in CROSS_ROWS:
        if key in t:
            lines.append(f"| {label} | {t[key]:.2f} | {t[key] / total * 100:.0f} % | {calls.get(key, '')} |")
    if profile.get("missing"):
        lines += ["", "Not timed apart by the app: " + ", ".join(profile["missing"]) + "."]
    lines += ["", f"Peak RSS of this run: {profile['rss_mib']:.0f} MiB. Interpreter start-up is `python -c pass`, "
              "measured apart; the other rows are the step timings the app offers (`app.run(..., timings=...)`), "
              "read inside the process (benchmarks/steps.py)."]
    return "\n".join(lines)


def profile_steps(n: int, inbox: Path, units_csv: Path, out: Path, cprofile: Path | None, timeout: float) -> dict:
    """One run instrumented in-process (steps.py); interpreter start-up is measured apart."""
    cmd = [_python(), str(HERE / "steps.py"), str(inbox), str(units_csv), str(out)]
    if cprofile:
        cmd += ["--cprofile", str(cprofile)]
    sample = measure(cmd, timeout)
    if sample.returncode != 0:
        raise RuntimeError(f"steps.py failed (exit {sample.returncode}):\n{sample.stderr[-3000:]}")
    profile = json.loads(sample.stdout.strip().splitlines()[-1])
    profile.update(n=n, wall=sample.seconds, rss_mib=sample.rss_mib, startup=_startup_seconds())
    return profile


_STARTUP: float | None = None


def _startup_seconds() -> float:
    """Median time to spawn this interpreter and exit with nothing imported (``python -c pass``)."""
    global _STARTUP
    if _STARTUP is None:
        _STARTUP = statistics.median(measure([_python(), "-c", "pass"], 30).seconds for _ in range(5))
    return _STARTUP


def render_cprofile(stats_path: Path, limit: int = 15) -> str:
    st = pstats.Stats(str(stats_path))
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]  # by own time

    def where(func: tuple) -> str:
        file, line, name = func
        m = re.search(r"site-packages/(.*)|lib/python3\.\d+/(.*)|/code/[0-9a-f]+/(consolidate/.*)", file)
        if m:
            file = next(g for g in m.groups() if g)
        else:
            try:
                file = str(Path(file).resolve().relative_to(REPO))
            except ValueError:
                pass
        return f"`{file}:{line}({name})`" if line else f"`{name}`"

    lines = ["| function | own s | cumulative s | calls |", "|---|---|---|---|"]
    for func, (cc, nc, tt, ct, _callers) in rows:
        lines.append(f"| {where(func)} | {tt:.2f} | {ct:.2f} | {nc} |")
    return "\n".join(lines)


# Machine facts ---------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = []
    for pkg in PACKAGES:
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = [line[3:] for line in _git("status", "--porcelain", "--", "consolidate", "schemas").splitlines()]
    code = commit or "unknown commit"
    if dirty:
        code += f" with uncommitted changes to {len(dirty)} files ({', '.join(dirty)})"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(versions),
        "code": code,
    }


def _git(*args: str) -> str:
    if shutil.which("git") is None:
        return ""
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.rstrip()
    except (OSError, subprocess.SubprocessError):
        return ""


def render(rows: list[Row], facts: dict, profile: dict | None, cprofile_md: str, repeat: int, note: str = "") -> str:
    out = [
        "# Benchmark results",
        "",
        f"Measured {facts['date']}{' to ' + facts['finished'][11:] if 'finished' in facts else ''} "
        f"by `benchmarks/run.py` (median of {repeat} runs per figure; "
        "each figure is a fresh process, start-up and imports included; see README.md here for the method).",
        "",
        f"- machine: {facts['nproc']} CPUs, {facts['cpu']}, {facts['memory']} RAM, {facts['os']}",
        f"- {facts['python']}; {facts['packages']}",
        f"- consolidate: {facts['code']}; {facts.get('snapshot', 'the working tree, live')}",
        "",
        "## Whole run against the read floor",
        "",
        render_table(rows),
        "",
        *(f"- {line}" for line in (*time_verdicts(rows), memory_verdict(rows))),
        "",
        "Peak RSS is the consolidate process's own `ru_maxrss` (from `os.wait4` on that child), "
        "the largest over the repeats.",
    ]
    if note:
        out += ["", note]
    out += ["", "### Per file and per sample", "", render_details(rows)]
    if profile:
        out += ["", "## Where the time goes", "", step_table(profile)]
    if cprofile_md:
        out += [
            "",
            f"### Top functions by own time (cProfile, N={profile['n'] if profile else '?'}; "
            "cProfile slows Python code ~1.5–2×, compare shares, not seconds)",
            "",
            cprofile_md,
        ]
    return "\n".join(out) + "\n"


# Raw figures, so the report can be rendered again without measuring again ---------------


def dump(path: Path, rows: list[Row], facts: dict, profile: dict | None, cprofile_md: str, repeat: int,
         note: str) -> None:
    def result(r: Result) -> dict:
        return {"missing": r.missing, "at_least": r.at_least,
                "samples": [{**dataclasses.asdict(x), "stdout": "", "stderr": ""} for x in r.samples]}

    data = {
        "rows": [{"n": r.n, "calamine": result(r.calamine), "openpyxl": result(r.openpyxl), "run": result(r.run),
                  "summary": r.summary, "load": list(r.load)} for r in rows],
        "facts": facts, "profile": profile, "cprofile_md": cprofile_md, "repeat": repeat, "note": note,
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def load(path: Path) -> tuple[list[Row], dict, dict | None, str, int, str]:
    data = json.loads(path.read_text(encoding="utf-8"))

    def result(d: dict) -> Result:
        return Result([Sample(**x) for x in d["samples"]], d["missing"], d["at_least"])

    rows = [Row(d["n"], result(d["calamine"]), result(d["openpyxl"]), result(d["run"]), d["summary"], tuple(d["load"]))
            for d in data["rows"]]
    return rows, data["facts"], data["profile"], data["cprofile_md"], data["repeat"], data["note"]


# Command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help=f"comma-separated N (default {','.join(map(str, DEFAULT_SIZES))})")
    p.add_argument("--quick", action="store_true",
                   help=f"N = {','.join(map(str, QUICK_SIZES))}, 1 repeat, no cProfile, print only unless --output")
    p.add_argument("--repeat", type=int, help="runs per figure, median reported (default 3; 1 with --quick)")
    p.add_argument("--cache", type=Path, default=HERE / ".cache", help="where synthetic inboxes are kept")
    p.add_argument("--output", type=Path, help="Markdown file to write (default benchmarks/results.md; none with --quick)")
    p.add_argument("--max-seconds", type=float, default=180.0,
                   help="a child running longer is killed and larger sizes are skipped (default 180)")
    p.add_argument("--no-profile", action="store_true", help="skip the in-process step profile")
    p.add_argument("--no-cprofile", action="store_true", help="skip the cProfile run of the largest N")
    p.add_argument("--jobs", type=int, help="processes for generating files (default: all CPUs)")
    p.add_argument("--openpyxl-floor-max", type=int, default=OPENPYXL_FLOOR_MAX,
                   help=f"largest N whose openpyxl floor is measured (default {OPENPYXL_FLOOR_MAX})")
    p.add_argument("--render-from", type=Path, metavar="JSON",
                   help="do not measure: render the figures saved by an earlier run (.cache/last-run.json)")
    p.add_argument("--live", action="store_true",
                   help="import consolidate from the working tree instead of a snapshot taken at the start")
    args = p.parse_args(argv)
    if args.sizes:
        args.sizes = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
    else:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.output is None and not args.quick and not args.render_from:
        args.output = HERE / "results.md"
    if args.quick:
        args.no_cprofile = True
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.render_from:
        md = render(*load(args.render_from))
        print(md)
        if args.output:
            args.output.write_text(md, encoding="utf-8")
            log(f"written to {args.output}")
        return 0
    facts = machine_facts()
    if args.live:
        facts["snapshot"] = "measured live from the working tree (--live)"
    else:
        snap, digest = snapshot_code(args.cache)
        use_snapshot(snap)
        facts["snapshot"] = (f"measured from a snapshot of it taken at the start ({facts['date']}, "
                             f"content hash {digest}), byte-compiled, so edits during the run do not count")
        log(f"code snapshot: {snap}")
    rows: list[Row] = []
    note = ""
    inputs: dict[int, tuple[Path, Path]] = {}
    for n in args.sizes:
        t = time.perf_counter()
        inputs[n] = synth.build(args.cache, n, args.jobs, log)
        log(f"N={n}: inbox ready ({time.perf_counter() - t:.1f} s)")
        row = measure_size(n, *inputs[n], args.cache / f"out-{n:05d}", args.repeat, args.max_seconds, log,
                           openpyxl_max=args.openpyxl_floor_max)
        rows.append(row)
        if not row.run.ok:
            skipped = [m for m in args.sizes if m > n]
            note = (f"The run at N={n} was {row.run.missing} (limit --max-seconds {args.max_seconds:g})"
                    + (f"; larger sizes ({', '.join(map(str, skipped))}) were not run." if skipped else "."))
            log(note)
            why = f"not run (N={n} took > {args.max_seconds:g} s)"
            rows += [Row(m, Result(missing=why), Result(missing=why), Result(missing=why)) for m in skipped]
            break
    if CODE_ENV:
        wrong = {r.summary.get("code") for r in rows if r.summary} - {str(Path(CODE_ENV["PYTHONPATH"]) / "consolidate")}
        if wrong:
            raise RuntimeError(f"a child imported consolidate from {wrong}, not from the snapshot")
    profile = None
    cprofile_md = ""
    done = [r for r in rows if r.run.ok]
    if done and not args.no_profile:
        n = done[-1].n
        log(f"N={n}: step profile…")
        profile = profile_steps(n, *inputs[n], args.cache / f"out-{n:05d}", None, args.max_seconds)
        if not args.no_cprofile:
            log(f"N={n}: cProfile…")
            stats = args.cache / f"cprofile-{n:05d}.pstats"
            profile_steps(n, *inputs[n], args.cache / f"out-{n:05d}", stats, args.max_seconds * 2)
            cprofile_md = render_cprofile(stats)
    facts["finished"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    args.cache.mkdir(parents=True, exist_ok=True)
    dump(args.cache / ("last-run-quick.json" if args.quick else "last-run.json"), rows, facts, profile, cprofile_md,
         args.repeat, note)
    md = render(rows, facts, profile, cprofile_md, args.repeat, note)
    print(md)
    if args.output:
        args.output.write_text(md, encoding="utf-8")
        log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
