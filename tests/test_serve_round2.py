"""`consolidate serve` as the clerk really starts and uses it (issue 21, items 1–3): relative folders from the
folder the clerk is in, real-sized reports through a real server, and a flood of half-open connections that
must not keep the other units out."""

from __future__ import annotations

import csv
import io
import logging
import re
import select
import socket
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import run_cli
from consolidate.web.connections import Limits
from consolidate.web.links import LINKS_NAME
from consolidate.web.server import WaitressInVietnamese
from consolidate.write.sample import make_sample_inbox
from serving import (free_port, http_get, http_request, http_upload, multipart, open_district, real_server,
                     report_of_size, serve_process)

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

    with serve_process(district, "inbox", "--out", "outbox", "--units", "cau-hinh/don-vi.xlsx",
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


# 3. Half-open connections ----------------------------------------------------------------------------

FLOOD = 120


def half_open(port: int, n: int, source: str = "127.0.0.1") -> list[socket.socket]:
    """``n`` connections from ``source`` that each send half a request and then nothing."""
    held = []
    for _ in range(n):
        sock = socket.socket()
        sock.settimeout(10)
        sock.bind((source, 0))
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET /don-vi/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: half")
        except OSError:  # refused at once by a server that bounds them: fine
            pass
        held.append(sock)
    return held


def closed_by_server(socks: list[socket.socket], enough: int, wait: float) -> dict[socket.socket, bytes]:
    """The sockets the server has answered and closed, with what it sent: once ``enough`` are, or after
    ``wait`` seconds."""
    answers: dict[socket.socket, bytes] = {s: b"" for s in socks}
    closed: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + wait
    while len(closed) < enough and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.5)
        for sock in ready:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if chunk:
                answers[sock] += chunk
            else:
                closed[sock] = answers[sock]
    return closed


def loggers_enabled(monkeypatch) -> None:
    """lint-imports, run in-process by test_architecture, configures logging and so disables every logger that
    existed then (the server's own and waitress's) in whichever test worker ran it: enabled again, as in `serve`."""
    for name in ("waitress", "consolidate.web"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)


def test_a_machine_holding_many_half_sent_requests_keeps_no_other_unit_waiting(tmp_path, caplog, monkeypatch):
    district = open_district(tmp_path)
    link = district.links()["x-phuoc-son"]
    loggers_enabled(monkeypatch)
    limits = Limits()

    with real_server(district) as base, caplog.at_level(logging.WARNING):
        port = int(base.rsplit(":", 1)[1])
        flood = half_open(port, FLOOD)
        try:
            refused = closed_by_server(flood, FLOOD - limits.per_address, wait=20)  # the server turns away what is over the limit at once
            status, page = http_get(base + link, timeout=20, source="127.0.0.2")  # another commune's PC
            status_again, _ = http_get(base + link, timeout=20, source="127.0.0.3")
        finally:
            for sock in flood:
                sock.close()

    assert status == 200 and "Xã Phước Sơn" in page.decode("utf-8")
    assert status_again == 200
    assert len(refused) >= FLOOD - limits.per_address  # the flooding machine holds at most its share
    answers = [a for a in refused.values() if a]  # (a refused one whose half request came late may see a reset)
    assert answers and all(a.startswith(b"HTTP/1.1 503") for a in answers), answers[:1]
    assert "Máy này đang mở quá nhiều kết nối tới máy chủ" in answers[0].decode("utf-8")
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Máy 127.0.0.1 đang mở 20 kết nối cùng lúc (tối đa 20)") for m in said), said
    assert sum("127.0.0.1" in m for m in said) == 1  # one line for the flood, not one per connection
    assert not [m for m in said if m.isascii()]  # nothing in English (waitress's own warnings included)


def closed_while_trickling(sock: socket.socket, data: bytes, every: float) -> bool:
    """``data`` sent a byte at a time, one each ``every`` seconds: whether the server closed the connection
    before the last byte."""
    for byte in data:
        ready, _, _ = select.select([sock], [], [], every)
        if ready:
            try:
                if not sock.recv(65536):
                    return True
            except OSError:
                return True
        try:
            sock.send(bytes([byte]))
        except OSError:
            return True
    return False


def test_a_request_sent_too_slowly_or_left_unfinished_is_closed_and_a_slow_upload_is_not(tmp_path, caplog,
                                                                                            monkeypatch):
    loggers_enabled(monkeypatch)
    """One machine trickles its request's headers a byte at a time, another sends half a request and stops;
    a commune on a slow line sends its report's body with pauses. The first two are closed, the report lands."""
    district = open_district(tmp_path)
    link = district.links()["x-phuoc-an"]
    limits = Limits(header_deadline=1, idle=3, cleanup_every=1)  # the same bounds, on a test's time scale
    headers = f"GET {link} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {'chậm' * 40}\r\n\r\n".encode()

    with real_server(district, limits=limits) as base, caplog.at_level(logging.WARNING):
        port = int(base.rsplit(":", 1)[1])
        (silent,) = half_open(port, 1, source="127.0.0.5")
        trickler = socket.create_connection(("127.0.0.1", port), 10, source_address=("127.0.0.4", 0))
        try:
            trickled_out = closed_while_trickling(trickler, headers, every=0.1)  # ~25 s for the whole request
            silent_out = closed_by_server([silent], 1, wait=30)
        finally:
            trickler.close()
            silent.close()
        status, page = http_get(base + link, timeout=20, source="127.0.0.6")
        token = re.search(r'name="ma_xac_nhan" value="([^"]+)"', page.decode("utf-8"))[1]
        body, content_type = multipart({"ma_xac_nhan": token}, "tep", "an.xlsx",
                                       district.own_file("x-phuoc-an").read_bytes())

        def slow_line():  # the body in four parts, each pause longer than the headers may take
            for i in range(4):
                yield body[i * len(body) // 4:(i + 1) * len(body) // 4]
                time.sleep(1.5)

        uploaded, answer = http_request("POST", base + link, slow_line(),
                                        {"Content-Type": content_type, "Content-Length": str(len(body))}, 60,
                                        source="127.0.0.7")

    assert trickled_out
    assert silent_out
    assert uploaded == 303 and any(p.name.startswith("x-phuoc-an-") for p in district.inbox.iterdir())  # saved: to its page
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Đã đóng kết nối của máy 127.0.0.4: yêu cầu gửi quá chậm") for m in said), said
    assert not [m for m in said if m.isascii()]


@pytest.mark.parametrize("message, args, level", [
    ("Exception while serving /don-vi/AbCdEf0123456789", (), logging.ERROR),
    ("Socket error", (), logging.ERROR),
    ("Exception when servicing %r", ("<task>",), logging.ERROR),
    ("Canceling %d pending task(s)", (3,), logging.WARNING),
    ("Application is not a callable", (), logging.WARNING),  # anything waitress may add one day
])
def test_no_english_line_or_traceback_of_waitress_reaches_the_clerks_terminal(message, args, level):
    """Issue 21 item 18 for `serve`: what waitress logs with a traceback or a path (a link's token) is one
    Vietnamese line."""
    record = logging.LogRecord("waitress", level, "channel.py", 1, message, args, None)
    try:
        raise OSError(104, "Connection reset by peer")
    except OSError:
        record.exc_info = sys.exc_info()
    assert WaitressInVietnamese().filter(record)
    said = record.getMessage()
    assert record.exc_info is None and "don-vi" not in said and message.split(" %")[0] not in said
    assert re.search("[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]", said), said
