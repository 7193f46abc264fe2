"""The province officer's inbox as districts really fill it (issue 22 §4): whole output folders, copied as they are,
from districts that also ran `consolidate serve`, `links` and `template` into them; and the count of districts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import run_cli
from serving import client_of, open_district, upload
from test_province import MAU, Registry, Unit, build_mau_inbox, district_mau, province, write_units_csv

from consolidate.core.formats import HISTORY_NAME
from consolidate.web.links import LINKS_NAME
from consolidate.web.state import LOCK_SUFFIX, STATE_NAME
from consolidate.web.uploads import WORK_DIR


def tuy_phuoc_clerk(tmp_path: Path) -> Path:
    """Tuy Phước's clerk, over a period: serve (one commune uploads through its page), the others by e-mail,
    templates made into the default folder under outbox/, the run. Returns the clerk's whole --out folder."""
    district = open_district(tmp_path / "tuy-phuoc")
    client = client_of(district)
    link = district.links()["x-phuoc-son"]
    assert upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "bao-cao.xlsx").status_code < 400
    for own in district.own_files.iterdir():
        if own.name != "bao-cao-x-phuoc-son.xlsx":
            shutil.copy(own, district.inbox / own.name)  # sent by e-mail, saved by the clerk
    assert run_cli("template", "--out", district.out / "mau-bao-cao").exit_code == 0
    assert run_cli("run", district.inbox, "--out", district.out).exit_code == 1  # Phước Sơn's real error
    return district.out


def test_a_districts_whole_output_folder_gives_notes_not_warnings_for_its_own_files(tmp_path):
    out = tuy_phuoc_clerk(tmp_path)
    own = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    # what the district's folder holds besides its merged workbook, as the district's tools left it
    assert {HISTORY_NAME, LINKS_NAME, STATE_NAME, STATE_NAME + LOCK_SUFFIX} <= own
    assert any(name.startswith(WORK_DIR + "/") for name in own)  # the server's copies of uploads
    assert any(name.startswith("mau-bao-cao/") for name in own)  # the blank templates
    mau_units = write_units_csv(tmp_path / "don-vi-huyen-mau.csv", district_mau())
    assert run_cli("run", build_mau_inbox(tmp_path / "mau-nhan"), "--out", tmp_path / "mau-out",
                   "--units", mau_units).exit_code == 0

    inbox = tmp_path / "tinh-nhan"
    shutil.copytree(out, inbox / "tuy-phuoc")  # the whole folder, as it came on a USB stick
    shutil.copytree(tmp_path / "mau-out", inbox / "huyen-mau")
    units = write_units_csv(tmp_path / "don-vi-tinh.csv", province())
    result = run_cli("run", inbox, "--out", tmp_path / "tinh-out", "--units", units, "--json")
    summary = json.loads(result.output)

    read = {p["file"] for p in summary["problems"] if p["code"] != "file-skipped"}
    assert read <= {"tuy-phuoc/tong-hop-tuy-phuoc.xlsx", "huyen-mau/tong-hop-huyen-mau.xlsx"}, read
    codes = {p["code"] for p in summary["problems"] if p["severity"] != "info"}
    assert {"total-mismatch", "upstream-errors"} <= codes <= {"total-mismatch", "upstream-errors", "outlier"}, codes
    skipped = {p["file"] for p in summary["problems"] if p["code"] == "file-skipped"}
    assert skipped == {f"tuy-phuoc/{name}" for name in own if not name.startswith("tong-hop-tuy-phuoc.xlsx")} | {
        "huyen-mau/lich-su.sqlite", "huyen-mau/nhat-ky-loi-huyen-mau.csv", "huyen-mau/tong-hop-huyen-mau.html"}
    assert summary["files_read"] == 2 and summary["units_reported"] == summary["units_expected"] == 18


def test_a_commune_file_named_like_a_template_is_still_read_in_a_district_inbox(tmp_path):
    """Only the blank templates inside a mau-bao-cao/ folder are the district's own: a unit that sends back its
    filled template under the template's name is read like any report."""
    inbox = tmp_path / "inbox"
    build_mau_inbox(inbox)
    for path in inbox.iterdir():
        path.rename(inbox / f"mau-bao-cao-{path.name}")
    units = write_units_csv(tmp_path / "don-vi.csv", district_mau())
    summary = json.loads(run_cli("run", inbox, "--out", tmp_path / "out", "--units", units, "--json").output)
    assert summary["files_read"] == 4 and summary["units_reported"] == 4
    assert not [p for p in summary["problems"] if p["code"] == "file-skipped"]


THIRD = [Unit("huyen-mau-hai", "Huyện Mẫu Hai", "huyện", "binh-dinh"),
         Unit("mh-mot", "Xã Mẫu Hai Một", "xã", "huyen-mau-hai"), Unit("mh-hai", "Xã Mẫu Hai Hai", "xã", "huyen-mau-hai")]


def test_the_province_summary_counts_districts_beside_units(tmp_path):
    """Three districts in the province's table, two sent their merged workbooks."""
    mau_units = write_units_csv(tmp_path / "don-vi-huyen-mau.csv", district_mau())
    run_cli("run", build_mau_inbox(tmp_path / "mau-nhan"), "--out", tmp_path / "mau-out", "--units", mau_units)
    from consolidate.write.sample import make_sample_inbox

    make_sample_inbox(tmp_path / "tp-nhan")
    run_cli("run", tmp_path / "tp-nhan", "--out", tmp_path / "tp-out")
    inbox = tmp_path / "tinh-nhan"
    inbox.mkdir()
    for out in ("tp-out", "mau-out"):
        for wb in (tmp_path / out).glob("tong-hop-*.xlsx"):
            shutil.copy(wb, inbox / wb.name)
    units = write_units_csv(tmp_path / "don-vi-tinh.csv", Registry([*province().units, *THIRD]))

    shown = run_cli("run", inbox, "--out", tmp_path / "tinh-out", "--units", units).output
    summary = json.loads(run_cli("run", inbox, "--out", tmp_path / "tinh-out", "--units", units, "--json").output)

    lines = shown.splitlines()
    assert "Huyện đã báo cáo: 2/3." in lines
    assert lines.index("Huyện đã báo cáo: 2/3.") + 1 == lines.index("Đơn vị đã báo cáo: 18/20.")
    assert "Chưa báo cáo: Huyện Mẫu Hai." in lines
    assert (summary["districts_reported"], summary["districts_expected"]) == (2, 3)
    assert summary["districts_missing"] == ["Huyện Mẫu Hai"]


def test_a_district_run_has_no_district_count(tmp_path):
    """A district's own run counts its units only: there is no level of districts to count."""
    inbox = build_mau_inbox(tmp_path / "mau-nhan")
    units = write_units_csv(tmp_path / "don-vi.csv", district_mau())
    shown = run_cli("run", inbox, "--out", tmp_path / "out", "--units", units).output
    summary = json.loads(run_cli("run", inbox, "--out", tmp_path / "out", "--units", units, "--json").output)
    assert "Huyện đã báo cáo" not in shown and f"Đơn vị đã báo cáo: {len(MAU)}/{len(MAU)}." in shown
    assert summary["districts_expected"] is None and summary["districts_reported"] is None


def test_the_reader_knows_the_names_the_district_tools_write():
    """read/ may not import web/ or write/: the names it skips are spelt again there, and must stay the same."""
    from consolidate.read import discover
    from consolidate.write.templates import template_name

    assert {LINKS_NAME, STATE_NAME, STATE_NAME + LOCK_SUFFIX} <= set(discover.SERVER_FILES)
    assert (discover.SERVER_DIR, discover.HISTORY_FILES[0]) == (WORK_DIR, HISTORY_NAME)
    assert template_name(MAU_UNIT).startswith(discover.TEMPLATE_PREFIX)
    assert run_cli("template", "--help").output.count(f"outbox/{discover.TEMPLATES_DIR})") == 1


MAU_UNIT = district_mau().units[1]
