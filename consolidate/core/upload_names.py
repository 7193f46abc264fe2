"""The name a browser upload is saved under in the inbox: ``<unit code>-<UTC time>[ (n)].<suffix>``.

In one place, because three readers depend on it: the server names each upload so (web/uploads.py), finds
the uploads a killed server never recorded by it (web/reconcile.py), and a run lets a unit's newest upload
replace its earlier ones quietly by it (core/choosing.py): re-sending through the page is what the page asks.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # UTC to the second: the names of one unit sort as they were sent
SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
_NAME = re.compile(r"(?P<code>.+)-(?P<stamp>\d{8}T\d{6}Z)(?: \((?P<copy>\d+)\))?(?P<suffix>\.(?:xlsx|xlsm|xls|ods|xlsb))")


@dataclass(frozen=True)
class UploadName:
    code: str  # the unit's code
    stamp: str  # UTC time, STAMP_FORMAT
    copy: int  # 1, then 2, 3… for uploads of one unit within the same second
    suffix: str


def utc_stamp(moment: dt.datetime | None = None) -> str:
    """The time in an upload's name (now, unless ``moment`` is given)."""
    return (moment or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime(STAMP_FORMAT)


def upload_name(code: str, stamp: str, copy: int, suffix: str) -> str:
    """The inbox name of a unit's upload: the copy number only from the second one within a second."""
    return f"{code}-{stamp}{f' ({copy})' if copy > 1 else ''}{suffix}"


def parse_upload_name(name: str) -> UploadName | None:
    """What an inbox file's name says if it is an upload's name (a file at the inbox's top level), else None."""
    m = _NAME.fullmatch(name)
    if m is None or "/" in m["code"] or "\\" in m["code"]:
        return None
    return UploadName(m["code"], m["stamp"], int(m["copy"] or 1), m["suffix"])


def is_upload_of(name: str, code: str) -> bool:
    """Whether ``name`` is the name of an upload of the unit ``code`` through its page."""
    found = parse_upload_name(name)
    return found is not None and found.code == code
