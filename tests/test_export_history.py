"""Exports end to end (issue 17): run two periods into a history store, then `consolidate export` each format.

Both stores, as the history tests: an SQLite file and a real PostgreSQL database (tests/stores.py).
tests/test_export.py checks each format's rules over observations built in memory.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

from consolidate.export.dhis2_csv import DHIS2_CSV_HEADER
from consolidate.core.periods import is_dhis2_period
from consolidate.export.tidy import TIDY_COLUMNS
from consolidate.write.sample import make_sample_inbox
from conftest import run_cli, set_cells, unit_file
from stores import KINDS, history_store


AN, SON = "x-phuoc-an", "x-phuoc-son"


def settings_for(folder: Path, period: str) -> Path:
    """A report settings file that names the period (the top-level key ``period``); the rest is the sample's."""
    path = folder / f"cau-hinh-{period}.toml"
    path.write_text(f'period = "{period}"\n', encoding="utf-8")
    return path


def rows_of(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module", params=KINDS)
def stored(request, tmp_path_factory) -> dict:
    """Two periods recorded: 2024S1 from the sample inbox, 2024S2 with Phước An's computers changed to 42."""
    tmp = tmp_path_factory.mktemp("lich-su")
    with history_store(request.param, tmp) as store:
        yield record_two_periods(tmp, store)


def record_two_periods(tmp: Path, store: str) -> dict:
    inbox = tmp / "inbox"
    make_sample_inbox(inbox)
    computers_s1 = openpyxl.load_workbook(unit_file(inbox, AN))["Biểu mẫu 1"]["G7"].value
    first = run_cli("run", inbox, "--out", tmp / "ky-1", "--config", settings_for(tmp, "2024S1"), "--history", store)
    assert first.exit_code == 1, first.output  # Phước Sơn's Tổng số 7 ≠ 6 is in the sample on purpose
    set_cells(unit_file(inbox, AN), "Biểu mẫu 1", {"G7": 42})
    second = run_cli("run", inbox, "--out", tmp / "ky-2", "--config", settings_for(tmp, "2024S2"), "--history", store)
    assert second.exit_code == 1, second.output
    return {"tmp": tmp, "inbox": inbox, "store": store, "computers_s1": computers_s1}


def export(stored: dict, out: Path, *args: str):
    return run_cli("export", *args, "--history", stored["store"], "--out", out)


def test_the_tidy_csv_holds_both_periods_with_their_sources(stored, tmp_path):
    result = export(stored, tmp_path, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "kỳ: 2024S1, 2024S2." in result.output
    rows = rows_of(tmp_path / "so-lieu.csv")
    assert list(rows[0]) == list(TIDY_COLUMNS)
    by_period = {p: [r for r in rows if r["period"] == p] for p in ("2024S1", "2024S2")}
    assert len(by_period["2024S1"]) == len(by_period["2024S2"]) > 14 and len(rows) == 2 * len(by_period["2024S1"])
    computers = {r["period"]: r for r in rows if r["unit_code"] == AN and r["field"] == "form1.computers"}
    assert float(computers["2024S1"]["value"]) == stored["computers_s1"] and computers["2024S2"]["value"] == "42"
    assert computers["2024S2"]["unit_name"] == "Xã Phước An" and computers["2024S2"]["status"] == "accepted"
    assert (computers["2024S2"]["file"], computers["2024S2"]["sheet"], computers["2024S2"]["cell"]) == (
        "bao-cao-x-phuoc-an.xlsx", "Biểu mẫu 1", "G7")
    total = [r for r in rows if r["unit_code"] == SON and r["field"] == "form1.total"]
    assert [(r["status"], r["cell"]) for r in total] == [("rejected", "C7")] * 2  # the flagged figure, kept apart


def test_one_period_and_the_data_package(stored, tmp_path):
    frictionless = pytest.importorskip("frictionless", reason="frictionless is a test dependency")
    result = export(stored, tmp_path, "--format", "datapackage", "--period", "2024S2")
    assert result.exit_code == 0, result.output
    assert {r["period"] for r in rows_of(tmp_path / "goi-so-lieu.csv", encoding="utf-8")} == {"2024S2"}
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])


def test_dhis2_gets_only_accepted_mapped_values_and_is_told_what_is_missing(stored, tmp_path):
    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    mapping = folder / "dhis2-anh-xa.csv"
    with open(mapping, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    for row in table[1:]:
        if row[0] == "Chỉ tiêu" and row[1] != "form1.printers":
            row[3:5] = ["DE." + row[1], "COC.default"]
        elif row[0] == "Đơn vị" and row[1] != SON:
            row[5] = "OU." + row[1]
    with open(mapping, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, delimiter=";").writerows(table)  # as Excel saves it on a Vietnamese Windows

    tidy = [r for r in rows_of(_export_csv(stored, tmp_path / "csv")) if r["period"] == "2024S1"]
    sendable = [r for r in tidy if r["status"] == "accepted" and r["value"] != ""]
    mapped = [r for r in sendable if r["field"] != "form1.printers" and r["unit_code"] != SON]

    result = export(stored, tmp_path / "json", "--format", "dhis2-json", "--period", "2024S1", "--mapping", mapping)
    assert result.exit_code == 1, result.output  # written, but something was left out: said, and exit 1
    assert "Chỉ tiêu “Máy in” (form1.printers) chưa có mã phần tử dữ liệu DHIS2" in result.output
    assert "Đơn vị “Xã Phước Sơn” (x-phuoc-son) chưa có mã đơn vị DHIS2" in result.output
    assert f"Chưa xuất {len(sendable) - len(mapped)} giá trị" in result.output
    values = json.loads((tmp_path / "json" / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert len(values) == len(mapped)
    assert {(v["dataElement"], v["orgUnit"], v["value"]) for v in values} == {
        ("DE." + r["field"], "OU." + r["unit_code"], r["value"]) for r in mapped}
    assert all(v["period"] == "2024S1" and is_dhis2_period(v["period"]) for v in values)
    assert all(v["categoryOptionCombo"] == "COC.default" for v in values)

    result = export(stored, tmp_path / "csv2", "--format", "dhis2-csv", "--period", "2024S1", "--mapping", mapping)
    assert result.exit_code == 1
    lines = rows_of(tmp_path / "csv2" / "dhis2-gia-tri.csv", encoding="utf-8")
    assert list(lines[0]) == list(DHIS2_CSV_HEADER) and len(lines) == len(values)


def _export_csv(stored: dict, out: Path) -> Path:
    assert export(stored, out, "--format", "csv").exit_code == 0
    return out / "so-lieu.csv"


def test_a_run_records_beside_its_outputs_by_default_and_export_reads_that_store(tmp_path):
    inbox = tmp_path / "inbox"
    make_sample_inbox(inbox)
    out = tmp_path / "outbox"
    assert run_cli("run", inbox, "--out", out, "--config", settings_for(tmp_path, "2024Q3")).exit_code == 1
    assert (out / "lich-su.sqlite").is_file()
    result = run_cli("export", "--format", "csv", "--history", out / "lich-su.sqlite", "--out", tmp_path / "xuat")
    assert result.exit_code == 0, result.output
    assert {r["period"] for r in rows_of(tmp_path / "xuat" / "so-lieu.csv")} == {"2024Q3"}
