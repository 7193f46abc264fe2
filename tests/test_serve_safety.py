"""`consolidate serve` reviewed as an attacker on the office network and as a clerk on Windows would use it:
headers on every answer, Vietnamese refusals for every error, hostile files and full disks refused with
nothing saved, the state shared safely with `consolidate links` in another process."""

from __future__ import annotations

import dataclasses
import errno
import importlib.util
import io
import os
import re
import threading
import time
import zipfile

import openpyxl
import pytest

from consolidate import app
from consolidate.web import state as state_module
from consolidate.web.privacy import redact
from consolidate.web.state import STATE_NAME, ServerState, StateError
from consolidate.write.files import OutputError
from consolidate.core.formats import ENCRYPTED_STREAM, OLE2_MAGIC
from consolidate.settings.units import load_registry
from consolidate.web.pages import create_app
from consolidate.web.server import open_inbox
from serving import client_of, form_token, open_district, text_of, upload


@pytest.fixture
def district(tmp_path):
    return open_district(tmp_path)


def test_every_answer_is_uncached_unframed_without_referer_and_runs_only_its_own_inline_code(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    (saved,) = district.inbox.iterdir()

    page = client.get(link)
    answers = {"unit": page, "clerk": client.get(district.clerk), "missing": client.get(link + "x"),
               "copy": client.get(f"{link}/phan-hoi/{saved.name}")}

    for what, answer in answers.items():
        assert answer.headers["Cache-Control"] == "no-store", what  # send_file's own "no-cache" stores the file
        assert answer.headers["Referrer-Policy"] == "no-referrer", what
        assert answer.headers["X-Frame-Options"] == "DENY", what
        assert answer.headers["X-Content-Type-Options"] == "nosniff", what
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], what
    policy = page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)[1]
    html = page.get_data(as_text=True)
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert f'<style nonce="{nonce}">' in html and f'<script nonce="{nonce}">' in html
    assert nonce not in client.get(link).headers["Content-Security-Policy"]  # a new one each time
    assert "sandbox" in answers["copy"].headers["Content-Security-Policy"]


def test_the_clerks_html_outputs_open_sandboxed(district):
    client = client_of(district)
    token = form_token(client.get(district.clerk).get_data(as_text=True))
    client.post(f"{district.clerk}/tong-hop", data={"ma_xac_nhan": token})
    client.application.extensions["consolidate"]["consolidation"].wait(120)

    shown = client.get(f"{district.clerk}/tai/html")

    assert shown.status_code == 200 and shown.mimetype == "text/html"
    assert "sandbox" in shown.headers["Content-Security-Policy"]  # its data cannot script the clerk's token
    assert shown.headers["Cache-Control"] == "no-store"


def test_a_wrong_method_and_a_failing_page_answer_in_vietnamese(district, monkeypatch):
    client, link = client_of(district), district.links()["x-phuoc-son"]

    wrong_method = client.get(f"{district.clerk}/tong-hop")
    monkeypatch.setattr("consolidate.web.pages.receive", lambda *a, **k: 1 / 0)
    failing = upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")

    assert wrong_method.status_code == 405
    assert "Trang này không nhận thao tác đó; chưa làm gì." in text_of(wrong_method)
    assert failing.status_code == 500
    assert "Máy chủ gặp lỗi khi xử lý yêu cầu này" in text_of(failing)
    for answer in (wrong_method, failing):
        assert "Method Not Allowed" not in text_of(answer) and "Internal Server Error" not in text_of(answer)
        assert answer.headers["Cache-Control"] == "no-store"


def test_a_malformed_form_is_a_vietnamese_400(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]

    answer = client.post(link, data=b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x")

    assert answer.status_code in (400, 403)
    assert "Bad Request" not in text_of(answer)
    assert "chưa lưu gì" in text_of(answer)
    assert list(district.inbox.iterdir()) == []


def test_the_busy_notice_goes_once_the_run_is_over(district):
    client = client_of(district)
    token = form_token(client.get(district.clerk).get_data(as_text=True))
    client.post(f"{district.clerk}/tong-hop", data={"ma_xac_nhan": token})
    client.application.extensions["consolidate"]["consolidation"].wait(120)

    again = text_of(client.get(f"{district.clerk}?bat-dau=0"))  # the page's own refresh keeps the query

    assert "Đã tổng hợp xong lúc" in again
    assert "Đang có một lần tổng hợp chạy" not in again


def zip_of(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def changed(report: bytes, part: str, change) -> bytes:
    """The report's workbook with one part of its package changed."""
    with zipfile.ZipFile(io.BytesIO(report)) as zf:
        return zip_of({n: change(zf.read(n)) if n == part else zf.read(n) for n in zf.namelist()})


LAUGHS = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'


@pytest.mark.parametrize("hostile, said", [
    ("bomb", "tệp nén bất thường (giải nén ra dung lượng rất lớn)"),
    ("entities", "khai báo XML nguy hiểm"),
    ("broken sheet", "Không mở được tệp như một bảng tính"),
    ("truncated", "tệp nén bị hỏng hoặc không trọn vẹn"),
    ("no form 1", "Không tìm thấy Biểu mẫu 1 trong tệp"),
    ("password", "Tệp được đặt mật khẩu nên không đọc được. Gỡ mật khẩu của tệp"),
    ("empty", "tệp rỗng, 0 byte"),
])
def test_a_hostile_or_broken_workbook_is_refused_for_what_it_is_with_nothing_saved(district, hostile, said):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    report = district.own_file("x-phuoc-son").read_bytes()
    sheet = "xl/worksheets/sheet1.xml"
    data = {
        "bomb": lambda: changed(report, sheet, lambda b: b.replace(b"</sheetData>", b"<!--" + b" " * (300 << 20) + b"--></sheetData>")),
        "entities": lambda: changed(report, sheet, lambda b: LAUGHS + b.split(b"?>", 1)[1]),
        "broken sheet": lambda: changed(report, sheet, lambda b: b[: len(b) // 2]),
        "truncated": lambda: report[: len(report) // 2],
        "no form 1": lambda: blank_workbook(),
        "password": lambda: OLE2_MAGIC + bytes(500) + ENCRYPTED_STREAM + bytes(100),
        "empty": lambda: b"",
    }[hostile]()

    answer = upload(client, link, data, "bao-cao.xlsx")

    page = text_of(answer)
    assert answer.status_code == 422
    assert "Không nhận tệp." in page and said in page.split("Không nhận tệp.")[1].split("Gửi báo cáo")[0]
    assert "đơn vị không có trong danh sách" not in page  # not "another unit": the file could not be read
    assert "corrupt" not in page
    assert list(district.inbox.iterdir()) == [] and district.opened.place.state.uploads("x-phuoc-son") == []


def blank_workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "Sổ tay"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("sent, shown", [
    ("Ba\u0301o ca\u0301o.xlsx", "“Báo cáo.xlsx”"),  # a Mac's decomposed Vietnamese, shown composed (NFC)
    ("bao\x00cao.xlsx", "“baocao.xlsx”"),
    ("bao-cao-\u202exslx.exe", "“bao-cao-xslx.exe”"),  # a right-to-left override would show "exe.xlsx"
    ("x" * 5000 + ".xlsx", "“" + "x" * 119 + "…”"),
])
def test_the_browsers_file_name_is_shown_composed_without_control_characters_and_cut(district, sent, shown):
    client, link = client_of(district), district.links()["x-phuoc-an"]

    page = text_of(upload(client, link, district.own_file("x-phuoc-an").read_bytes(), sent))

    assert shown in page
    (entry,) = district.opened.place.state.uploads("x-phuoc-an")
    assert entry["browser_name"] == shown.strip("“”")


def test_no_file_chosen_says_so(district):
    client, link = client_of(district), district.links()["x-phuoc-an"]
    token = form_token(client.get(link).get_data(as_text=True))

    answer = client.post(link, data={"ma_xac_nhan": token}, content_type="multipart/form-data")

    assert answer.status_code == 400
    assert "Chưa chọn tệp nào để gửi; chưa lưu gì." in text_of(answer)


@pytest.mark.parametrize("failing", ["inbox", "state", "work folder"])
def test_an_inbox_that_cannot_be_written_is_a_vietnamese_refusal_with_nothing_saved(district, monkeypatch, failing):
    client, link = client_of(district), district.links()["x-phuoc-an"]

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Access is denied", str(district.inbox))

    target = {"inbox": "consolidate.web.uploads.os.replace", "state": "consolidate.web.state.write_atomically",
              "work folder": "consolidate.web.uploads.Path.mkdir"}[failing]
    token = form_token(client.get(link).get_data(as_text=True))
    monkeypatch.setattr(target, refuse)
    answer = upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx", token=token)
    monkeypatch.undo()

    page = text_of(answer)
    assert answer.status_code == 503
    assert "Máy chủ không lưu được tệp “an.xlsx” (thư mục trên máy chủ không cho ghi); chưa lưu gì." in page
    assert "báo cho văn thư" in page and str(district.inbox) not in page  # the server's paths stay on the server
    assert [p for p in district.inbox.iterdir()] == []
    assert district.opened.place.state.uploads("x-phuoc-an") == []


def _os_file_locks() -> bool:
    return any(importlib.util.find_spec(name) is not None for name in ("fcntl", "msvcrt"))


@pytest.mark.skipif(not _os_file_locks(), reason="this Python has neither fcntl nor msvcrt (the Windows-like simulation "
                    "removes fcntl and cannot add msvcrt, which real Windows has): no lock between processes to test")
def test_links_renew_in_another_process_and_an_upload_at_that_moment_both_stay(district, monkeypatch):
    """The server records an upload while `consolidate links --renew` (another process: another ServerState,
    its own thread lock) renews a link: neither write may undo the other."""
    server = district.opened.place.state
    other = ServerState(district.out)  # the `links` process
    old = server.unit_token("x-phuoc-son")
    real_write = state_module.write_atomically
    renewing: list[threading.Thread] = []

    def write_while_renewed(path, data):
        if not renewing:  # the server's write: `links --renew` runs between its read and its write
            renewing.append(threading.Thread(target=other.renew, args=("x-phuoc-son",)))
            renewing[0].start()
            renewing[0].join(1)  # with the OS lock it waits for this write; without, it is done by now
        real_write(path, data)

    monkeypatch.setattr(state_module, "write_atomically", write_while_renewed)
    server.add_upload("x-phuoc-an", {"file": "x-phuoc-an-1.xlsx", "at": "2026-12-05T03:15:00+00:00"})
    renewing[0].join(30)
    monkeypatch.undo()

    assert ServerState(district.out).unit_token("x-phuoc-son") not in ("", old)  # the renewal stayed
    assert server.unit_for(old) is None and server.unit_token("x-phuoc-son") == other.unit_token("x-phuoc-son")
    assert [e["file"] for e in ServerState(district.out).uploads("x-phuoc-an")] == ["x-phuoc-an-1.xlsx"]


def test_a_renewal_the_same_size_and_time_as_the_old_state_is_still_seen(district):
    server = district.opened.place.state
    old = server.unit_token("x-phuoc-son")
    path = district.out / STATE_NAME
    before = path.stat()

    ServerState(district.out).renew("x-phuoc-son")  # the same length of token: the same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # a coarse clock: the same time

    assert path.stat().st_size == before.st_size
    assert server.unit_for(old) is None


def test_a_damaged_state_file_says_what_to_do(district):
    (district.out / STATE_NAME).write_text('{"units": {"x-phuoc-son": "abc"', encoding="utf-8")

    with pytest.raises(StateError, match="bị hỏng hoặc đã bị sửa tay"):
        ServerState(district.out).unit_token("x-phuoc-son")


def test_a_unit_downloading_its_copy_again_and_again_does_not_grow_the_state(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    (saved,) = district.inbox.iterdir()
    size = (district.out / STATE_NAME).stat().st_size

    for _ in range(20):
        assert client.get(f"{link}/phan-hoi/{saved.name}").status_code == 200

    assert len(district.opened.place.state.downloads()["x-phuoc-son"]) == 1
    assert (district.out / STATE_NAME).stat().st_size < size + 200


@pytest.mark.parametrize("failure, said", [
    (PermissionError(13, "Access is denied", r"C:\bao-cao\ket-qua\tong-hop-huyen-tuy-phuoc.xlsx"),
     "không ghi được “tong-hop-huyen-tuy-phuoc.xlsx”: tệp đang mở trong chương trình khác (thường là Excel)"),
    (OutputError("Không thay được tệp kết quả “tong-hop.xlsx” vì tệp đang mở (thường là trong Excel)."),
     "Không thay được tệp kết quả “tong-hop.xlsx” vì tệp đang mở"),
    (RuntimeError("boom /don-vi/secret"), "lỗi của chương trình (mã RuntimeError)"),
])
def test_a_run_that_cannot_write_its_outputs_says_why_on_the_clerks_page(district, monkeypatch, failure, said):
    client = client_of(district)

    def locked(*args, **kwargs):
        raise failure

    monkeypatch.setattr(app, "write", locked)
    token = form_token(client.get(district.clerk).get_data(as_text=True))
    started = client.post(f"{district.clerk}/tong-hop", data={"ma_xac_nhan": token})
    client.application.extensions["consolidate"]["consolidation"].wait(120)
    page = client.get(district.clerk)

    assert started.status_code == 303 and page.status_code == 200
    assert "không xong: " in text_of(page) and said in text_of(page)
    assert "/don-vi/secret" not in text_of(page)
    if isinstance(failure, PermissionError):
        assert "\\" not in text_of(page).split("không xong: ")[1].split(".")[0]  # the name, not the server's path


@pytest.mark.parametrize("path", ["/don-vi//{t}", "//van-thu///{t}/tai/log", "/DON-VI/{t}"])
def test_a_token_in_an_odd_path_is_hidden_from_the_log_too(path):
    token = "Zk3_8qLw2mN0pQrStUvWxYz1234567890abcd"

    shown = redact(f"Exception while serving {path.format(t=token)}")

    assert token not in shown and "…" in shown


@pytest.mark.skipif(state_module.fcntl is None, reason="POSIX file locks (Windows: msvcrt)")
def test_a_share_without_file_locks_still_keeps_the_state(district, monkeypatch):
    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(state_module.fcntl, "flock", no_locks)
    began = time.monotonic()
    token = district.opened.place.state.renew("x-phuoc-son")

    assert time.monotonic() - began < 5
    assert ServerState(district.out).unit_token("x-phuoc-son") == token


def test_a_restart_clears_what_a_killed_server_left_half_done_and_nothing_else(district, tmp_path):
    inbox, out = district.inbox, district.out
    old_temp = inbox / ".x-phuoc-son-20261205T031500Z.xlsx.1a2b3c4d.tai-len"
    new_temp = inbox / ".x-phuoc-an-20261205T031501Z.xlsx.5e6f7a8b.tai-len"
    old_check = out / "may-chu" / "dang-kiem-tra" / "0123456789abcdef"
    report = inbox / "x-phuoc-son-20261205T031400Z.xlsx"
    for path in (old_temp, new_temp, old_check / "tep-gui-len", report):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PK")
    two_hours_ago = time.time() - 7200
    for path in (old_temp, old_check, report):
        os.utime(path, (two_hours_ago, two_hours_ago))

    open_district_again = open_inbox(inbox, out, district.opened.place.registry, district.opened.place.settings)

    assert open_district_again.links == out / "lien-ket-don-vi.csv"
    assert not old_temp.exists() and not old_check.exists()
    assert new_temp.exists() and report.exists()  # an upload still under way; a real report, however old


def test_a_copy_is_still_given_when_its_download_cannot_be_recorded(district, monkeypatch):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    (saved,) = district.inbox.iterdir()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(state_module, "write_atomically", full)
    copy = client.get(f"{link}/phan-hoi/{saved.name}")

    assert copy.status_code == 200 and copy.data.startswith(b"PK")


def test_an_upload_waits_out_a_moment_of_windows_holding_the_new_file(district, monkeypatch):
    client, link = client_of(district), district.links()["x-phuoc-an"]
    real_replace, refused = os.replace, []

    def scanned(source, target):
        if str(source).endswith(".tai-len") and len(refused) < 3:  # an antivirus reading the new file
            refused.append(source)
            raise PermissionError(13, "The process cannot access the file", str(source))
        real_replace(source, target)

    token = form_token(client.get(link).get_data(as_text=True))
    monkeypatch.setattr(os, "replace", scanned)
    answer = upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx", token=token)
    monkeypatch.undo()

    assert answer.status_code == 200 and len(refused) == 3
    (saved,) = district.inbox.iterdir()
    assert saved.read_bytes() == district.own_file("x-phuoc-an").read_bytes()


def test_the_link_of_a_unit_taken_off_the_units_table_is_a_404(district, tmp_path):
    link = district.links()["x-phuoc-son"]
    table = tmp_path / "don-vi.csv"
    kept = [u for u in district.opened.place.registry.units if u.code != "x-phuoc-son"]
    lines = ["code,name,level,parent"] + [f"{u.code},{u.name},{u.level},{u.parent or ''}" for u in kept]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    merged = load_registry(table)  # the commune merged into another one since the links were sent
    place = dataclasses.replace(district.opened.place, registry=merged)

    answer = create_app(place).test_client().get(link)

    assert answer.status_code == 404
    assert "Đường liên kết này không đúng" in text_of(answer)


def test_a_head_request_for_a_copy_is_not_counted_as_the_unit_downloading_it(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    (saved,) = district.inbox.iterdir()

    checked = client.head(f"{link}/phan-hoi/{saved.name}")

    assert checked.status_code == 200
    assert district.opened.place.state.downloads() == {}
