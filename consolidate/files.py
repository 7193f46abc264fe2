"""Writing outputs safely: a half-written file never takes the place of a good one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sweep_stale(folder: Path, pattern: str = ".*-*.tmp") -> None:
    """Remove temporary files a killed run left in ``folder`` (names as atomic_target makes them)."""
    for stale in folder.glob(pattern):
        stale.unlink(missing_ok=True)


@contextmanager
def atomic_target(path: Path, sweep: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed over it only if the block completes.

    ``sweep=False`` is for a writer of many files that swept their folder once
    (sweep_stale): globbing the folder for every one of hundreds of files adds up.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if sweep:  # temporary files left by a run that was killed
        sweep_stale(path.parent, f".{path.stem}-*{path.suffix}.tmp")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
