"""Uploads saved but never recorded: the server was killed between putting a file into the inbox and recording it.

An upload is put into the inbox first, then recorded in the state (uploads.py), so that a run never misses a
file the unit was told was received. A server killed between the two leaves a file that a run will use but
the unit's page never mentions. At start, every file of the inbox named as uploads are named
(``<unit code>-<UTC time>[ (n)].<suffix>``, core/upload_names.py, the code one of the units table's) that no record names is
recorded for that unit, as received at its modification time, with what the same check finds in it and
its annotated copy. Anything else is left alone: nothing in the inbox is ever moved, renamed or deleted here.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from pathlib import Path

from ..core import problems as P
from ..core.upload_names import parse_upload_name
from .isolated import CheckStopped
from .state import replace_patiently
from .uploads import CHECKING, WORK_DIR, Place

log = logging.getLogger("consolidate.web")


def start_uploads(place: Place) -> list[str]:
    """What a server does with its uploads as it starts: a check worker warmed (the first upload does not
    wait for its imports), and the inbox's unrecorded uploads recorded; the files recorded."""
    place.workers.warm()
    return reconcile(place)


def reconcile(place: Place) -> list[str]:
    """The uploads in the inbox that no record names, recorded for their units; the names recorded."""
    found = unrecorded(place)
    if not found:
        return []
    entries: dict[str, list[dict]] = {}
    for code, path in found:
        entries.setdefault(code, []).append(_entry(place, path))
    added = place.state.add_unrecorded(entries)
    if added:
        log.warning("Đã ghi nhận %d tệp có trong thư mục nhận báo cáo mà máy chủ chưa kịp ghi lại (máy chủ bị dừng "
                    "ngay sau khi lưu): %s", len(added), ", ".join(added))
    return added


def unrecorded(place: Place) -> list[tuple[str, Path]]:
    """(unit code, path) of each file in the inbox named as an upload of a unit of the table, that no record names."""
    codes = {unit.code for unit in place.registry.reporting_units()}
    try:
        names = sorted(p.name for p in place.inbox.iterdir())
    except OSError:  # no inbox yet, or not readable: nothing to reconcile
        return []
    candidates = []
    for name in names:
        match = parse_upload_name(name)
        path = place.inbox / name
        if match and match.code in codes and path.is_file() and not path.is_symlink():
            candidates.append((match.code, path))
    if not candidates:
        return []
    known = {e.get("file") for entries in place.state.snapshot()["uploads"].values() for e in entries}
    return [(code, path) for code, path in candidates if path.name not in known]


def _entry(place: Place, path: Path) -> dict:
    """The record the upload would have had: its check's counts (None when the check does not finish), its copy."""
    stat = path.stat()
    errors = warnings = None
    feedback = place.feedback_dir / path.name
    folder = place.out / WORK_DIR / CHECKING / secrets.token_hex(8)
    try:
        folder.mkdir(parents=True)
        copy = folder / f"phan-hoi{path.suffix}"
        checked = place.workers.call(place.check_work, (path, copy, place.registry, place.settings),
                                     place.check_seconds)
        errors = sum(p.severity == P.ERROR for p in checked.problems)
        warnings = sum(p.severity == P.WARNING for p in checked.problems)
        if checked.made_copy and not feedback.exists():  # the copy is made before the file is saved: often there
            feedback.parent.mkdir(parents=True, exist_ok=True)
            replace_patiently(copy, feedback)
    except (CheckStopped, OSError):  # recorded all the same: the unit's page says its check is not known
        pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"file": path.name, "at": dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc).isoformat(timespec="seconds"),
            "browser_name": path.name, "size": stat.st_size, "errors": errors, "warnings": warnings,
            "feedback": path.name if feedback.is_file() else "", "recorded_at_start": True}
