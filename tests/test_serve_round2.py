"""`consolidate serve` as the clerk really starts and uses it (issue 21, items 1–3): relative folders from the
folder the clerk is in, real-sized reports through a real server, and a flood of half-open connections that
must not keep the other units out."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import run_cli
from consolidate.web.links import LINKS_NAME
from consolidate.write.sample import make_sample_inbox
from serving import (free_port, http_get, http_request, http_upload, open_district, real_server, report_of_size,
                     serve_process)

MB = 1024 * 1024
LIMIT = 10 * MB  # the sample settings' upload_limit_mb


# 1. Relative folders -----------------------------------------------------------------------------------


def test_serve_started_from_the_clerks_folder_with_relative_paths_serves_every_download(tmp_path):
    """The clerk opens a terminal in the district's folder and types the README's command, with relative
    --out, --units and --config; the unit downloads its feedback copy, the clerk every output."""
    district = tmp_path / "huyen-tuy-phuoc"
    make_sample_inbox(district / "may-cac-xa")  # the communes' own files, as they sit on their PCs
    (district / "inbox").mkdir()
    assert run_cli("init", district / "cau-hinh").exit_code == 0
    port = free_port()

    with serve_process(district, "inbox", "--out", "outbox", "--units", "cau-hinh/don-vi.csv",
                       "--config", "cau-hinh/cau-hinh.toml", port=port) as serving:
        rows = csv.DictReader(io.StringIO((district / "outbox" / LINKS_NAME).read_text(encoding="utf-8-sig")))
        son = next(row["url"] for row in rows if row["code"] == "x-phuoc-son")
        own = (district / "may-cac-xa" / "bao-cao-x-phuoc-son.xlsx").read_bytes()
        status, page = http_upload(son, own, "Báo cáo Phước Sơn.xlsx")
        assert status == 200 and "1 lỗi</strong>" in page
        feedback = re.search(r'id="tai-phan-hoi" href="([^"]+)"', page)[1]
        status, copy = http_get(serving.clerk.split("/van-thu/")[0] + feedback)
        assert status == 200
        assert "Tổng số 7 ≠ 6 + 0 + 0" in openpyxl.load_workbook(io.BytesIO(copy))["Biểu mẫu 1"]["C7"].comment.text

        status, clerk_page = http_get(serving.clerk)
        token = re.search(r'name="ma_xac_nhan" value="([^"]+)"', clerk_page.decode("utf-8"))[1]
        status, _ = http_request("POST", f"{serving.clerk}/tong-hop", f"ma_xac_nhan={token}".encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"}, 60)
        assert status == 303
        for _ in range(240):  # the run takes seconds; the page says when it is done
            if "Đã tổng hợp xong lúc" in http_get(serving.clerk)[1].decode("utf-8"):
                break
            time.sleep(0.5)
        downloads = {kind: http_get(f"{serving.clerk}/tai/{kind}") for kind in ("workbook", "log", "html", "feedback")}
        printed = serving.stop()

    assert {kind: status for kind, (status, _) in downloads.items()} == {k: 200 for k in downloads}
    book = openpyxl.load_workbook(io.BytesIO(downloads["workbook"][1]))
    status_sheet = {row[1]: row[2] for row in book["Tình trạng nộp"].iter_rows(min_row=2, values_only=True) if row[1]}
    assert status_sheet["Xã Phước Sơn"] == "Đã báo cáo"
    assert "Tổng số 7 ≠ 6 + 0 + 0" in downloads["log"][1].decode("utf-8-sig")
    assert "Xã Phước Sơn" in downloads["html"][1].decode("utf-8")
    with zipfile.ZipFile(io.BytesIO(downloads["feedback"][1])) as zf:
        assert [n for n in zf.namelist() if n.startswith("x-phuoc-son-")]
    assert "Traceback" not in printed
    assert not (Path(__file__).parent.parent / "consolidate" / "web" / "outbox").exists()


# 2. Real-sized reports -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_district(tmp_path_factory):
    return open_district(tmp_path_factory.mktemp("huyen"))


@pytest.mark.parametrize("size", [100_000, 1_000_000, 9_000_000, LIMIT], ids=["100KB", "1MB", "9MB", "10MB-exactly"])
def test_a_real_sized_report_up_to_the_limit_is_received_through_a_real_server(big_district, size):
    """Phước An's report with a sheet of notes beside the template (a real report grows so: notes, pasted
    tables), sent from its page over HTTP: received, saved byte for byte, its feedback copy made."""
    district = big_district
    data = report_of_size(district.own_file("x-phuoc-an"), size, seed=size)
    before = set(district.inbox.iterdir())

    with real_server(district) as base:
        status, page = http_upload(base + district.links()["x-phuoc-an"], data, "Báo cáo Phước An.xlsx")

    assert status == 200, re.sub(r"<[^>]+>", " ", page)[-600:]
    assert "Đã tiếp nhận" in page and "không có lỗi" in page
    (saved,) = set(district.inbox.iterdir()) - before
    assert saved.read_bytes() == data


def test_a_report_one_byte_over_the_limit_is_refused_in_vietnamese_with_nothing_saved(big_district):
    district = big_district
    data = report_of_size(district.own_file("x-phuoc-an"), LIMIT + 1, seed=1)
    before = set(district.inbox.iterdir())

    with real_server(district) as base:
        status, page = http_upload(base + district.links()["x-phuoc-an"], data, "Báo cáo Phước An.xlsx")

    assert status == 413
    assert "Tệp gửi lên lớn hơn giới hạn 10 MB; chưa lưu gì." in page
    assert set(district.inbox.iterdir()) == before
