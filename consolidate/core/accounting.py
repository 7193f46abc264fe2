"""Nothing is lost: where every inbox file went, and the check that every file and unit is accounted for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import problems as P
from .choosing import quietly_replaced
from .formats import sha256_of
from .results import MISSING, REPORTED, UNUSABLE, RunResult

MERGED, SUPERSEDED, SKIPPED, UNUSED = "merged", "superseded", "skipped", "unused"
_SUPERSEDING = {"superseded", "duplicate-file"}
_SKIPPING = {"file-skipped", "file-not-spreadsheet", "file-link-outside", "file-link-broken", "folder-unreadable"}


@dataclass(frozen=True)
class FileOrigin:
    """One inbox file as the province may need to trace it."""

    name: str
    size: int
    modified: str
    sha256: str
    units: str  # the units it was read as
    fate: str  # MERGED, SUPERSEDED, SKIPPED or UNUSED
    detail: str  # in Vietnamese, for the provenance sheet


def origins(result: RunResult) -> list[FileOrigin]:
    """Every inbox file with its checksum and what became of it."""
    by_file = P.by_file(result.problems)
    used_by: dict[str, list[str]] = {}
    for code, name in result.used.items():
        used_by.setdefault(name, []).append(result.registry_name(code))
    read_as = {s.name: ", ".join(dict.fromkeys(u.name for u in s.units)) for s in result.submissions}
    digests = {s.name: s.sha256 for s in result.submissions if s.sha256}  # taken by the reader from the bytes it read

    resent = quietly_replaced(result.problems)
    found = []
    for f in result.files:
        logged = by_file.get(f.name, [])
        if f.name in used_by:
            fate, detail = MERGED, "Đã tổng hợp"
        elif f.name in resent:
            fate, detail = SUPERSEDED, f"Bị thay bằng bản gửi lại “{resent[f.name]}”"
        elif superseding := [p for p in logged if p.code in _SUPERSEDING]:
            fate, detail = SUPERSEDED, f"Bị thay bằng “{superseding[0].params['used']}”"
        elif skipped := [p for p in logged if p.code in _SKIPPING]:
            fate, detail = SKIPPED, "Bỏ qua: " + skipped[0].message
        else:
            errors = [p for p in logged if p.severity == P.ERROR]
            reason = errors[0].message if errors else "không có số liệu dùng được"
            fate, detail = UNUSED, "Không dùng được: " + reason
        modified = dt.datetime.fromtimestamp(f.mtime).strftime("%d/%m/%Y %H:%M:%S")
        units = ", ".join(used_by.get(f.name, [])) or read_as.get(f.name, "")
        digest = digests.get(f.name) or ("" if f.refused else sha256_of(f.path))  # never read through a link
        found.append(FileOrigin(f.name, f.size, modified, digest, units, fate, detail))
    return found


def violations(result: RunResult, files: list[FileOrigin] | None = None) -> list[str]:
    """Files or units that are neither consolidated nor explained in the log (should be none)."""
    files = files if files is not None else origins(result)
    logged_files = {p.file for p in result.problems}
    logged_units = {p.unit for p in result.problems}
    found = []
    for f in files:
        if f.fate not in (MERGED, SUPERSEDED) and f.name not in logged_files:
            found.append(f"Tệp “{f.name}” không được tổng hợp mà không có dòng nào trong nhật ký lỗi.")
    for code, status in result.status.items():
        name = result.registry_name(code)
        if status.state == REPORTED and code not in result.used:
            found.append(f"{name} được ghi là đã báo cáo nhưng không có tệp nào được dùng.")
        group = result.registry.unit(result.registry.unit(code).parent).name
        explained = (name in logged_units or group in logged_units
                     or any(n in logged_files for n in status.file.split(", ") if n))
        if status.state in (MISSING, UNUSABLE) and not explained:
            found.append(f"{name} {status.label.lower()} mà không có dòng nào trong nhật ký lỗi.")
    return found
