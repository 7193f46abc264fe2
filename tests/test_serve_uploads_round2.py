"""`consolidate serve`'s uploads, second round (issue 21, items 4–6): a unit's link cannot flood the server or
fill its disk, a server killed between saving an upload and recording it tells the unit the truth at its next
start, and a check that hangs or eats memory is stopped in its own process while pages keep answering."""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from consolidate import app
from consolidate.web import quota
from consolidate.web.isolated import check_upload
from consolidate.web.pages import create_app
from consolidate.web.server import open_inbox
from consolidate.web.state import ServerState
from serving import client_of, http_upload, open_district, real_server, text_of, upload


def settings_file(tmp_path: Path, text: str):
    """The clerk's settings file with these lines: the settings it gives."""
    config = tmp_path / "cau-hinh.toml"
    config.write_text(text, encoding="utf-8")
    return app.load(config_file=config)[1]


def restarted(district):
    """The same inbox and --out opened again, as `consolidate serve` does after it was stopped: a test client."""
    place = district.opened.place
    again = open_inbox(district.inbox, district.out, place.registry, place.settings, district.opened.base_url)
    return create_app(again.place).test_client(), again.place


# 4. Limits per unit and for the disk ----------------------------------------------------------------------


def test_a_unit_over_its_uploads_an_hour_gets_429_in_vietnamese_with_nothing_saved_even_after_a_restart(tmp_path):
    district = open_district(tmp_path, settings=settings_file(tmp_path, "upload_per_hour = 3\n"))
    client, links = client_of(district), district.links()
    data = district.own_file("x-phuoc-an").read_bytes()
    sent = [upload(client, links["x-phuoc-an"], data, f"lan-{n}.xlsx").status_code for n in range(1, 4)]

    fourth = upload(client, links["x-phuoc-an"], data, "lan-4.xlsx")

    assert sent == [200, 200, 200]
    assert fourth.status_code == 429
    page = text_of(fourth)
    assert "Không nhận tệp. Đường liên kết của Xã Phước An đã gửi 3 tệp trong một giờ qua, đủ giới hạn 3 tệp mỗi giờ; " \
           "chưa lưu gì." in page
    assert "Gửi lại sau " in page and "(giờ của máy chủ)" in page and "báo ngay cho văn thư" in page
    assert len(list(district.inbox.iterdir())) == 3
    assert len(district.opened.place.state.uploads("x-phuoc-an")) == 3
    other = upload(client, links["x-phuoc-son"], district.own_file("x-phuoc-son").read_bytes(), "son.xlsx")
    assert other.status_code == 200  # only that unit's link is held back
    client, _ = restarted(district)
    assert upload(client, links["x-phuoc-an"], data, "lan-5.xlsx").status_code == 429  # a restart resets nothing
    assert len(list(district.inbox.glob("x-phuoc-an-*"))) == 3


def test_the_limits_have_sane_defaults_and_come_from_the_settings_file(tmp_path):
    defaults = app.load()[1]
    settings = settings_file(tmp_path, "upload_per_hour = 5\nupload_total_mb = 2.5\n")

    assert (defaults.upload_per_hour, defaults.upload_total_mb) == (20, 100)
    assert (settings.upload_per_hour, settings.upload_total_mb) == (5, 2.5)
    for wrong, key in (('upload_per_hour = "hai mươi"\n', "upload_per_hour"), ("upload_per_hour = 0\n", "upload_per_hour"),
                       ("upload_per_hour = 2.5\n", "upload_per_hour"), ("upload_total_mb = -1\n", "upload_total_mb")):
        with pytest.raises(app.ConfigError, match=key):
            settings_file(tmp_path, wrong)


def test_a_unit_whose_uploads_fill_its_share_of_the_inbox_gets_507_until_the_clerk_moves_old_ones_out(tmp_path):
    district = open_district(tmp_path)
    report = district.own_file("x-phuoc-an").read_bytes()
    share = 2.5 * len(report) / (1024 * 1024)  # upload_total_mb with room for two reports, not three
    place = dataclasses.replace(district.opened.place, settings=dataclasses.replace(district.opened.place.settings,
                                                                                     upload_total_mb=share))
    client, link = create_app(place).test_client(), district.links()["x-phuoc-an"]
    first, second = (upload(client, link, report, f"lan-{n}.xlsx").status_code for n in (1, 2))

    third = upload(client, link, report, "lan-3.xlsx")

    assert (first, second, third.status_code) == (200, 200, 507)
    page = text_of(third)
    assert "Các tệp Xã Phước An đã gửi lên máy chủ chiếm" in page and "; chưa lưu gì." in page
    assert "Báo cho văn thư (người tổng hợp) để dọn các bản đã gửi trên máy chủ" in page
    assert len(list(district.inbox.iterdir())) == 2
    archive = tmp_path / "luu-tru"
    archive.mkdir()
    oldest = min(district.inbox.iterdir(), key=lambda p: p.name)
    oldest.rename(archive / oldest.name)  # the clerk keeps the old upload elsewhere: room again
    assert upload(client, link, report, "lan-4.xlsx").status_code == 200


def test_a_server_whose_disk_is_nearly_full_refuses_uploads_with_507_and_saves_nothing(tmp_path, monkeypatch):
    district = open_district(tmp_path)
    client, link = client_of(district), district.links()["x-phuoc-an"]
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(quota.shutil, "disk_usage",  # 100 kB more than the margin the server keeps free
                        lambda folder: usage(64 << 30, (64 << 30) - quota.FREE_MARGIN - 100_000, quota.FREE_MARGIN + 100_000))

    answer = upload(client, link, district.own_file("x-phuoc-an").read_bytes() + b"\0" * 200_000, "an.xlsx")

    assert answer.status_code == 507
    assert "Ổ đĩa của máy chủ chỉ còn 512,1 MB trống; lưu thêm tệp này sẽ để lại ít hơn 512 MB cần giữ; chưa lưu gì." \
        in text_of(answer)
    assert list(district.inbox.iterdir()) == [] and district.opened.place.state.uploads("x-phuoc-an") == []
    monkeypatch.undo()
    assert upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx").status_code == 200


# 5. Saved, then killed before it was recorded --------------------------------------------------------------


def test_an_upload_saved_by_a_server_killed_before_recording_it_is_on_the_units_page_after_the_restart(tmp_path):
    district = open_district(tmp_path)
    report = district.own_file("x-phuoc-son").read_bytes()  # its total is wrong: one error
    saved = district.inbox / "x-phuoc-son-20261205T031500Z.xlsx"  # put in the inbox; the server killed right then
    saved.write_bytes(report)
    when = time.mktime((2026, 12, 5, 10, 15, 0, 0, 0, -1))
    os.utime(saved, (when, when))
    left_alone = {"bao-cao-tu-chep.xlsx": report, "x-khong-co-20261205T031500Z.xlsx": report,  # no such unit
                  "ghi-chu.txt": "Phước Sơn gửi qua thư".encode()}
    for name, data in left_alone.items():
        (district.inbox / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in district.inbox.iterdir()}

    client, place = restarted(district)
    page = text_of(client.get(district.links()["x-phuoc-son"]))

    assert "Huyện đã nhận tệp “" in page and "còn 1 lỗi" in page  # the newest of three equal copies: one of the clerk's
    assert "10:15 05/12/2026 – “x-phuoc-son-20261205T031500Z.xlsx” (máy chủ ghi nhận khi khởi động lại): 1 lỗi" in page
    assert "bản phản hồi" in page
    (entry,) = place.state.uploads("x-phuoc-son")
    assert (entry["file"], entry["size"], entry["errors"]) == (saved.name, len(report), 1)
    assert client.get(f"{district.links()['x-phuoc-son']}/phan-hoi/{saved.name}").data.startswith(b"PK")
    assert {p.name: p.read_bytes() for p in district.inbox.iterdir()} == before  # nothing moved, renamed or removed
    assert sum(len(v) for v in ServerState(district.out).snapshot()["uploads"].values()) == 1
    client, place = restarted(district)  # started again: recorded once, not twice
    assert len(place.state.uploads("x-phuoc-son")) == 1


def test_an_upload_recorded_at_a_start_beside_it_keeps_one_record_with_the_uploads_own_details(tmp_path):
    district = open_district(tmp_path)
    client, link = client_of(district), district.links()["x-phuoc-an"]
    state = district.opened.place.state
    real_add = ServerState.add_upload

    def started_meanwhile(self, code, entry):  # another start, between the upload's save and its record
        restarted(district)
        real_add(self, code, entry)

    state.add_upload = started_meanwhile.__get__(state)
    assert upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx").status_code == 200

    (entry,) = ServerState(district.out).uploads("x-phuoc-an")
    assert entry["browser_name"] == "an.xlsx" and "recorded_at_start" not in entry


# 6. The check in its own process ---------------------------------------------------------------------------


def hang(path: Path, copy: Path, registry, settings):
    """A check that never ends (run in the worker: the marker tells the test it has begun)."""
    (Path(path).parent / "dang-kiem-tra.dau").write_text("1", encoding="utf-8")
    while True:
        time.sleep(1)


def die(path: Path, copy: Path, registry, settings):
    """A check whose process dies under it (a reader crashing, the OS killing it for its memory)."""
    os._exit(9)


def eat_memory(path: Path, copy: Path, registry, settings):
    """A check that takes memory without end, as a file inflating to gigabytes would."""
    hoard = []
    while True:
        hoard.append(b"x" * (64 << 20))


def test_a_check_that_hangs_is_stopped_and_refused_in_vietnamese_while_pages_keep_answering(tmp_path):
    district = open_district(tmp_path)
    place = district.opened.place
    place.check_work, place.check_seconds = hang, 20
    checking = district.out / "may-chu" / "dang-kiem-tra"
    answers = {}

    with real_server(district) as base:
        def send() -> None:
            answers["upload"] = http_upload(base + district.links()["x-phuoc-an"],
                                            district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")

        sending = threading.Thread(target=send)
        sending.start()
        for _ in range(1200):  # until the check has begun in its worker (a new worker imports the checks first)
            if list(checking.glob("*/dang-kiem-tra.dau")) or not sending.is_alive():
                break
            time.sleep(0.1)
        with urllib.request.urlopen(base + district.links()["x-phuoc-son"], timeout=30) as page:
            other_unit = page.status, page.read().decode("utf-8")
        still_checking = sending.is_alive()
        sending.join(120)
        place.check_work = check_upload
        again = http_upload(base + district.links()["x-phuoc-an"], district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")

    assert other_unit[0] == 200 and "Xã Phước Sơn" in other_unit[1] and still_checking
    status, page = answers["upload"]
    assert status == 422
    assert "Máy chủ đã dừng việc kiểm tra tệp “an.xlsx”: kiểm tra quá 20 giây mà chưa xong" in page
    assert "chưa lưu gì" in page
    assert again[0] == 200  # a new worker for the next upload
    assert [p.name for p in district.inbox.iterdir()] == [place.state.uploads("x-phuoc-an")[0]["file"]]


@pytest.mark.parametrize("work", [die, eat_memory], ids=["dies", "eats-memory"])
def test_a_check_whose_process_dies_or_runs_out_of_memory_is_a_vietnamese_refusal_with_nothing_saved(tmp_path, work):
    if work is eat_memory and not _memory_capped():
        pytest.skip("this OS has no memory cap for a process (Windows: no resource module); the time limit remains")
    district = open_district(tmp_path)
    place = district.opened.place
    place.check_work = work
    client, link = client_of(district), district.links()["x-phuoc-an"]

    answer = upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx")

    assert answer.status_code == 422
    assert ("Máy chủ đã dừng việc kiểm tra tệp “an.xlsx”: tệp làm hỏng hoặc làm tràn bộ nhớ của tiến trình kiểm tra; "
            "chưa lưu gì.") in text_of(answer)
    assert list(district.inbox.iterdir()) == [] and place.state.uploads("x-phuoc-an") == []
    place.check_work = check_upload
    assert upload(client, link, district.own_file("x-phuoc-an").read_bytes(), "an.xlsx").status_code == 200


def _memory_capped() -> bool:
    try:
        import resource  # noqa: F401 - only to know whether the worker's memory can be capped here (POSIX)
    except ImportError:
        return False
    return True
