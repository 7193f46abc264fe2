"""`consolidate serve` reviewed as an attacker on the office network and as a clerk on Windows would use it:
headers on every answer, Vietnamese refusals for every error, hostile files and full disks refused with
nothing saved, the state shared safely with `consolidate links` in another process."""

from __future__ import annotations

import re

import pytest

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
