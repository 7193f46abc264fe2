"""How much one unit may send: files per hour, bytes kept in the inbox, and room left on the server's disk.

A unit's link is all it takes to send: a stolen link, or a script gone wrong, could send 10 MB after 10 MB
until the disk is full. So before an upload is checked it is admitted here or refused, nothing saved:

- at most ``upload_per_hour`` files per unit in any hour (refused ones count too: each cost a check),
  counted from the state's record at a unit's first upload after a start, so a restart resets nothing;
- at most ``upload_total_mb`` of the unit's saved uploads still in the inbox, together (the clerk makes
  room by moving old ones out, or raises the setting);
- FREE_MARGIN still free after this file, on the disk of the inbox and on that of --out (the run's
  outputs and the feedback copies need room too).

Uploads still being checked count as sent and as stored, so two at once cannot both slip under a limit.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from pathlib import Path

from ..core import problems as P
from ..core.registry import ReportSettings, Unit
from .state import ServerState

HOUR = 3600.0
MB = 1024 * 1024
FREE_MARGIN = 512 * MB  # left free on the server's disks: Windows itself, the run's outputs and the copies need it


class Quota:
    """The limits of one server (its inbox, --out, settings and state), shared by its request threads."""

    def __init__(self, inbox: Path, out: Path, settings: ReportSettings, state: ServerState) -> None:
        self.inbox, self.out, self.settings, self.state = inbox, out, settings, state
        self._lock = threading.Lock()
        self._sent: dict[str, list[float]] = {}  # unit → when its files came in the last hour (seconds since epoch)
        self._pending: dict[str, int] = {}  # unit → bytes of its uploads being checked now

    def admit(self, unit: Unit, size: int, now: float | None = None) -> P.Problem | None:
        """None when ``size`` more bytes from ``unit`` may be checked (then counted until ``release``), else why not."""
        now = time.time() if now is None else now
        with self._lock:
            sent = self._sent_within_hour(unit.code, now)
            limit = self.settings.upload_per_hour
            if len(sent) >= limit:
                retry = dt.datetime.fromtimestamp(sent[0] + HOUR).strftime("%H:%M")
                return P.UploadTooOften(unit_name=unit.name, unit_code=unit.code, count=len(sent), limit=limit,
                                        retry=f"{retry} (giờ của máy chủ)")
            stored = self._stored(unit.code) + self._pending.get(unit.code, 0)
            if stored + size > self.settings.upload_total_mb * MB:
                return P.UploadUnitFull(unit_name=unit.name, used=_mb(stored), limit=_mb(self.settings.upload_total_mb * MB))
            free = self._free() - sum(self._pending.values())
            if free - size < FREE_MARGIN:
                return P.UploadDiskFull(free=_mb(max(free, 0)), margin=_mb(FREE_MARGIN))
            sent.append(now)
            self._pending[unit.code] = self._pending.get(unit.code, 0) + size
            return None

    def release(self, unit: Unit, size: int) -> None:
        """An admitted upload is saved or refused: its bytes now count from the inbox, or not at all."""
        with self._lock:
            left = self._pending.get(unit.code, 0) - size
            if left > 0:
                self._pending[unit.code] = left
            else:
                self._pending.pop(unit.code, None)

    def _sent_within_hour(self, code: str, now: float) -> list[float]:
        if code not in self._sent:  # first upload since the start: what the state recorded
            recorded = []
            for entry in self.state.uploads(code):
                try:
                    recorded.append(dt.datetime.fromisoformat(entry["at"]).timestamp())
                except (KeyError, TypeError, ValueError):  # an entry changed by hand: not counted
                    continue
            self._sent[code] = sorted(recorded)
        sent = self._sent[code]
        sent[:] = [t for t in sent if now - HOUR < t <= now + HOUR]  # a clock set back an hour does not block
        return sent

    def _stored(self, code: str) -> int:
        """Bytes of the unit's recorded uploads still in the inbox (the clerk may have moved old ones out)."""
        total = 0
        for entry in self.state.uploads(code):
            name = str(entry.get("file", ""))
            try:
                total += (self.inbox / Path(name).name).stat().st_size if name else 0
            except OSError:  # moved out, or never saved
                continue
        return total

    def _free(self) -> int:
        """Bytes free on the fuller of the two disks (inbox, --out); a disk that cannot be asked is not counted."""
        free = []
        for folder in (self.inbox, self.out):
            try:
                free.append(shutil.disk_usage(folder).free)
            except OSError:
                continue
        return min(free, default=FREE_MARGIN * 4)


def _mb(size: float) -> str:
    """Bytes as the page says them: MB with one decimal, a decimal comma (Vietnamese)."""
    return f"{size / MB:.1f}".replace(".", ",").removesuffix(",0")
