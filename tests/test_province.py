"""The province officer's story: merge the districts' workbooks, or communes sent straight to the province."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from consolidate import app
from consolidate.core import problems as P
from consolidate.core import results
from consolidate.core.accounting import violations
from consolidate.write.outputs import write_outputs
from consolidate.core.registry import Registry, Unit
from consolidate.settings.units import default_registry
from consolidate.settings.report import default_settings
from consolidate.write.sample import make_sample_inbox
from consolidate.write.templates import write_template

MAU = [  # a second, made-up district: its units and Biểu mẫu 1 figures
    ("hm-cap-huyen", "Cấp huyện", (5, 2, 1, 2, 6, 3, 3, 5)),
    ("hm-mau-mot", "Xã Mẫu Một", (4, 4, 0, 0, 3, 2, 1, 4)),
    ("hm-mau-hai", "Xã Mẫu Hai", (3, 3, 0, 0, 3, 1, 1, 3)),
    ("hm-mau-ba", "Xã Mẫu Ba", (6, 5, 1, 0, 5, 3, 2, 6)),
]
FIELDS = ["total", "staff_own", "staff_seconded", "staff_bcci", "computers", "printers", "scanners", "signatures"]


def district_mau() -> Registry:
    return Registry([Unit("huyen-mau", "Huyện Mẫu", "huyện"), *(Unit(c, n, "xã", "huyen-mau") for c, n, _ in MAU)])


def province(with_districts: bool = True) -> Registry:
    tuy_phuoc = default_registry().units
    units = [Unit("binh-dinh", "Tỉnh Bình Định", "tỉnh")]
    if with_districts:
        units += [Unit(u.code, u.name, u.level, u.parent or "binh-dinh") for u in tuy_phuoc]
        units += [Unit(u.code, u.name, u.level, u.parent or "binh-dinh") for u in district_mau().units]
    else:  # two tiers: communes report straight to the province
        units += [Unit(u.code, u.name, u.level, "binh-dinh") for u in tuy_phuoc if u.parent and u.code != "cap-huyen"]
    return Registry(units)


def rates(after: float, dossiers: int | None) -> dict:
    return {"online_submission": {"before": 90.0, "after": after, "weight_after": dossiers}}


def build_mau_inbox(folder: Path) -> Path:
    settings = default_settings()
    for (code, name, figures), (after, dossiers) in zip(MAU, [(80.0, 100), (90.0, 300), (100.0, 600), (70.0, 0)]):
        unit = next(u for u in district_mau().units if u.code == code)
        form2 = {k: {"before": 90.0, "after": 90.0} for k in
                 ("online_submission", "online_payment", "digitised_dossiers", "electronic_results", "reused_results")}
        form2["online_submission"] = {"before": 90.0, "after": after, "weight_after": dossiers}
        write_template(unit, settings, folder / f"{code}.xlsx", form1=dict(zip(FIELDS, figures)), form2=form2,
                       total_formula=False)
    return folder


@pytest.fixture
def districts(tmp_path: Path) -> Path:
    """Two district clerks' results, in the province's inbox."""
    inbox = tmp_path / "tinh-nhan"
    inbox.mkdir()
    tp = app.run(make_sample_inbox(tmp_path / "tp")[0].parent)
    write_outputs(tp, tmp_path / "tp-out")
    mau = app.run(build_mau_inbox(tmp_path / "mau"), district_mau())
    write_outputs(mau, tmp_path / "mau-out")
    for out in ("tp-out", "mau-out"):
        for wb in (tmp_path / out).glob("tong-hop-*.xlsx"):
            shutil.copy(wb, inbox / wb.name)
    return inbox


def test_the_province_totals_are_the_sum_of_the_districts(districts, tmp_path):
    result = app.run(districts, province())
    paths = write_outputs(result, tmp_path / "out")
    assert violations(result) == []

    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 1"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=7, max_col=10)]
    labels = [r[1] or r[0] for r in rows]  # subtotal and total labels are merged over A:B
    assert labels[0] == "Huyện Tuy Phước" and "Huyện Mẫu" in labels
    tp_sub = rows[labels.index("Cộng Huyện Tuy Phước")][2:10]
    mau_sub = rows[labels.index("Cộng Huyện Mẫu")][2:10]
    total = rows[labels.index("Tổng cộng")][2:10]
    assert tp_sub == [80 - 7, 68 - 6, 7, 4, 70, 48, 40, 78]  # the seed's column sums without Phước Sơn's broken Tổng số rule
    assert mau_sub == [sum(f[i] for _, _, f in MAU) for i in range(8)]
    assert total == [a + b for a, b in zip(tp_sub, mau_sub)]
    # each district's "Cấp huyện" lands in its own district
    assert labels.count("Cấp huyện") == 2
    assert result.count(results.REPORTED) == 18

    formulas = openpyxl.load_workbook(paths["workbook"])["Biểu mẫu 1"]
    total_row = 7 + labels.index("Tổng cộng")
    sub_rows = [7 + labels.index("Cộng Huyện Tuy Phước"), 7 + labels.index("Cộng Huyện Mẫu")]
    assert formulas.cell(total_row, 3).value == f"=C{sub_rows[0]}+C{sub_rows[1]}"


def test_the_phuoc_son_error_travels_up_as_a_warning_and_is_checked_again(districts):
    result = app.run(districts, province())
    codes = [(p.code, p.file, p.unit) for p in result.problems]
    assert ("upstream-errors", "tong-hop-tuy-phuoc.xlsx", "") in codes
    assert ("total-mismatch", "tong-hop-tuy-phuoc.xlsx", "Xã Phước Sơn") in codes


def test_a_district_that_did_not_send_is_one_entry(districts):
    (districts / "tong-hop-huyen-mau.xlsx").unlink()
    result = app.run(districts, province())
    missing = [p for p in result.problems if p.code in ("group-not-reported", "unit-not-reported")]
    assert [(p.code, p.unit) for p in missing] == [("group-not-reported", "Huyện Mẫu")]
    assert missing[0].message == "Chưa nhận được báo cáo tổng hợp của Huyện Mẫu (không có số liệu của đơn vị nào thuộc Huyện Mẫu)."
    assert violations(result) == []


def test_rates_are_weighted_by_dossiers_where_every_unit_gave_them(tmp_path):
    result = app.run(build_mau_inbox(tmp_path / "mau"), district_mau())
    agg = result.consolidated.form2_means["online_submission"]["after"]
    # 70 % of 0 dossiers weighs nothing: (80·100 + 90·300 + 100·600 + 70·0) / 1000 = 95
    assert (agg.value, agg.method, agg.weight, agg.count) == (95.0, "weighted", 1000.0, 4)
    assert result.consolidated.form2_means["online_payment"]["after"].method == "mean"
    paths = write_outputs(result, tmp_path / "out")
    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 2"]
    assert ws["E7"].value == 95.0
    notes = " ".join(str(c.value) for row in ws.iter_rows(min_row=12) for c in row if c.value)
    assert "– Tỷ lệ nộp hồ sơ trực tuyến: (i) Kết quả trước khi chuyển giao: trung bình cộng (không trọng số) của 4 đơn vị; (ii) Kết quả sau khi chuyển giao: bình quân theo số hồ sơ của 4 đơn vị (1.000 hồ sơ)." in notes


def test_the_province_weights_carry_up_from_the_districts_detail(districts):
    result = app.run(districts, province())
    agg = result.consolidated.form2_means["online_submission"]["after"]
    assert agg.method == "mean"  # Tuy Phước's units gave no dossier counts
    mau_only = [r for r in result.consolidated.form2["hm-mau-ba"]["online_submission"].values()]
    assert {r.field: r.value for r in mau_only}["weight_after"] == 0.0


def test_communes_straight_to_the_province(tmp_path):
    inbox = tmp_path / "inbox"
    make_sample_inbox(inbox)
    (inbox / "bao-cao-cap-huyen.xlsx").unlink()
    result = app.run(inbox, province(with_districts=False))
    assert result.registry.groups()[0][0] is None
    assert result.count(results.REPORTED) == 13
    paths = write_outputs(result, tmp_path / "out")
    ws = openpyxl.load_workbook(paths["workbook"], data_only=True)["Biểu mẫu 1"]
    assert ws["B7"].value == "Thị trấn Diêu Trì"
    assert ws["A20"].value == "Tổng cộng" and ws["C20"].value == 80 - 8 - 7  # without Cấp huyện and Phước Sơn's 7 in error


def test_a_province_target_marks_units_below_it(tmp_path):
    import dataclasses

    settings = dataclasses.replace(default_settings(), targets=(("online_submission", 95.0),))
    result = app.run(build_mau_inbox(tmp_path / "mau"), district_mau(), settings)
    below = sorted((p.unit, p.cell, p.severity) for p in result.problems if p.code == "below-target")
    assert below == [("Cấp huyện", "E7", "warning"), ("Xã Mẫu Ba", "E7", "warning"), ("Xã Mẫu Một", "E7", "warning")]
    assert result.consolidated.form2_means["online_submission"]["target"].value == 95.0


def write_units_csv(path: Path, registry: Registry) -> Path:
    lines = ["Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên"] + [f"{u.code},{u.name},{u.level},{u.parent}" for u in registry.units]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_two_districts_and_their_province_end_to_end_with_units_files(tmp_path):
    """Each clerk runs the same command with their own units file; the province runs it on their results."""
    from conftest import run_cli

    mau_units = write_units_csv(tmp_path / "don-vi-huyen-mau.csv", district_mau())
    province_units = write_units_csv(tmp_path / "don-vi-tinh.csv", province())
    make_sample_inbox(tmp_path / "tp-inbox")
    build_mau_inbox(tmp_path / "mau-inbox")

    assert run_cli("run", tmp_path / "tp-inbox", "--out", tmp_path / "tp-out").exit_code == 1  # Phước Sơn
    assert run_cli("run", tmp_path / "mau-inbox", "--out", tmp_path / "mau-out", "--units", mau_units).exit_code == 0
    inbox = tmp_path / "tinh-nhan"
    inbox.mkdir()
    for wb in [*(tmp_path / "tp-out").glob("*.xlsx"), *(tmp_path / "mau-out").glob("*.xlsx")]:
        shutil.copy(wb, inbox / wb.name)

    result = run_cli("run", inbox, "--out", tmp_path / "tinh-out", "--units", province_units)

    assert "Đơn vị đã báo cáo: 18/18." in result.output
    ws = openpyxl.load_workbook(tmp_path / "tinh-out" / "tong-hop-binh-dinh.xlsx", data_only=True)["Biểu mẫu 1"]
    total = next(r for r in ws.iter_rows(min_row=7, values_only=True) if r[0] == "Tổng cộng")
    district_totals = []
    for name in ("tong-hop-tuy-phuoc.xlsx", "tong-hop-huyen-mau.xlsx"):
        d = openpyxl.load_workbook(inbox / name, data_only=True)["Biểu mẫu 1"]
        district_totals.append(next(r for r in d.iter_rows(min_row=7, values_only=True) if r[0] == "Tổng cộng")[2:10])
    assert list(total[2:10]) == [a + b for a, b in zip(*district_totals)]


def test_the_terminal_names_a_missing_district_not_its_communes(districts, tmp_path):
    """The province clerk reads who to chase: the district whose merged workbook did not come."""
    from conftest import run_cli

    units = write_units_csv(tmp_path / "don-vi-tinh.csv", province())
    (districts / "tong-hop-huyen-mau.xlsx").unlink()

    result = run_cli("run", districts, "--out", tmp_path / "tinh-out", "--units", units)
    summary = run_cli("run", districts, "--out", tmp_path / "tinh-out", "--units", units, "--json").output

    assert "Đơn vị đã báo cáo: 14/18." in result.output
    assert "Chưa báo cáo: Huyện Mẫu." in result.output
    assert not any(name in result.output for _, name, _ in MAU[1:])  # its communes ("Cấp huyện" is in both)
    assert json.loads(summary)["units_missing"] == ["Huyện Mẫu"]


def cells(path: Path) -> dict[str, list[list[object]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets
            if ws.title not in ("Nguồn dữ liệu", "Nhật ký lỗi")}


def test_a_districts_whole_output_folder_reads_only_its_merged_workbook(districts, tmp_path):
    """A district that sends its whole --out folder: the feedback copies, CSV log and HTML page are notes, not reports."""
    whole = tmp_path / "tinh-nhan-ca-thu-muc"
    for out in ("tp-out", "mau-out"):
        shutil.copytree(tmp_path / out, whole / out)
    feedback = sorted(p.relative_to(whole).as_posix() for p in whole.rglob("phan-hoi/*"))
    assert feedback  # Phước Sơn's copy: newer than the district's workbook
    for copy in whole.rglob("phan-hoi/*"):
        copy.touch()

    plain = app.run(districts, province())
    result = app.run(whole, province())
    skipped = {p.file: p for p in result.problems if p.code == "file-skipped"}
    expected = {*feedback, "tp-out/nhat-ky-loi-tuy-phuoc.csv", "tp-out/tong-hop-tuy-phuoc.html",
                "mau-out/nhat-ky-loi-huyen-mau.csv", "mau-out/tong-hop-huyen-mau.html"}
    assert set(skipped) == expected
    assert all(p.severity == "info" and "bản phản hồi/nhật ký của huyện (không phải báo cáo)" in p.message
               for p in skipped.values())
    assert not any(p.code in ("duplicate-submission", "file-not-spreadsheet") for p in result.problems)
    assert result.count(results.REPORTED) == plain.count(results.REPORTED) == 18
    a = write_outputs(plain, tmp_path / "out-plain")["workbook"]
    b = write_outputs(result, tmp_path / "out-whole")["workbook"]
    def unfoldered(value: object) -> object:  # the whole folders keep each workbook in its own subfolder
        return value.replace("tp-out/", "").replace("mau-out/", "") if isinstance(value, str) else value

    assert cells(a) == {t: [[unfoldered(v) for v in row] for row in rows] for t, rows in cells(b).items()}


def test_the_province_page_shows_a_districts_own_problems_under_the_district(districts, tmp_path):
    from consolidate.write.html_page import group_problems, render

    (districts / "tong-hop-huyen-mau.xlsx").unlink()
    result = app.run(districts, province())
    groups = {g.title: [p.code for p in g.problems] for g in group_problems(result)}
    assert "upstream-errors" in groups["Huyện Tuy Phước"]
    assert groups["Huyện Mẫu"] == ["group-not-reported"]
    assert "total-mismatch" in groups["Xã Phước Sơn"]
    assert not any("upstream-errors" in codes for title, codes in groups.items() if title != "Huyện Tuy Phước")
    page = render(result)
    district = page.index('<h3 id="don-vi-tuy-phuoc">Huyện Tuy Phước')
    said = page.index(P.UpstreamErrors.title, district)  # the kind in words on the page (its code is in the log)
    assert district < said < page.index("<h3", district + 1)
    assert '<h3 id="don-vi-huyen-mau">Huyện Mẫu' in page


def test_the_province_feedback_copy_is_addressed_to_the_district(districts, tmp_path):
    result = app.run(districts, province())
    paths = write_outputs(result, tmp_path / "out")
    copy = next(p for p in paths.feedback if p.name == "tong-hop-tuy-phuoc.xlsx")
    ws = openpyxl.load_workbook(copy)["Phản hồi"]
    assert ws["A2"].value == "Đơn vị: Huyện Tuy Phước (báo cáo tổng hợp của 14 đơn vị)"


def test_a_district_run_still_names_the_communes_in_a_feedback_copy(tmp_path):
    result = app.run(make_sample_inbox(tmp_path / "tp")[0].parent)
    assert all(s.sender == "" for s in result.submissions)
    paths = write_outputs(result, tmp_path / "out")
    ws = openpyxl.load_workbook(paths.feedback[0])["Phản hồi"]
    assert ws["A2"].value == "Đơn vị: Xã Phước Sơn"


def test_a_province_starts_from_init_with_its_level_and_runs_with_its_config(tmp_path):
    """`consolidate init --cap tinh` writes a province's settings; a run with them reads the districts' workbooks."""
    from conftest import run_cli

    folder = tmp_path / "cau-hinh-tinh"
    assert run_cli("init", folder, "--cap", "tinh").exit_code == 0
    assert run_cli("init", tmp_path / "co-dau", "--cap", "Tỉnh").exit_code == 0
    assert (tmp_path / "co-dau" / "cau-hinh.toml").read_bytes() == (folder / "cau-hinh.toml").read_bytes()
    assert run_cli("init", tmp_path / "sai", "--cap", "xa").exit_code == 2
    assert "UBND tỉnh" in (folder / "cau-hinh.toml").read_text(encoding="utf-8")

    assert run_cli("run", make_sample_inbox(tmp_path / "tp")[0].parent, "--out", tmp_path / "tp-out").exit_code == 1
    inbox = tmp_path / "tinh-nhan"
    shutil.copytree(tmp_path / "tp-out", inbox)  # the whole folder, as a district may send it
    result = run_cli("run", inbox, "--out", tmp_path / "tinh-out", "--config", folder / "cau-hinh.toml")
    assert "Đơn vị đã báo cáo: 14/17." in result.output  # the example's made-up Huyện Mẫu sent nothing
    wb = openpyxl.load_workbook(tmp_path / "tinh-out" / "tong-hop-binh-dinh.xlsx", data_only=True)
    texts = " ".join(str(c.value) for row in wb["Biểu mẫu 1"].iter_rows(max_row=6) for c in row if c.value)
    assert "trên địa bàn tỉnh" in texts and "UBND tỉnh" in texts and "địa bàn huyện" not in texts


def test_init_without_a_level_is_a_districts(tmp_path):
    from conftest import run_cli

    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    assert run_cli("init", tmp_path / "huyen", "--cap", "huyen").exit_code == 0
    assert (folder / "cau-hinh.toml").read_bytes() == (tmp_path / "huyen" / "cau-hinh.toml").read_bytes()
    text = (folder / "cau-hinh.toml").read_text(encoding="utf-8")
    assert 'issuer = "UBND huyện"' in text and "trên địa bàn huyện" in text
    first = openpyxl.load_workbook(folder / "don-vi.xlsx").worksheets[0][2]
    assert [c.value for c in first][:4] == ["tuy-phuoc", "Huyện Tuy Phước", "huyện", ""]
