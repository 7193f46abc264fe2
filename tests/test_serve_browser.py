"""The one real-browser test of `consolidate serve` (issue 16, steps 1–6): Playwright driving the system Chromium.

Nothing downloads a browser: Playwright's package only, launched on /usr/bin/chromium (.ci/run installs it
with apt). The two screenshots of the README (the unit's page, the clerk's page) are taken here; with
CONSOLIDATE_SCREENSHOTS=<folder> they are also copied there (docs/images/ for the README).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import openpyxl
import pytest

from conftest import set_cells
from serving import http_upload, open_district, real_server

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="no system Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does)")


def keep_screenshot(path: Path) -> None:
    folder = os.environ.get("CONSOLIDATE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


def test_a_commune_fixes_its_report_in_the_browser_and_the_clerk_sees_it_reported(tmp_path):
    district = open_district(tmp_path)
    links = district.links()
    son = district.own_file("x-phuoc-son")  # the seed's real error: Tổng số 7 ≠ 6 + 0 + 0
    with real_server(district) as base, sync_api.sync_playwright() as pw:
        # Other communes have already sent theirs (one with an error), so the clerk's page looks like a real day
        for code in ("cap-huyen", "tt-dieu-tri", "x-phuoc-an", "x-phuoc-hoa", "x-phuoc-loc"):
            if code == "x-phuoc-hoa":
                set_cells(district.own_file(code), "Biểu mẫu 1", {"C7": 9})
            assert http_upload(base + links[code], district.own_file(code).read_bytes(), f"{code}.xlsx")[0] == 200
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800}, accept_downloads=True, locale="vi-VN")

            # 1. The unit opens its link
            page.goto(base + links["x-phuoc-son"])
            assert page.locator("h1").inner_text() == "Xã Phước Sơn"
            assert "Chưa gửi báo cáo nào." in page.locator("#tinh-trang").inner_text()

            # 2. It uploads its file, which has an error
            page.set_input_files("#tep", str(son))
            page.click("#nut-gui")
            page.wait_for_selector("#ket-qua")

            # 3. It sees the cell and the fix
            row = page.locator("#danh-sach-loi tr.problem").first.inner_text()
            assert "Biểu mẫu 1!C7" in row and "Tổng số 7 ≠ 6 + 0 + 0 (= 6)." in row
            assert "sửa Tổng số thành 6" in row
            unit_shot = tmp_path / "trang-don-vi.png"
            page.screenshot(path=str(unit_shot), full_page=True)
            keep_screenshot(unit_shot)

            # 4. It downloads the feedback copy: the comment is on the cell
            with page.expect_download() as download:
                page.click("#tai-phan-hoi")
            copy = tmp_path / "phan-hoi.xlsx"
            download.value.save_as(copy)
            comment = openpyxl.load_workbook(copy)["Biểu mẫu 1"]["C7"].comment
            assert comment is not None and "Tổng số 7 ≠ 6 + 0 + 0" in comment.text

            # 5. It fixes the file and uploads it again
            set_cells(son, "Biểu mẫu 1", {"C7": 6})
            page.set_input_files("#tep", str(son))
            page.click("#nut-gui")
            page.wait_for_selector("#ket-qua")
            assert "không có lỗi" in page.locator("#ket-qua").inner_text()  # a figure unusual among the communes may warn

            # 6. The clerk's page shows the unit as reported, without errors; the clerk runs the job
            clerk = browser.new_page(viewport={"width": 1200, "height": 900}, locale="vi-VN")
            clerk.goto(base + district.clerk)
            son_row = clerk.locator('tr[data-unit="x-phuoc-son"]')
            assert son_row.locator(".state").inner_text() == "Đã báo cáo"
            assert son_row.locator(".errors").inner_text() == "0"
            assert clerk.locator('tr[data-unit="x-phuoc-hoa"] .errors').inner_text() == "1"
            assert clerk.locator('tr[data-unit="x-phuoc-hiep"] .state').inner_text() == "Chưa báo cáo"
            clerk.click("#nut-tong-hop")
            deadline = time.monotonic() + 120
            while "Đã tổng hợp xong" not in clerk.locator("#tong-hop").inner_text() and time.monotonic() < deadline:
                time.sleep(0.5)
                clerk.reload()
            assert "Bảng tổng hợp (Excel)" in clerk.locator("#ket-qua").inner_text()
            assert "Xã Phước Sơn" in clerk.locator("#da-gui-lai").inner_text()
            clerk_shot = tmp_path / "trang-van-thu.png"
            clerk.screenshot(path=str(clerk_shot), full_page=True)
            keep_screenshot(clerk_shot)
        finally:
            browser.close()


def test_the_pages_own_style_and_script_run_under_its_content_security_policy(tmp_path):
    """The policy forbids every inline style and script but the page's own (its nonce): a real browser still
    styles the page, and its script still stops a file over the limit before it is sent."""
    district = open_district(tmp_path)
    big = tmp_path / "qua-lon.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\0" * (11 << 20))
    with real_server(district) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            refused = []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(base + district.links()["x-phuoc-son"])

            background = page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
            page.set_input_files("#tep", str(big))
            page.click("#nut-gui")
            page.wait_for_selector("#qua-lon:not([hidden])", timeout=5000)
        finally:
            browser.close()

    assert background == "rgb(31, 78, 121)"
    assert refused == []
    assert list(district.inbox.iterdir()) == []
