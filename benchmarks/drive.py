"""One whole consolidate run in a fresh process: the command the clerk types.

    python drive.py INBOX UNITS_CSV OUT

Calls the command line in this process, ``consolidate run INBOX --units UNITS_CSV
--out OUT --json``, so everything the command does counts: loading and checking
the units table, the run, every output, the accounting check, and the exit.
Prints a one-line JSON summary for the harness; fails (exit 1, with the reason) if
the command ended with anything but 0 or 1.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

from consolidate.cli import entry as consolidate


def main() -> None:
    inbox, units_csv, out = sys.argv[1:4]
    printed = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(printed):
        try:
            consolidate(["run", inbox, "--units", units_csv, "--out", out, "--json"])
        except SystemExit as exc:
            code = exc.code or 0
    if code not in (0, 1):  # 1: the inbox has errors, as the benchmark's does on purpose
        sys.exit(f"consolidate run ended with exit code {code}")
    summary = json.loads(printed.getvalue())
    print(json.dumps({
        "files": summary["files"],
        "submissions": summary["files_read"],
        "reported": summary["units_reported"],
        "units": summary["units_expected"],
        "errors": summary["errors"],
        "warnings": summary["warnings"],
        "codes": {row["code"]: row["count"] for row in summary["by_code"]},
        "code": str(Path(sys.modules["consolidate"].__file__).parent),
        "outputs": list(summary["outputs"].values()),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
