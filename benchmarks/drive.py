"""One whole consolidate run in a fresh process, driven by a units file.

    python drive.py INBOX UNITS_CSV OUT

Builds the Registry from UNITS_CSV with the loader `consolidate run --units` uses, then does
what ``consolidate run`` does: ``pipeline.run`` and ``outputs.write_outputs``
Prints a one-line JSON summary.
"""

import json
import sys
from collections import Counter
from pathlib import Path

from consolidate.config import load_registry
from consolidate.outputs import write_outputs
from consolidate.pipeline import run


def main() -> None:
    inbox, units_csv, out = (Path(a) for a in sys.argv[1:4])
    result = run(inbox, load_registry(units_csv))
    paths = write_outputs(result, out)
    print(json.dumps({
        "files": len(result.files),
        "submissions": len(result.submissions),
        "reported": len(result.consolidated.reported),
        "units": len(result.consolidated.units),
        "errors": len(result.errors),
        "warnings": len(result.warnings),
        "codes": dict(Counter(p.code for p in result.problems)),
        "code": str(Path(sys.modules["consolidate"].__file__).parent),
        "outputs": [str(p) for p in (paths.values() if hasattr(paths, "values") else paths)],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
