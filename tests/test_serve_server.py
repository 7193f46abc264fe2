"""`consolidate serve` behind a real waitress server on the loopback address: 200 communes at once, a body
too large for the limit, and a server killed after answering "received"."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consolidate import app
from consolidate.core.results import REPORTED
from consolidate.settings.units import load_registry
from consolidate.web.links import LINKS_NAME
from serving import http_upload, open_district, real_server

UNITS = 200
DEADLINE = 240  # seconds for all 200 uploads on a loaded 2-core machine; ~20 s measured


def units_table(path: Path, n: int) -> Path:
    """A district with ``n`` communes (Xã Thử Nghiệm 001 …), as the clerk's units table says."""
    lines = ["code,name,level,parent", "huyen-thu,Huyện Thử Nghiệm,huyện,"]
    lines += [f"xa-{i:03d},Xã Thử Nghiệm {i:03d},xã,huyen-thu" for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_200_communes_uploading_at_once_all_land_each_in_its_own_place(tmp_path):
    registry = load_registry(units_table(tmp_path / "don-vi.csv", UNITS))
    district = open_district(tmp_path, registry=registry)
    links = district.links()
    start = threading.Barrier(UNITS, timeout=60)

    def send(code: str) -> tuple[str, int, str]:
        data = district.own_file(code).read_bytes()
        commune_pc = f"127.0.1.{int(code.rsplit('-', 1)[1])}"  # each commune from its own PC (loopback 127/8)
        start.wait()  # all together
        status, page = http_upload(base + links[code], data, f"Báo cáo {code}.xlsx", source=commune_pc)
        return code, status, page

    began = time.monotonic()
    with real_server(district) as base, ThreadPoolExecutor(max_workers=UNITS) as pool:
        answers = list(pool.map(send, links, timeout=DEADLINE))
    took = time.monotonic() - began

    assert took < DEADLINE
    assert [(code, status) for code, status, _ in answers if status != 200] == []
    assert all("Đã tiếp nhận" in page for _, _, page in answers)
    saved = sorted(district.inbox.iterdir())
    assert len(saved) == UNITS
    for path in saved:
        code = path.name.rsplit("-", 1)[0]
        assert path.read_bytes() == district.own_file(code).read_bytes(), path.name
    state = district.opened.place.state
    assert all(len(state.uploads(code)) == 1 for code in links)
    result = app.run(district.inbox, registry, district.opened.place.settings)
    assert all(st.state == REPORTED for st in result.status.values())
    assert not list(district.inbox.glob(".*"))  # no temporary left behind


def test_a_body_over_the_limit_gets_413_before_it_is_sent_whole(tmp_path):
    district = open_district(tmp_path)
    link = district.links()["x-phuoc-son"]
    declared = 50 * 1024 * 1024

    with real_server(district) as base, socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), 10) as sock:
        sock.sendall(f"POST {link} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + b"--b\r\n" + b"x" * 1024)
        sock.settimeout(10)
        answer = sock.recv(4096)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert list(district.inbox.iterdir()) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serving(inbox: Path, out: Path, port: int) -> subprocess.Popen:
    """``consolidate serve`` as its own process (spawn-safe: a new interpreter), ready to answer."""
    proc = subprocess.Popen([sys.executable, "-m", "consolidate", "serve", str(inbox), "--out", str(out),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read().decode("utf-8", "replace"))
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the server did not start within 60 s")


def test_a_killed_server_loses_nothing_it_answered_and_a_restart_keeps_links_and_submissions(tmp_path):
    district = open_district(tmp_path)
    inbox, out = district.inbox, tmp_path / "ket-qua"
    port = free_port()
    proc = start_serving(inbox, out, port)
    try:
        links_before = (out / LINKS_NAME).read_bytes()
        son_link = next(line.split(",")[2] for line in links_before.decode("utf-8-sig").splitlines()
                        if line.startswith("x-phuoc-son,"))
        status, page = http_upload(son_link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
        assert status == 200 and "1 lỗi</strong>" in page
    finally:
        proc.kill()  # no Ctrl+C, no clean-up: as a power cut would stop it
        proc.wait(30)
        proc.stdout.close()

    (saved,) = inbox.iterdir()
    assert saved.read_bytes() == district.own_file("x-phuoc-son").read_bytes()
    proc = start_serving(inbox, out, port)
    try:
        with urllib.request.urlopen(son_link, timeout=30) as again:
            text = again.read().decode("utf-8")
        assert (out / LINKS_NAME).read_bytes() == links_before
        assert "còn <strong>1 lỗi</strong>" in text and "son.xlsx" in text
        status, page = http_upload(son_link, district.own_file("x-phuoc-son").read_bytes(), "son-lan-2.xlsx")
        assert status == 200
    finally:
        proc.kill()
        proc.wait(30)
        output = proc.stdout.read().decode("utf-8", "replace")
        proc.stdout.close()
    assert len(list(inbox.iterdir())) == 2
    assert "/van-thu/" in output and "don-vi/" not in output  # the clerk's link is printed, no unit's token
    assert os.fspath(out / LINKS_NAME) in output


def raw_answer(base: str, request: bytes) -> bytes:
    """What the server sends back on a socket to ``request`` (the whole answer: the server closes it)."""
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), 10) as sock:
        sock.sendall(request)
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_the_web_servers_own_refusals_are_vietnamese_pages_with_the_safe_headers(tmp_path):
    district = open_district(tmp_path)
    link = district.links()["x-phuoc-son"]

    with real_server(district) as base:
        too_large = raw_answer(base, f"POST {link} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                                     f"boundary=b\r\nContent-Length: {50 << 20}\r\n\r\n".encode())
        malformed = raw_answer(base, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nhieu\r\n\r\n")

    for answer, status, said in ((too_large, b"413", "Tệp gửi lên lớn hơn giới hạn 10 MB; chưa lưu gì."),
                                 (malformed, b"400", "Trình duyệt gửi một yêu cầu không đúng dạng; chưa lưu gì.")):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 " + status), head
        assert said in body.decode("utf-8")
        assert b"generated by" not in body
        headers = head.decode("latin-1").lower()
        assert "cache-control: no-store" in headers and "x-frame-options: deny" in headers
        assert "content-type: text/html; charset=utf-8" in headers


def test_a_busy_servers_queue_warning_reaches_the_clerks_terminal_in_vietnamese(tmp_path, caplog, monkeypatch):
    district = open_district(tmp_path)
    queue = logging.getLogger("waitress.queue")
    monkeypatch.setattr(queue, "disabled", False)  # lint-imports, run in-process by test_architecture, disables it

    with real_server(district), caplog.at_level(logging.WARNING, logger="waitress.queue"):
        queue.warning("Task queue depth is %d", 7)  # what waitress logs with more requests than threads

    assert "Máy chủ đang bận: 7 yêu cầu đang chờ đến lượt" in caplog.text
    assert "Task queue depth" not in caplog.text
