"""Issue 22 §3: the unit's page keeps the commune informed, on every visit, whichever way its file came; and §4:
the feedback copy the province sends back to a district says which commune must fix what.

The unit's page reads the same status as the clerk's table ("Tình trạng nộp": the run's own unit status of the
inbox as it is now), so the two never disagree; a re-sent upload replaces the earlier ones quietly.
"""

from __future__ import annotations

import html
import io
import os
import re
import shutil
import time
import urllib.parse
from pathlib import Path

import openpyxl
import pytest

from conftest import set_cells
from consolidate import app
from consolidate.core import problems as P
from consolidate.core.accounting import SUPERSEDED, origins, violations
from consolidate.write.outputs import write_outputs
from consolidate.write.sample import make_sample_inbox
from serving import client_of, form_token, open_district, text_of, upload
from test_province import province

SON_ERROR = "Biểu mẫu 1!C7 Tổng số 7 ≠ 6 + 0 + 0 (= 6)."


@pytest.fixture
def district(tmp_path):
    return open_district(tmp_path)


def status_box(response) -> str:
    """The class of the status box of the unit's page ("ok", "bad", "warn")."""
    section = re.search(r'<section id="tinh-trang">(.*?)</section>', response.get_data(as_text=True), re.S)[1]
    return re.search(r'<p class="notice (\w+)"', section)[1]


def clerk_row(client, district, code: str) -> dict[str, str]:
    """One line of the clerk's "Tình trạng nộp" table, as the clerk reads it."""
    page = client.get(district.clerk).get_data(as_text=True)
    row = re.search(rf'<tr data-unit="{code}">(.*?)</tr>', page, re.S)[1]
    cells = [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip())
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return dict(zip(("n", "name", "state", "when", "file", "errors", "warnings", "note"), cells))


def post(client, link: str, data: bytes, name: str):
    """The unit's browser pressing "Gửi báo cáo", without following where the server sends it next."""
    token = form_token(client.get(link).get_data(as_text=True))
    return client.post(link, data={"ma_xac_nhan": token, "tep": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# a) every visit lists the unit's current problems ------------------------------------------------


def test_every_visit_lists_the_units_problems_with_the_communes_fix_as_the_clerks_table_counts_them(district, monkeypatch):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    path = district.own_file("x-phuoc-son")
    set_cells(path, "Biểu mẫu 1", {"G7": -1})  # a second error, whose fix differs for the clerk and the commune
    runs = []
    real_run = app.run
    monkeypatch.setattr("consolidate.web.clerk.app.run", lambda *a, **k: runs.append(1) or real_run(*a, **k))
    upload(client, link, path.read_bytes(), "Báo cáo Phước Sơn.xlsx")  # the browser is sent back to the page
    after_upload = len(runs)

    visits = [text_of(client.get(link)) for _ in range(3)]  # the next day, and again
    row = clerk_row(client, district, "x-phuoc-son")

    ((_, found),) = app.check([path])
    errors = [p for p in found if p.severity == P.ERROR]
    assert len(errors) == 2
    for page in visits:
        assert SON_ERROR in page
        for p in errors:
            assert f"{p.sheet}!{p.cell} {p.message}" in page and p.unit_how_to_fix in page
        assert not [p.how_to_fix for p in errors if p.how_to_fix != p.unit_how_to_fix and p.how_to_fix in page]
        assert f"còn {row['errors']} lỗi" in page  # the clerk's table and the unit's page say the same
    assert row["errors"] == "2" and row["state"] == "Đã báo cáo"
    assert len(runs) == after_upload  # once per change of the inbox, not once per visit
    shutil.copy(district.own_file("x-phuoc-an"), district.inbox / "Phuoc An qua thu.xlsx")
    client.get(link)
    assert len(runs) == after_upload + 1


def test_a_file_that_reached_the_inbox_another_way_shows_as_received_by_the_district(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    emailed = district.inbox / "email" / "Phuoc Son gui qua thu.xlsx"  # the clerk saved the attachment
    emailed.parent.mkdir()
    shutil.copy(district.own_file("x-phuoc-son"), emailed)
    when = time.strftime("%H:%M %d/%m/%Y", time.localtime(emailed.stat().st_mtime))

    answer = client.get(link)
    page = text_of(answer)

    assert f"Huyện đã nhận tệp “email/Phuoc Son gui qua thu.xlsx” lúc {when}" in page
    assert SON_ERROR in page and "còn 1 lỗi" in page
    assert status_box(answer) == "bad"
    assert clerk_row(client, district, "x-phuoc-son")["errors"] == "1"

    # the clerk fixes the figure in that file with Excel: the unit's page follows, green
    set_cells(emailed, "Biểu mẫu 1", {"C7": 6})
    answer = client.get(link)
    assert "Huyện đã nhận tệp “email/Phuoc Son gui qua thu.xlsx”" in text_of(answer)
    assert SON_ERROR not in text_of(answer) and status_box(answer) == "ok"
    assert clerk_row(client, district, "x-phuoc-son")["errors"] == "0"


# c) re-sending through the page replaces the earlier uploads quietly --------------------------------


def test_a_resent_upload_replaces_the_earlier_ones_quietly_with_one_line_for_the_clerk(district, tmp_path):
    client, link, path = client_of(district), district.links()["x-phuoc-son"], district.own_file("x-phuoc-son")
    for total in (7, 8, 6):  # two wrong, then right
        set_cells(path, "Biểu mẫu 1", {"C7": total})
        upload(client, link, path.read_bytes(), "Báo cáo Phước Sơn.xlsx")
    first, second, third = sorted(district.inbox.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    place = district.opened.place

    result = app.run(district.inbox, place.registry, place.settings)
    paths = write_outputs(result, tmp_path / "ket-qua")

    assert result.status["x-phuoc-son"].file == third.name
    mine = [p for p in result.problems if p.unit == "Xã Phước Sơn" or p.file in (first.name, second.name)]
    assert [(p.code, p.severity) for p in mine] == [("uploads-replaced", P.INFO)]
    assert "bỏ 2 bản gửi trước" in mine[0].message
    assert not [f for f in paths.feedback if f.name in (first.name, second.name)]
    fates = {o.name: o.fate for o in origins(result)}
    assert fates[first.name] == fates[second.name] == SUPERSEDED
    assert violations(result) == []
    assert "bỏ 2 bản gửi trước" in clerk_row(client, district, "x-phuoc-son")["note"]


def test_a_file_from_elsewhere_beside_an_upload_is_still_told_to_the_clerk(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    emailed = district.inbox / "Phuoc Son qua thu.xlsx"
    shutil.copy(district.own_file("x-phuoc-son"), emailed)
    os.utime(emailed, (time.time() - 3600, time.time() - 3600))
    set_cells(district.own_file("x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    place = district.opened.place

    result = app.run(district.inbox, place.registry, place.settings)

    assert [p.code for p in result.problems if p.file == emailed.name] == ["superseded"]


# d) after an upload, the browser is sent to the unit's page ----------------------------------------


def test_after_an_upload_the_browser_is_sent_back_to_the_page_and_reloading_sends_nothing(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]

    answer = post(client, link, district.own_file("x-phuoc-son").read_bytes(), "Báo cáo Phước Sơn.xlsx")

    assert answer.status_code == 303
    target = urllib.parse.urlsplit(answer.headers["Location"])
    (saved,) = district.inbox.iterdir()
    assert target.path == link
    assert urllib.parse.parse_qs(target.query) == {"da-gui": [saved.name]}  # the saved name only, nothing secret
    for _ in range(2):  # the unit presses reload
        shown = client.get(f"{target.path}?{target.query}")
        page = text_of(shown)
        assert shown.status_code == 200
        assert "Kết quả kiểm tra tệp “Báo cáo Phước Sơn.xlsx”" in page and "có 1 lỗi" in page
        assert SON_ERROR in page and "sửa Tổng số thành 6" in page
        assert status_box(shown) == "bad"
    assert [p.name for p in district.inbox.iterdir()] == [saved.name]

    set_cells(district.own_file("x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})
    fixed = post(client, link, district.own_file("x-phuoc-son").read_bytes(), "Báo cáo Phước Sơn (sửa).xlsx")
    shown = client.get(fixed.headers["Location"])
    assert "báo cáo hợp lệ, không có lỗi" in text_of(shown)
    assert SON_ERROR not in text_of(shown) and status_box(shown) == "ok"


def test_the_result_flag_of_another_units_upload_shows_nothing(district):
    client, links = client_of(district), district.links()
    answer = post(client, links["x-phuoc-son"], district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    query = urllib.parse.urlsplit(answer.headers["Location"]).query

    other = text_of(client.get(f"{links['x-phuoc-an']}?{query}"))

    assert "Kết quả kiểm tra" not in other and "Chưa gửi báo cáo nào." in other


# e) the province's feedback copy to a district names the commune ---------------------------------


@pytest.fixture
def district_workbook_in_province_inbox(tmp_path: Path) -> Path:
    """Tuy Phước's merged workbook (Phước Sơn's Tổng số still wrong) in the province's inbox."""
    result = app.run(make_sample_inbox(tmp_path / "tp")[0].parent)
    write_outputs(result, tmp_path / "tp-out")
    inbox = tmp_path / "tinh-nhan"
    inbox.mkdir()
    shutil.copy(tmp_path / "tp-out" / "tong-hop-tuy-phuoc.xlsx", inbox)
    return inbox


@pytest.mark.parametrize("way", ["patched", "openpyxl"])
def test_the_feedback_copy_to_a_district_names_the_commune_that_must_fix_it(district_workbook_in_province_inbox,
                                                                          tmp_path, monkeypatch, way):
    if way == "openpyxl":  # the second way a copy is made: the package rebuilt with openpyxl
        from consolidate.write.feedback import patched  # only this case replaces the patcher

        def unsupported(*args):
            raise ValueError("a package the patcher does not understand")

        monkeypatch.setattr(patched, "_patched_copy", unsupported)
    result = app.run(district_workbook_in_province_inbox, province())
    (wrong,) = [p for p in result.problems if p.code == "total-mismatch"]
    paths = write_outputs(result, tmp_path / "tinh-out")

    copy = openpyxl.load_workbook(next(p for p in paths.feedback if p.name == "tong-hop-tuy-phuoc.xlsx"))
    rows = [[c.value for c in r] for r in copy["Phản hồi"].iter_rows()]
    (row,) = [r for r in rows if r[2] == wrong.cell]
    message, fix = row[5], row[6]
    comment = copy["Biểu mẫu 1"][wrong.cell].comment.text

    assert rows[1][0] == "Đơn vị: Huyện Tuy Phước (báo cáo tổng hợp của 14 đơn vị)"
    assert wrong.unit == "Xã Phước Sơn"
    assert message == "Xã Phước Sơn: Tổng số 7 ≠ 6 + 0 + 0 (= 6)."
    assert "đề nghị Xã Phước Sơn sửa và gửi lại" in fix
    assert "sửa Tổng số thành 6" not in fix and "sửa Tổng số thành 6" not in comment
    assert "Xã Phước Sơn: Tổng số 7 ≠ 6 + 0 + 0 (= 6)." in comment and "đề nghị Xã Phước Sơn sửa và gửi lại" in comment
    upstream = next(r for r in rows if r[3] == P.UpstreamErrors.title)  # the district's own problem: its own fix
    assert upstream[6] == next(p for p in result.problems if p.code == "upstream-errors").unit_how_to_fix


def test_a_communes_feedback_copy_still_tells_it_the_fix_in_its_own_cells(tmp_path):
    result = app.run(make_sample_inbox(tmp_path / "tp")[0].parent)
    paths = write_outputs(result, tmp_path / "out")
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(paths.feedback[0])["Phản hồi"].iter_rows()]
    (row,) = [r for r in rows if r[2] == "C7"]
    assert row[5] == "Tổng số 7 ≠ 6 + 0 + 0 (= 6)." and "sửa Tổng số thành 6" in row[6]



# In a real browser, on a phone -------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
RED, GREEN = "rgb(253, 232, 234)", "rgb(230, 244, 231)"  # the status box: .notice.bad, .notice.ok


def keep_screenshot(path: Path) -> None:
    folder = os.environ.get("CONSOLIDATE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_on_a_phone_the_problems_come_before_the_form_and_the_box_turns_green_once_fixed(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    from serving import http_upload, real_server  # the real server's helpers: only this test needs them

    district = open_district(tmp_path)
    links, son = district.links(), district.own_file("x-phuoc-son")
    with real_server(district) as base, sync_api.sync_playwright() as pw:
        for code in ("cap-huyen", "x-phuoc-an", "x-phuoc-son"):  # Phước Sơn sent its file yesterday, 7 ≠ 6 + 0 + 0
            assert http_upload(base + links[code], district.own_file(code).read_bytes(), f"{code}.xlsx")[0] == 200
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="vi-VN", device_scale_factor=2)
            desk = browser.new_page(viewport={"width": 1000, "height": 800}, locale="vi-VN")
            for page in (phone, desk):  # today it opens its link again
                page.goto(base + links["x-phuoc-son"])
            shots = {"dien-thoai-con-loi": phone, "may-tinh-con-loi": desk}

            errors = phone.locator("#danh-sach-loi tr.problem.error")
            assert "Biểu mẫu 1!C7" in errors.first.inner_text() and "sửa Tổng số thành 6" in errors.first.inner_text()
            assert phone.locator("#danh-sach-loi").bounding_box()["y"] < phone.locator("#form-gui").bounding_box()["y"]
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing to scroll sideways
            box = phone.locator("#tinh-trang .notice")
            assert box.evaluate("e => getComputedStyle(e).backgroundColor") == RED
            for name, page in shots.items():
                page.screenshot(path=str(tmp_path / f"trang-don-vi-{name}.png"), full_page=True)

            set_cells(son, "Biểu mẫu 1", {"C7": 6})  # fixed, and sent again from the phone
            phone.set_input_files("#tep", str(son))
            phone.click("#nut-gui")
            phone.wait_for_url("**da-gui=*")
            phone.reload()  # sends nothing again: the page was reached by a GET
            desk.reload()

            assert box.evaluate("e => getComputedStyle(e).backgroundColor") == GREEN
            assert phone.locator("#danh-sach-loi tr.problem.error").count() == 0
            assert len([p for p in district.inbox.iterdir() if p.name.startswith("x-phuoc-son-")]) == 2
            shots = {"dien-thoai-da-sua": phone, "may-tinh-da-sua": desk}
            for name, page in shots.items():
                page.screenshot(path=str(tmp_path / f"trang-don-vi-{name}.png"), full_page=True)
        finally:
            browser.close()
    for shot in tmp_path.glob("trang-don-vi-*.png"):
        keep_screenshot(shot)


def test_every_page_names_the_district_that_asks_for_the_report(district):
    """The heading of the unit's and the clerk's page: "của UBND huyện Tuy Phước", as the printed forms say
    (issue 22 §1), not "của UBND huyện (huyện Tuy Phước)"."""
    client = client_of(district)
    for page in (client.get(district.links()["x-phuoc-son"]), client.get(district.clerk)):
        heading = re.search(r"<header>.*?</header>", page.get_data(as_text=True), re.S)[0]
        assert "của UBND huyện Tuy Phước</p>" in heading and "(huyện Tuy Phước)" not in heading, heading
