"""`consolidate serve`, through Flask's test client: a commune uploads on its own page and sees at once what
to fix; files land in the inbox as resubmissions do; the clerk watches completeness and runs the job."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import threading
import zipfile

import openpyxl
import pytest

from conftest import Text, run_cli, set_cells
from consolidate import app
from consolidate.core.formats import HISTORY_NAME
from consolidate.history import open_store
from consolidate.core.results import REPORTED
from consolidate.web.links import LINKS_NAME
from consolidate.web.state import STATE_NAME
from serving import client_of, form_token, open_district, text_of, upload


@pytest.fixture
def district(tmp_path):
    return open_district(tmp_path)


def test_a_units_page_names_the_unit_the_report_and_that_nothing_was_sent_yet(district):
    page = text_of(client_of(district).get(district.links()["x-phuoc-son"]))

    assert "Xã Phước Sơn" in page
    assert "Báo cáo số 362/UBND ngày 09/08/2024 của UBND huyện" in page
    assert "Chưa gửi báo cáo nào." in page


def test_an_upload_with_an_error_is_saved_and_the_unit_sees_the_cell_the_fix_and_its_feedback_copy(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]  # the seed's real error: 7 ≠ 6 + 0 + 0

    answer = upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "Báo cáo Xã Phước Sơn.xlsx")

    page = text_of(answer)
    assert answer.status_code == 200
    assert "có 1 lỗi" in page
    assert "Biểu mẫu 1!C7 Tổng số 7 ≠ 6 + 0 + 0 (= 6)." in page
    assert "sửa Tổng số thành 6" in page
    (saved,) = district.inbox.iterdir()
    assert saved.name.startswith("x-phuoc-son-") and saved.suffix == ".xlsx"
    assert saved.read_bytes() == district.own_file("x-phuoc-son").read_bytes()
    copy = client.get(f"{link}/phan-hoi/{saved.name}")
    assert copy.status_code == 200
    comment = openpyxl.load_workbook(io.BytesIO(copy.data))["Biểu mẫu 1"]["C7"].comment
    assert "Tổng số 7 ≠ 6 + 0 + 0" in comment.text
    assert "còn 1 lỗi" in text_of(client.get(link))


def test_the_upload_says_exactly_what_consolidate_check_says(district):
    path = district.own_file("x-phuoc-an")
    set_cells(path, "Biểu mẫu 1", {"C7": 9, "H7": -1, "G7": Text("1.234")})
    client, link = client_of(district), district.links()["x-phuoc-an"]

    page = text_of(upload(client, link, path.read_bytes(), "bao-cao.xlsx"))
    ((sub, found),) = app.check([path])

    assert found
    for p in found:
        assert f"{p.sheet}!{p.cell} {p.message}" in page
        assert p.unit_how_to_fix in page  # the commune's wording, as check prints it
    # the clerk's wording is for the clerk's log, never for the unit's page
    assert any(p.how_to_fix != p.unit_how_to_fix for p in found)
    assert not [p.how_to_fix for p in found if p.how_to_fix != p.unit_how_to_fix and p.how_to_fix in page]


def test_the_browsers_file_name_is_only_shown_never_used_as_a_path(district, tmp_path):
    client, link = client_of(district), district.links()["x-phuoc-an"]

    page = text_of(upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "../../../ngoai-hop-thu.xlsx"))

    assert "“../../../ngoai-hop-thu.xlsx”" in page
    assert not list(tmp_path.rglob("ngoai-hop-thu.xlsx"))
    (saved,) = district.inbox.iterdir()
    assert saved.name.startswith("x-phuoc-an-")
    shown = upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "<script>alert(1)</script>.xlsx")
    assert "<script>alert(1)" not in shown.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in shown.get_data(as_text=True)


def test_earlier_uploads_are_kept_and_the_newest_wins_as_resubmissions_do(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    wrong = district.own_file("x-phuoc-son").read_bytes()
    upload(client, link, wrong, "lan-1.xlsx")
    set_cells(district.own_file("x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})
    upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "lan-1.xlsx")  # the same name, sent again

    first, second = sorted(district.inbox.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    result = app.run(district.inbox, district.opened.place.registry, district.opened.place.settings)

    assert first.read_bytes() == wrong
    assert result.status["x-phuoc-son"].state == REPORTED and result.status["x-phuoc-son"].file == second.name
    assert [p.code for p in result.problems if p.file == first.name] == []  # replaced quietly: re-sending is asked for
    assert [p.code for p in result.problems if p.unit == "Xã Phước Sơn"] == ["uploads-replaced"]
    assert not [p for p in result.errors if p.unit == "Xã Phước Sơn"]
    assert "Đã tiếp nhận lúc" in text_of(client.get(link))


def test_uploads_within_one_second_are_numbered_so_that_the_last_one_sent_wins(district, monkeypatch):
    monkeypatch.setattr("consolidate.web.uploads.utc_stamp", lambda: "20261205T031500Z")
    client, link, path = client_of(district), district.links()["x-phuoc-son"], district.own_file("x-phuoc-son")
    for total in (7, 8, 6):  # the last one is right
        set_cells(path, "Biểu mẫu 1", {"C7": total})
        upload(client, link, path.read_bytes(), "son.xlsx")

    names = {p.name for p in district.inbox.iterdir()}
    result = app.run(district.inbox, district.opened.place.registry, district.opened.place.settings)

    assert names == {"x-phuoc-son-20261205T031500Z.xlsx", "x-phuoc-son-20261205T031500Z (2).xlsx",
                     "x-phuoc-son-20261205T031500Z (3).xlsx"}
    assert result.status["x-phuoc-son"].file == "x-phuoc-son-20261205T031500Z (3).xlsx"
    assert not [p for p in result.errors if p.unit == "Xã Phước Sơn"]


def test_a_file_naming_another_unit_is_refused_with_nothing_saved(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]

    answer = upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "bao-cao-phuoc-an.xlsx")

    page = text_of(answer)
    assert answer.status_code == 422
    assert "Không nhận tệp." in page
    assert "Biểu mẫu 1 của tệp “bao-cao-phuoc-an.xlsx” ghi “Xã Phước An”, không phải “Xã Phước Sơn”" in page
    assert list(district.inbox.iterdir()) == []
    assert district.opened.place.state.uploads("x-phuoc-son") == []


@pytest.mark.parametrize("data, kind", [(b"%PDF-1.7\n1 0 obj\n", "tệp PDF"), (b"\x89PNG\r\n\x1a\n....", "ảnh"),
                                        (b"Ma,Ten\nx,y\n", "không rõ định dạng")])
def test_a_file_that_is_not_a_spreadsheet_is_refused_with_nothing_saved(district, data, kind):
    client, link = client_of(district), district.links()["x-phuoc-son"]

    answer = upload(client, link, data, "bao-cao.xlsx")

    assert answer.status_code == 422
    assert f"Tệp “bao-cao.xlsx” là {kind}, không phải bảng tính Excel hoặc OpenDocument; chưa lưu gì." in text_of(answer)
    assert list(district.inbox.iterdir()) == []


def test_a_file_over_the_limit_gets_413_with_nothing_saved(tmp_path):
    settings = dataclasses.replace(app.load()[1], upload_limit_mb=0.5)
    district = open_district(tmp_path, settings=settings)
    client, link = client_of(district), district.links()["x-phuoc-son"]

    answer = upload(client, link, b"PK\x03\x04" + os.urandom(2 << 20), "lon.xlsx")

    assert answer.status_code == 413
    assert "Tệp gửi lên lớn hơn giới hạn 0,5 MB; chưa lưu gì." in text_of(answer)
    just_over = upload(client, link, b"PK\x03\x04" + os.urandom((1 << 19) - 3), "vua-qua.xlsx")  # the form fits, the file not
    assert just_over.status_code == 413
    assert "Tệp gửi lên lớn hơn giới hạn 0,5 MB; chưa lưu gì." in text_of(just_over)
    assert list(district.inbox.iterdir()) == []


def test_the_limit_comes_from_the_report_settings_file(tmp_path):
    config = tmp_path / "cau-hinh.toml"
    config.write_text("upload_limit_mb = 2.5\n", encoding="utf-8")
    wrong = tmp_path / "sai.toml"
    wrong.write_text('upload_limit_mb = "mười"\n', encoding="utf-8")

    settings = app.load(config_file=config)[1]

    assert settings.upload_limit_mb == 2.5 and app.load()[1].upload_limit_mb == 10
    with pytest.raises(app.ConfigError, match="upload_limit_mb"):
        app.load(config_file=wrong)


def test_an_upload_without_the_pages_own_token_is_refused_with_nothing_saved(district):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    data = district.own_file("x-phuoc-son").read_bytes()
    other_units_token = form_token(client.get(district.links()["x-phuoc-an"]).get_data(as_text=True))

    for token in ("", "0" * 64, other_units_token):
        answer = upload(client, link, data, "bao-cao.xlsx", token=token)
        assert answer.status_code == 403
        assert "Yêu cầu gửi tệp không có mã xác nhận của trang; chưa lưu gì." in text_of(answer)
    assert list(district.inbox.iterdir()) == []


def test_a_wrong_or_revoked_link_is_404_and_the_new_one_works(district):
    client, old = client_of(district), district.links()["x-phuoc-son"]

    renewed = run_cli("links", district.inbox, "--out", district.out, "--renew", "x-phuoc-son")
    new = district.links()["x-phuoc-son"]

    assert renewed.exit_code == 0, renewed.output
    assert "Đã cấp đường liên kết mới cho Xã Phước Sơn" in renewed.output
    assert new != old
    assert client.get(old).status_code == 404
    assert "Đường liên kết này không đúng" in text_of(client.get(old))
    assert client.get(new).status_code == 200
    assert client.get(old[:-1] + "x").status_code == 404
    assert client.get(district.clerk + "x").status_code == 404
    assert upload(client, old, district.own_file("x-phuoc-son").read_bytes(), "a.xlsx",
                  token="x").status_code == 404
    assert list(district.inbox.iterdir()) == []


def test_the_clerks_link_can_be_renewed_and_the_old_one_stops_working(district):
    client, old = client_of(district), district.clerk

    renewed = run_cli("links", district.inbox, "--out", district.out, "--renew-clerk")

    new = renewed.output.split("Trang của văn thư (không gửi cho ai): ")[1].split()[0].removeprefix(district.opened.base_url)
    assert renewed.exit_code == 0 and "Đã cấp đường liên kết mới cho trang của văn thư" in renewed.output
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    assert client.get(district.links()["x-phuoc-son"]).status_code == 200  # the units' links are unchanged


def test_a_unit_sees_only_its_own_submission(district):
    client, links = client_of(district), district.links()
    upload(client, links["x-phuoc-son"], district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    (son,) = district.inbox.iterdir()

    an_page = text_of(client.get(links["x-phuoc-an"]))

    assert "Chưa gửi báo cáo nào." in an_page and "son.xlsx" not in an_page and son.name not in an_page
    assert client.get(f"{links['x-phuoc-an']}/phan-hoi/{son.name}").status_code == 404
    assert client.get(f"{links['x-phuoc-son']}/phan-hoi/{son.name}").status_code == 200


def test_the_links_file_lists_every_unit_with_its_url_in_utf8_with_bom(district):
    raw = (district.out / LINKS_NAME).read_bytes()
    registry = district.opened.place.registry

    assert raw.startswith(b"\xef\xbb\xbfcode,name,url\r\n")
    rows = raw.decode("utf-8-sig").splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [u.code for u in registry.reporting_units()]
    assert "x-phuoc-son,Xã Phước Sơn,http://may-van-thu:8765/don-vi/" in raw.decode("utf-8-sig")
    assert len(set(district.links().values())) == len(rows)


def test_a_restart_keeps_every_link_and_links_rewrites_the_same_ones(district, tmp_path):
    before = (district.out / LINKS_NAME).read_bytes()

    again = open_district(tmp_path / "lan-2")  # another district: other tokens
    rewritten = run_cli("links", district.inbox, "--out", district.out)

    assert rewritten.exit_code == 0, rewritten.output
    assert (district.out / LINKS_NAME).read_bytes() == before  # the base URL the server last used, the same tokens
    assert again.links() != district.links()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions: on Windows the folder's ACL applies")
def test_the_links_file_and_the_state_are_readable_only_by_the_clerk(district):
    for name in (LINKS_NAME, STATE_NAME):
        assert (district.out / name).stat().st_mode & 0o777 == 0o600, name


def test_the_clerks_page_shows_completeness_runs_the_job_and_offers_the_outputs(district):
    client, links = client_of(district), district.links()
    upload(client, links["x-phuoc-son"], district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    upload(client, links["x-phuoc-an"], district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")
    clerk = district.clerk

    page = client.get(clerk)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2/14" in text_of(page)
    assert 'data-unit="x-phuoc-son"' in html
    son_row = html.split('data-unit="x-phuoc-son"')[1].split("</tr>")[0]
    assert "Đã báo cáo" in son_row and 'class="errors bad">1<' in son_row
    an_row = html.split('data-unit="x-phuoc-an"')[1].split("</tr>")[0]
    assert "Đã báo cáo" in an_row and 'class="errors ">0<' in an_row
    hiep_row = html.split('data-unit="x-phuoc-hiep"')[1].split("</tr>")[0]
    assert "Chưa báo cáo" in hiep_row

    started = client.post(f"{clerk}/tong-hop", data={"ma_xac_nhan": form_token(html)})
    consolidation = client.application.extensions["consolidate"]["consolidation"]
    consolidation.wait(120)

    assert started.status_code == 303
    after = client.get(clerk)
    assert "Đã tổng hợp xong lúc" in text_of(after)
    for kind in ("workbook", "log", "html"):
        assert client.get(f"{clerk}/tai/{kind}").status_code == 200, kind
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{clerk}/tai/workbook").data))
    status = {row[1]: row[2] for row in book["Tình trạng nộp"].iter_rows(min_row=2, values_only=True) if row[1]}
    assert status["Xã Phước Sơn"] == "Đã báo cáo" and status["Xã Phước Hiệp"] == "Chưa báo cáo"
    with zipfile.ZipFile(io.BytesIO(client.get(f"{clerk}/tai/feedback").data)) as zf:
        assert [n for n in zf.namelist() if n.startswith("x-phuoc-son-")]
    assert (district.out / LINKS_NAME).exists() and (district.out / STATE_NAME).exists()  # a run deletes neither
    # the same job as `consolidate run`: the period's figures are in the history beside the outputs
    with open_store(district.out / HISTORY_NAME, create=False) as history:
        assert history.periods() == ["2024S2"]
        assert {o.unit_code for o in history.observations()} == {"x-phuoc-son", "x-phuoc-an"}


def test_one_consolidation_at_a_time_and_uploads_go_on_while_it_runs(district, monkeypatch):
    client, links = client_of(district), district.links()
    release, running = threading.Event(), threading.Event()
    real_run = app.run

    def slow_run(*args, **kwargs):
        if threading.current_thread().name == "consolidate-run":  # the button's run waits until released
            running.set()
            assert release.wait(60)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(app, "run", slow_run)
    token = form_token(client.get(district.clerk).get_data(as_text=True))
    first = client.post(f"{district.clerk}/tong-hop", data={"ma_xac_nhan": token})
    assert running.wait(30)
    second = client.post(f"{district.clerk}/tong-hop", data={"ma_xac_nhan": token})
    during = upload(client, links["x-phuoc-an"], district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")
    page = text_of(client.get(second.headers["Location"]))
    release.set()
    client.application.extensions["consolidate"]["consolidation"].wait(120)

    assert first.headers["Location"].endswith("bat-dau=1") and second.headers["Location"].endswith("bat-dau=0")
    assert "Đang có một lần tổng hợp chạy; chờ lần đó xong." in page and "Đang tổng hợp" in page
    assert during.status_code == 200 and len(list(district.inbox.iterdir())) == 1
    assert "Đã tổng hợp xong lúc" in text_of(client.get(district.clerk))


def test_the_run_button_needs_the_pages_token(district):
    client = client_of(district)

    assert client.post(f"{district.clerk}/tong-hop", data={}).status_code == 403
    assert not list(district.out.glob("tong-hop-*"))


def test_the_clerk_sees_which_units_downloaded_their_feedback_copy(district):
    client, links = client_of(district), district.links()
    upload(client, links["x-phuoc-son"], district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    set_cells(district.own_file("x-phuoc-an"), "Biểu mẫu 1", {"C7": 9})
    upload(client, links["x-phuoc-an"], district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")
    (son,) = district.inbox.glob("x-phuoc-son-*")
    client.get(f"{links['x-phuoc-son']}/phan-hoi/{son.name}")

    html = client.get(district.clerk).get_data(as_text=True)
    sent_back = html.split('id="da-gui-lai"')[1]

    son_row = sent_back.split("Xã Phước Sơn")[1].split("</tr>")[0]
    an_row = sent_back.split("Xã Phước An")[1].split("</tr>")[0]
    assert 'class="ok">1<' in son_row
    assert "chưa tải" in an_row


def test_no_token_reaches_the_servers_log(district, caplog, monkeypatch):
    client, link = client_of(district), district.links()["x-phuoc-son"]
    token = link.rsplit("/", 1)[1]
    clerk_token = district.clerk.rsplit("/", 1)[1]

    def broken(*args, **kwargs):
        raise RuntimeError(f"failed on /don-vi/{token}")

    monkeypatch.setattr("consolidate.web.pages.receive", broken)
    for name in ("waitress", client.application.logger.name):  # lint-imports, run in-process by test_architecture,
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)  # disables every logger that existed then
    with caplog.at_level(logging.INFO):
        answer = upload(client, link, district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
        logging.getLogger("waitress").error("Exception while serving %s", f"/van-thu/{clerk_token}/tai/log")

    assert answer.status_code == 500
    assert "/don-vi/…" in caplog.text and "/van-thu/…/tai/log" in caplog.text
    assert token not in caplog.text and clerk_token not in caplog.text


class StoppedByCtrlC:
    """A server that the clerk stops with Ctrl+C as soon as it runs."""

    closed = False

    def run(self) -> None:
        raise KeyboardInterrupt

    def close(self) -> None:
        StoppedByCtrlC.closed = True


def test_serve_on_the_office_network_warns_prints_the_clerks_link_and_stops_on_ctrl_c(tmp_path, monkeypatch):
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    monkeypatch.setattr("consolidate.web.server.make_server", lambda place, host, port: StoppedByCtrlC())

    result = run_cli("serve", inbox, "--out", out, "--host", "0.0.0.0")

    assert result.exit_code == 0, result.output
    assert "Cảnh báo: máy chủ mở cho cả mạng cơ quan. Ai có đường liên kết cũng dùng được nó" in result.output
    assert "chạy lại với --base-url http://<địa chỉ IP của máy này>:8765" in result.output
    assert "Trang của văn thư (không gửi cho ai): http://127.0.0.1:8765/van-thu/" in result.output
    assert f"Đường liên kết của từng đơn vị: {out / LINKS_NAME}" in result.output
    assert "Đã dừng máy chủ" in result.output and StoppedByCtrlC.closed
    assert "/don-vi/" not in result.output


def test_serve_on_this_pc_only_gives_no_warning_and_uses_the_base_url(tmp_path, monkeypatch):
    inbox, out = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    monkeypatch.setattr("consolidate.web.server.make_server", lambda place, host, port: StoppedByCtrlC())

    result = run_cli("serve", inbox, "--out", out, "--port", "9000", "--base-url", "http://192.168.1.10:9000/")

    assert "Cảnh báo" not in result.output
    assert "http://192.168.1.10:9000/van-thu/" in result.output
    assert "http://192.168.1.10:9000/don-vi/" in (out / LINKS_NAME).read_text(encoding="utf-8-sig")


def test_links_into_a_damaged_state_says_what_to_do_not_a_traceback(district):
    """The clerk opened may-chu-nhan-bao-cao.json in Notepad and saved half of it."""
    (district.out / STATE_NAME).write_text("{\"units\": {", encoding="utf-8")

    result = run_cli("links", district.inbox, "--out", district.out)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert STATE_NAME in result.output or "trạng thái" in result.output
