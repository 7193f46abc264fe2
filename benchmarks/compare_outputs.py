"""Compare every output file of two versions of consolidate, byte for byte.

    .venv/bin/python benchmarks/compare_outputs.py OLD_COMMIT              # N = 14, 1000 and the sample inbox
    .venv/bin/python benchmarks/compare_outputs.py OLD_COMMIT --sizes 14   # quicker
    .venv/bin/python benchmarks/compare_outputs.py OLD_COMMIT --keep /tmp/cmp

A change that only moves code (issue 14) must not change a byte of what the
clerk and the units receive. OLD_COMMIT is checked out in a temporary
``git worktree``; each version is copied as it would be installed (``schemas/``
as ``consolidate/schemas``) and run in its own process, ``python -m consolidate
run INBOX [--units UNITS] --out OUT --json``, with that copy first on
PYTHONPATH. The inboxes are built once, by the OLD version's ``benchmarks/synth.py``
(N filled submissions, ~5 % with mistakes), plus the repository's sample
``inbox/`` with the embedded registry. Every file under each output folder (the
merged workbook, the CSV log, the HTML page and the feedback copies) is then
compared. Exit 0 when all are identical, 1 otherwise (each difference listed).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def snapshot(tree: Path, dest: Path) -> Path:
    """tree's consolidate/ with schemas/ inside it, as installed; returns the PYTHONPATH entry."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(tree / "consolidate", dest / "consolidate", ignore=ignore)
    if (tree / "schemas").is_dir() and not (dest / "consolidate" / "schemas").exists():
        shutil.copytree(tree / "schemas", dest / "consolidate" / "schemas", ignore=ignore)
    return dest


def python_with(code: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(code)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", errors="replace")


def build_inbox(old_tree: Path, code: Path, cache: Path, n: int) -> tuple[Path, Path]:
    cache.mkdir(parents=True, exist_ok=True)
    script = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); import synth; "
              "i, u = synth.build(Path(sys.argv[2]), int(sys.argv[3]), log=lambda *a: None); print(i); print(u)")
    done = python_with(code, "-c", script, str(old_tree / "benchmarks"), str(cache), str(n), cwd=cache)
    if done.returncode:
        sys.exit(f"building the inbox of {n} failed:\n{done.stderr[-3000:]}")
    inbox, units = done.stdout.split()
    return Path(inbox), Path(units)


def run(code: Path, inbox: Path, units: Path | None, out: Path, cwd: Path) -> None:
    args = ["-m", "consolidate", "run", str(inbox), "--out", str(out), "--json"]
    if units:
        args += ["--units", str(units)]
    done = python_with(code, *args, cwd=cwd)
    if done.returncode not in (0, 1):
        sys.exit(f"run of {code} on {inbox} ended with {done.returncode}:\n{done.stderr[-3000:]}")


def differences(old: Path, new: Path) -> list[str]:
    """Every relative path that is missing on one side or differs in its bytes."""
    names = {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
    other = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    found = [f"only in old: {p}" for p in sorted(names - other)]
    found += [f"only in new: {p}" for p in sorted(other - names)]
    found += [f"differs: {p}" for p in sorted(names & other)
              if not filecmp.cmp(old / p, new / p, shallow=False)]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="the commit to compare against (e.g. main)")
    parser.add_argument("--sizes", default="14,1000", help="inbox sizes N, comma-separated")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="compare-"))
    work.mkdir(parents=True, exist_ok=True)
    old_tree = work / "old-tree"
    if old_tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=REPO, check=False)
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old_tree), args.old], cwd=REPO, check=True)
    try:
        for side in ("old-code", "new-code"):
            shutil.rmtree(work / side, ignore_errors=True)
        old_code = snapshot(old_tree, work / "old-code")
        new_code = snapshot(REPO, work / "new-code")
        cases: list[tuple[str, Path, Path | None]] = [("sample", REPO / "inbox", None)]
        for n in (int(s) for s in args.sizes.split(",") if s):
            inbox, units = build_inbox(old_tree, old_code, work / "inboxes", n)
            cases.append((f"N={n}", inbox, units))
        bad = 0
        for name, inbox, units in cases:
            outs = {}
            for side, code in (("old", old_code), ("new", new_code)):
                out = work / "out" / name / side
                shutil.rmtree(out, ignore_errors=True)
                run(code, inbox, units, out, cwd=work)
                outs[side] = out
            files = sum(1 for p in outs["old"].rglob("*") if p.is_file())
            found = differences(outs["old"], outs["new"])
            bad += bool(found)
            print(f"{name}: {files} files, " + ("identical" if not found else f"{len(found)} differences"))
            for line in found:
                print(f"  {line}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=REPO, check=False)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
