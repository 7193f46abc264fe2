"""How DHIS2 files are named, sent and kept consistent with what was sent before.

One payload per data set (DHIS2 takes one ``dataSet`` per import): ``dhis2-gia-tri.json`` when the
values make one group, ``dhis2-gia-tri-<data set>.json`` for each when the forms name several; files
of an earlier export that this one did not write again are removed, so no stale payload is sent.

A value sent earlier stays in DHIS2 when a re-run of its period left it blank or rejected it: DHIS2
only changes what a payload names. So every export keeps the keys it wrote in ``dhis2-da-xuat.json``
(beside the values), and the next export of the same periods writes the keys that are no longer
there into ``dhis2-xoa.json`` (or ``.csv``), to send with ``importStrategy=DELETE``. A key stays
listed until a value for it is exported again: deleting a value twice does no harm, missing one does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from ..core.observations import Observation
from .dhis2 import DATA_ELEMENT, KEY, PERIOD, data_values, import_parameters, key_of
from .mapping import Dhis2Mapping
from .output import ExportResult, write_atomically

LEDGER = "dhis2-da-xuat.json"
DELETIONS = "dhis2-xoa"
VALUES = "dhis2-gia-tri"
SERVER = "https://dhis2.tinh.gov.vn"  # stands for the province's server in the printed commands


def payload_names(groups: dict[str, list[dict[str, str]]], suffix: str, stem: str = VALUES) -> dict[str, str]:
    """data set → file name: the plain name for a single group, one name per data set otherwise."""
    if len(groups) <= 1:
        return {ds: f"{stem}{suffix}" for ds in groups} or {"": f"{stem}{suffix}"}
    return {ds: f"{stem}-{_slug(ds)}{suffix}" if ds else f"{stem}{suffix}" for ds in groups}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "bo-du-lieu"


def remove_stale(out: Path, written: list[Path], suffix: str, stem: str = VALUES) -> None:
    """Remove the payloads of an earlier export that this one did not write again."""
    keep = {p.name for p in written}
    for old in out.glob(f"{stem}*{suffix}"):
        if old.name not in keep and (old.name == f"{stem}{suffix}" or old.name.startswith(f"{stem}-")):
            old.unlink()


def command(path: Path, mapping: Dhis2Mapping, data_set: str, *, csv: bool, delete: bool = False) -> str:
    """The dry-run command that sends ``path`` (remove ``dryRun=true`` once DHIS2's summary is clean)."""
    query = "dryRun=true&" + import_parameters(mapping)
    if delete:
        query += "&importStrategy=DELETE"
    if csv and data_set:  # a CSV carries no data set of its own (dhis2-core DataEntryInput.fromCsv)
        query += f"&dataSet={data_set}"
    kind = "application/csv" if csv else "application/json"
    return (f'curl -u TÊN_ĐĂNG_NHẬP -H "Content-Type: {kind}" --data-binary @{path.name} '
            f'"{SERVER}/api/dataValueSets?{query}"')


def deletions(out: Path, groups: dict[str, list[dict[str, str]]], periods: list[str]) -> dict[str, list[dict[str, str]]]:
    """Keys written before for ``periods`` with no value now, by data set; the ledger updated for next time."""
    ledger_path = out / LEDGER
    try:
        before = json.loads(ledger_path.read_text(encoding="utf-8")).get("keys", [])
    except (OSError, ValueError, AttributeError):
        before = []
    now = {(ds, *key_of(v)) for ds, values in groups.items() for v in values}
    now_keys = {k[1:] for k in now}
    stale: dict[str, list[dict[str, str]]] = {}
    kept: set[tuple[str, ...]] = set(now)
    for entry in before:
        if not isinstance(entry, list) or len(entry) != 1 + len(KEY):
            continue
        entry = tuple(str(x) for x in entry)
        ds, key = entry[0], entry[1:]
        if key[KEY.index(PERIOD)] not in periods:
            kept.add(entry)  # another period: not this export's business
        elif key not in now_keys:
            stale.setdefault(ds, []).append({k: v for k, v in zip(KEY, key) if v})
            kept.add(entry)
    text = json.dumps({"keys": sorted(kept)}, ensure_ascii=False, indent=0) + "\n"
    write_atomically(ledger_path, text.encode("utf-8"))
    for values in stale.values():
        values.sort(key=lambda v: (v[PERIOD], v.get("orgUnit", ""), v[DATA_ELEMENT], v.get("categoryOptionCombo", "")))
    return stale


def write_payloads(observations: Iterable[Observation], out: Path, mapping: Dhis2Mapping, suffix: str,
                   payload: Callable[[str, list[dict[str, str]]], bytes]) -> ExportResult:
    """The values' files (one per data set), then the deletions' files when keys sent before are gone,
    each with the command that sends it; stale files of either kind removed."""
    observations = list(observations)
    out, csv = Path(out), suffix == ".csv"
    groups, result = data_values(observations, mapping)
    for data_set, name in payload_names(groups, suffix).items():
        path = write_atomically(out / name, payload(data_set, groups.get(data_set, [])))
        result.paths.append(path)
        result.commands.append(command(path, mapping, data_set, csv=csv))
    remove_stale(out, result.paths, suffix)
    stale = deletions(out, groups, list(dict.fromkeys(o.period for o in observations)))
    written = []
    for data_set, name in payload_names(stale, suffix, DELETIONS).items() if stale else ():
        path = write_atomically(out / name, payload(data_set, stale[data_set]))
        written.append(path)
        result.commands.append(command(path, mapping, data_set, csv=csv, delete=True))
        result.deletions += len(stale[data_set])
    remove_stale(out, written, suffix, DELETIONS)
    result.paths += written
    return result
