"""Exports that the receiving systems accept as they are (issue 24): what a province pushing its figures into
DHIS2 2.42/2.43 would hit, and the tidy rows opened in LibreOffice.

There is no DHIS2 server here: each test matches the field names, formats and rules of the dhis2-core class
named in its comment. The payloads are built from observations in memory (tests/test_export.py's helpers);
the command's own refusals run through the CLI.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from consolidate.core import periods
from consolidate.core.observations import REJECTED
from consolidate.export import Dhis2Mapping, export_observations, write_mapping_template
from consolidate.settings.report import load_config
from consolidate.settings.units import ConfigError, default_registry
from conftest import run_cli
from test_export import StandInStore, obs, read_csv, sample, store  # noqa: F401 - store is a fixture

COC_UID, AOC_UID = "HllvX50cXC0", "bRowv6yZOF2"  # UID-shaped: dhis2-core CodeGenerator.isValidUid


def mapping_file(tmp_path: Path, edit) -> Path:
    """The mapping file that `consolidate init` writes, filled in by ``edit(rows)`` as the clerk would in Excel."""
    path = write_mapping_template(default_registry(), tmp_path / "dhis2-anh-xa.csv")
    rows = read_csv(path)
    edit(rows)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def fill(rows: list[list[str]], *, combo: str = COC_UID, data_sets: dict[str, str] | None = None) -> None:
    for r in rows[1:]:
        if r[0] == "Chỉ tiêu":
            r[3:5] = ["DE_" + r[1].upper().replace(".", "_"), combo]
        elif r[0] == "Đơn vị":
            r[5] = "OU_" + r[1].upper()
        elif r[0] == "Biểu mẫu" and data_sets:
            r[6] = data_sets.get(r[1], "")


# 1. The CSV header that 2.43 reads by name ------------------------------------------------------------


def test_the_dhis2_csv_header_is_the_data_entry_inputs_field_names_in_the_positional_order(tmp_path):
    # dhis2-core 2.43 DataEntryInput.fromCsv maps columns by name onto DataEntryValue.Input; 2.42's
    # CsvDataValueSetReader reads by position 0..9 and skips the first line. Lower-case names such as
    # "catoptcombo" are unknown to 2.43 and the import fails with "data set is required".
    names_243 = ["dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "value",
                 "storedBy", "lastUpdated", "comment", "followUp"]
    observations = sample()
    mapping = Dhis2Mapping({o.field_code: ("DE1" + o.field, "") for o in observations},
                           {o.unit_code: "OU" + o.unit_code for o in observations})
    export_observations(observations, "dhis2-csv", tmp_path, mapping=mapping)
    header, *rows = read_csv(tmp_path / "dhis2-gia-tri.csv", encoding="utf-8")
    assert header == names_243
    assert rows and all(r[1] in ("2024S1", "2024S2") and r[5] for r in rows)


# 2. Codes and UIDs, per column ----------------------------------------------------------------------------


def test_combos_given_as_uids_are_sent_by_uid_while_the_rest_goes_by_code(tmp_path):
    # ImportOptions.IdSchemes: one scheme per object kind; DHIS2's generated combos have no code.
    path = mapping_file(tmp_path, lambda rows: fill(rows, combo=COC_UID))
    result = run_cli("export", "--format", "dhis2-json", "--mapping", path, "--history", tmp_path / "none.sqlite",
                     "--out", tmp_path / "x")
    assert result.exit_code == 2  # no store there: the mapping itself was read and accepted first
    from consolidate.export import read_mapping
    mapping = read_mapping(path)
    assert mapping.scheme("Mã tổ hợp phân tổ DHIS2 (categoryOptionCombo)") == "UID"
    assert mapping.scheme("Mã phần tử dữ liệu DHIS2 (dataElement)") == "CODE"
    result = export_observations(sample(), "dhis2-json", tmp_path / "json", mapping=mapping)
    (command,) = result.commands
    assert "dataElementIdScheme=CODE" in command and "orgUnitIdScheme=CODE" in command
    assert "categoryOptionComboIdScheme=UID" in command and "dryRun=true" in command
    values = json.loads((tmp_path / "json" / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert {v["categoryOptionCombo"] for v in values} == {COC_UID}


def test_the_export_command_prints_how_to_send_each_file_with_its_schemes(store, tmp_path):
    path = mapping_file(tmp_path, lambda rows: fill(rows))
    result = run_cli("export", "--format", "dhis2-json", "--mapping", path, "--history", store, "--out", tmp_path / "o")
    assert "categoryOptionComboIdScheme=UID" in result.output and "--data-binary @dhis2-gia-tri.json" in result.output
    assert "dryRun=true" in result.output


# 3. Data sets and the attribute option combo ----------------------------------------------------------


def test_each_forms_data_set_is_named_in_its_own_payload(tmp_path):
    # 2.43 DataEntryService.splitGroup: with no data set, a data element in two data sets rejects the import.
    path = mapping_file(tmp_path, lambda rows: fill(rows, data_sets={"form1": "DS_BM1", "form2": "DS_BM2"}))
    from consolidate.export import read_mapping
    mapping = read_mapping(path)
    assert mapping.data_sets == {"form1": "DS_BM1", "form2": "DS_BM2"}
    observations = [o for o in sample() if o.unit_code == "x-phuoc-an"]
    result = export_observations(observations, "dhis2-json", tmp_path / "json", mapping=mapping)
    assert sorted(p.name for p in result.paths) == ["dhis2-gia-tri-DS_BM1.json", "dhis2-gia-tri-DS_BM2.json"]
    one = json.loads((tmp_path / "json" / "dhis2-gia-tri-DS_BM1.json").read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "json" / "dhis2-gia-tri-DS_BM2.json").read_text(encoding="utf-8"))
    assert one["dataSet"] == "DS_BM1" and {v["dataElement"] for v in one["dataValues"]} == {
        "DE_FORM1_COMPUTERS", "DE_FORM1_PRINTERS"}
    assert two["dataSet"] == "DS_BM2" and len(two["dataValues"]) == 1
    # The CSV carries no data set: its command names it (2.43 DataEntryInput.fromCsv takes options.getDataSet()).
    result = export_observations(observations, "dhis2-csv", tmp_path / "csv", mapping=mapping)
    assert any("dataSet=DS_BM1" in c and "@dhis2-gia-tri-DS_BM1.csv" in c for c in result.commands)
    assert any("dataSet=DS_BM2" in c for c in result.commands)
    # One data set for both forms: one file under the plain name, an earlier export's files removed.
    same = Dhis2Mapping(mapping.fields, mapping.units, data_sets={"form1": "DS", "form2": "DS"})
    result = export_observations(observations, "dhis2-json", tmp_path / "json", mapping=same)
    assert sorted(p.name for p in (tmp_path / "json").glob("dhis2-gia-tri*.json")) == ["dhis2-gia-tri.json"]


def test_an_attribute_option_combo_is_sent_with_every_value(store, tmp_path):
    path = mapping_file(tmp_path, lambda rows: fill(rows))
    result = run_cli("export", "--format", "dhis2-csv", "--mapping", path, "--attribute-option-combo", AOC_UID,
                     "--history", store, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    header, *rows = read_csv(tmp_path / "o" / "dhis2-gia-tri.csv", encoding="utf-8")
    assert rows and {r[header.index("attributeOptionCombo")] for r in rows} == {AOC_UID}


# 4. No duplicate keys ---------------------------------------------------------------------------------


def _two_fields_one_element(rows: list[list[str]]) -> None:
    fill(rows)
    computers = next(r for r in rows if r[1] == "form1.computers")
    printers = next(r for r in rows if r[1] == "form1.printers")
    printers[3:5] = computers[3:5]


def _two_units_one_org_unit(rows: list[list[str]]) -> None:
    fill(rows)
    units = [r for r in rows if r[0] == "Đơn vị"]
    units[1][5] = units[0][5]


@pytest.mark.parametrize("edit", [_two_fields_one_element, _two_units_one_org_unit])
def test_a_mapping_that_sends_two_values_to_one_dhis2_key_is_refused_naming_both_rows(store, tmp_path, edit):
    # 2.43 DataEntryService: a duplicate (dataElement, period, orgUnit, coc, aoc) in one group rejects the group.
    path = mapping_file(tmp_path, edit)
    rows = read_csv(path)
    lines = [i + 1 for i, r in enumerate(rows) if i and r[5 if edit is _two_units_one_org_unit else 3]
             and [x[5 if edit is _two_units_one_org_unit else 3] for x in rows].count(
                 r[5 if edit is _two_units_one_org_unit else 3]) > 1]
    out = tmp_path / "o"
    result = run_cli("export", "--format", "dhis2-json", "--mapping", path, "--history", store, "--out", out)
    assert result.exit_code == 2, result.output
    assert f"dòng {lines[0]} và dòng {lines[1]} cùng gửi số liệu vào" in result.output
    assert not out.exists() or not list(out.iterdir())  # nothing written


# 5. Zeros and values sent before ----------------------------------------------------------------------


def test_zeros_are_sent_and_the_summary_says_dhis2_may_drop_them(tmp_path, monkeypatch):
    observations = sample() + [obs(field="scanners", value=0.0, cell="I7")]
    result = export_observations(observations, "dhis2-json", tmp_path, mapping=_full(observations))
    assert result.zeros == 1
    values = json.loads((tmp_path / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert [v for v in values if v["value"] == "0"]


def test_the_cli_says_zeros_may_be_dropped(store, tmp_path, monkeypatch):
    stand_in = sys.modules["consolidate.history"]  # test_export's store fixture put its stand-in module there
    monkeypatch.setattr(stand_in, "open_store", lambda url, create=True: StandInStore(
        sample() + [obs(field="scanners", value=0.0, cell="I7")]))
    path = mapping_file(tmp_path, lambda rows: fill(rows))
    result = run_cli("export", "--format", "dhis2-json", "--mapping", path, "--history", store, "--out", tmp_path / "o")
    assert "1 giá trị bằng 0" in result.output and "zeroIsSignificant" in result.output


def test_a_value_that_became_blank_or_rejected_is_written_as_a_deletion(tmp_path):
    # A payload only changes the values it names; importStrategy=DELETE removes the named keys.
    observations = sample()
    mapping = _full(observations)
    first = export_observations(observations, "dhis2-json", tmp_path, mapping=mapping)
    assert first.deletions == 0 and not (tmp_path / "dhis2-xoa.json").exists()
    rerun = [o if (o.period, o.unit_code, o.field) != ("2024S1", "x-phuoc-an", "printers")
             else obs(field="printers", value="ba", status=REJECTED, problem="value-not-number", cell="H7")
             for o in observations if o.period == "2024S1"]
    second = export_observations(rerun, "dhis2-json", tmp_path, mapping=mapping)
    assert second.deletions == 1
    (gone,) = json.loads((tmp_path / "dhis2-xoa.json").read_text(encoding="utf-8"))["dataValues"]
    assert gone == {"dataElement": "DE_FORM1_PRINTERS", "period": "2024S1", "orgUnit": "OU_X-PHUOC-AN",
                    "categoryOptionCombo": "COC"}
    assert any("importStrategy=DELETE" in c and "@dhis2-xoa.json" in c for c in second.commands)
    # The other period was not exported again: nothing of it is deleted; the deletion stays listed
    # until a value for that key is exported again.
    third = export_observations(rerun, "dhis2-json", tmp_path, mapping=mapping)
    assert third.deletions == 1
    fourth = export_observations(observations, "dhis2-json", tmp_path, mapping=mapping)
    assert fourth.deletions == 0 and not (tmp_path / "dhis2-xoa.json").exists()


def _full(observations) -> Dhis2Mapping:
    return Dhis2Mapping({o.field_code: ("DE_" + o.field_code.upper().replace(".", "_"), "COC") for o in observations},
                        {o.unit_code: "OU_" + o.unit_code.upper() for o in observations})


# 6. Periods --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, stored", [
    ("2024-08", "202408"), ("2024-08-15", "20240815"), ("2024April", "2024April"), ("2024Sep", "2024Sep"),
    ("2024s2", "2024S2"), ("2024NovQ1", "2024NovQ1"), ("202401B", "202401B"),
])
def test_every_dhis2_period_form_is_accepted_and_stored_in_one_form(written, stored):
    # dhis2-core PeriodTypeEnum.ofIsoPeriod: a month as yyyyMM or yyyy-MM, a day as yyyyMMdd or yyyy-MM-dd.
    assert periods.canonical_period(written) == stored and periods.is_dhis2_period(stored)


def test_a_financial_year_has_its_dates_and_a_report_may_be_named_by_it(tmp_path):
    assert periods.parse_period("2024July")[1:] == (periods.dt.date(2024, 7, 1), periods.dt.date(2025, 6, 30))
    config = tmp_path / "cau-hinh.toml"
    config.write_text('period = "2024-08"\n', encoding="utf-8")
    assert load_config(config)[0].period == "202408"


def test_a_period_dhis2_refuses_is_refused_with_the_accepted_forms(tmp_path):
    result = run_cli("export", "--format", "csv", "--period", "2024-13", "--out", tmp_path)
    assert result.exit_code == 2
    assert "2024-08 (tháng)" in result.output and "2024July" in result.output


def test_one_module_owns_period_codes():
    root = Path(__file__).resolve().parents[1] / "consolidate"
    assert not (root / "export" / "periods.py").exists()
    owners = [p for p in root.rglob("*.py") if "WeeklyWednesday" in p.read_text(encoding="utf-8")]
    assert owners == [root / "core" / "periods.py"]


# 8. The tidy rows in a workbook that LibreOffice opens ----------------------------------------------


def test_the_tidy_rows_as_a_workbook_keep_vietnamese_and_numbers(store, tmp_path):
    out = tmp_path / "xuat"
    result = run_cli("export", "--format", "xlsx", "--history", store, "--out", out)
    assert result.exit_code == 0, result.output
    ws = openpyxl.load_workbook(out / "so-lieu.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Kỳ báo cáo", "Mã đơn vị", "Tên đơn vị") and rows[1][:3] == ("period", "unit_code", "unit_name")
    data = rows[2:]
    assert len(data) == len(sample())
    assert {r[2] for r in data} == {"Xã Phước An", "Xã Phước Sơn"}
    assert ("x-phuoc-son", "7 người") in {(r[1], r[5]) for r in data}
    assert 97.8 in {r[5] for r in data}
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed: the workbook was checked with openpyxl only")
    converted = tmp_path / "lo"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(converted), str(out / "so-lieu.xlsx")],
                   check=True, capture_output=True, timeout=180)
    text = (converted / "so-lieu.csv").read_text(encoding="utf-8")
    assert "Xã Phước Sơn" in text and "Kỳ báo cáo" in text


def test_a_unit_name_that_would_drive_the_terminal_is_shown_escaped_by_export(store, tmp_path, monkeypatch):
    """Issue 21 item 16, for `export`: a name from the history (the unit's own file) never reaches the
    terminal raw."""
    stand_in = sys.modules["consolidate.history"]
    monkeypatch.setattr(stand_in, "open_store", lambda url, create=True: StandInStore(
        [obs(unit_code="x-moi", unit_name="Xã \x1b]0;hacked\x07Mới")]))
    path = mapping_file(tmp_path, lambda rows: fill(rows))
    result = run_cli("export", "--format", "dhis2-json", "--mapping", path, "--history", store, "--out", tmp_path / "o")
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Xã \\x1b]0;hacked\\x07Mới" in result.output
