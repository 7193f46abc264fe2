"""The history of the periods (issue 17), as a district clerk and a province live it: each run records its
period's figures; a re-run replaces them; the next period is compared with the last without --previous; the
page shows the trends; ``consolidate history`` lists what is stored.

Every story runs on both stores: an SQLite file, and a real PostgreSQL server when .ci/run started one
(CONSOLIDATE_TEST_POSTGRES, e.g. postgresql://consolidate:consolidate@127.0.0.1:5432/postgres: a role that
may create databases; each test gets a database of its own). Without it the PostgreSQL cases skip, saying so.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import read_log, run_cli, set_cells, unit_file
from stores import KINDS, history_store
from consolidate.core.observations import ACCEPTED, REJECTED, HistoryError
from consolidate.core.periods import default_period, parse_period, previous_period, sorted_periods
from consolidate.history import open_store
from consolidate.history.schema import VERSION
from consolidate.settings.report import default_settings, load_config
from consolidate.settings.units import ConfigError

FIGURES = 14 * (8 + 5 * 5)  # 14 units × (Biểu mẫu 1's 8 columns + 5 indicators × 5 values)


@pytest.fixture(params=KINDS)
def store(request, tmp_path: Path) -> str:
    """Where the history goes: an SQLite file, or a fresh database on the PostgreSQL server."""
    with history_store(request.param, tmp_path) as url:
        yield url


def config(tmp_path: Path, period: str) -> Path:
    path = tmp_path / f"cau-hinh-{period}.toml"
    path.write_text(f'period = "{period}"\n', encoding="utf-8")
    return path


def run(inbox: Path, out: Path, store: str, *more: object):
    return run_cli("run", inbox, "--out", out, "--history", store, *more)


def page(out: Path) -> str:
    (path,) = out.glob("tong-hop-*.html")
    return path.read_text(encoding="utf-8")


# Recording --------------------------------------------------------------------------


def test_two_periods_then_a_rerun_of_the_first_leave_two_periods_with_the_rerun_s_figures(inbox, tmp_path, store):
    out = tmp_path / "outbox"
    assert run(inbox, out, store, "--config", config(tmp_path, "2024S1")).exit_code == 1  # Phước Sơn's real error
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 6})  # one more computer in the second half
    assert run(inbox, out, store, "--config", config(tmp_path, "2024S2")).exit_code == 1
    with open_store(store) as history:
        second = history.observations(period="2024S2")

    # the first half-year's report comes back corrected: Phước An had 9 computers, and the run is made again
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 9})
    result = run(inbox, out, store, "--config", config(tmp_path, "2024S1"), "--json")
    assert json.loads(result.output)["history"]["period"] == "2024S1"

    with open_store(store) as history:
        assert history.periods() == ["2024S1", "2024S2"]
        first = history.observations(period="2024S1")
        assert len(first) == FIGURES  # replaced, not added to
        assert len({(o.unit_code, o.field_code, o.status) for o in first}) == FIGURES
        computers = [o for o in first if o.unit_code == "x-phuoc-an" and o.field_code == "form1.computers"]
        assert [(o.value, o.status, o.cell) for o in computers] == [(9.0, ACCEPTED, "G7")]
        assert history.observations(period="2024S2") == second  # the other period untouched, to its run time
        assert len(history.observations()) == 2 * FIGURES
        assert [o.value for o in history.series("x-phuoc-an") if o.field == "computers"] == [9.0, 6.0]


def test_each_figure_keeps_its_source_and_a_rejected_one_its_error_apart_from_the_accepted(inbox, tmp_path, store):
    out = tmp_path / "outbox"
    assert run(inbox, out, store).exit_code == 1
    son = unit_file(inbox, "x-phuoc-son")
    with open_store(store) as history:
        (period,) = history.periods()
        assert period == "2024S2"  # the sample's period ends on 25/7/2024: the second half-year
        rejected = history.observations(status=REJECTED)
        accepted = history.observations(status=ACCEPTED)
        assert len(rejected) + len(accepted) == FIGURES
    # Phước Sơn's Tổng số 7 ≠ 6 + 0 + 0: stored, but as rejected, with the error's code and its cell; and,
    # as the workbook's totals leave out every figure of the broken rule, its three parts too (issue 22)
    assert sorted((o.field, o.value, o.problem) for o in rejected if o.field != "total") == [
        ("staff_bcci", 0.0, "total-mismatch"), ("staff_own", 6.0, "total-mismatch"),
        ("staff_seconded", 0.0, "total-mismatch")]
    (total,) = [o for o in rejected if o.field == "total"]
    assert (total.unit_code, total.unit_name, total.field_code, total.value, total.problem) == (
        "x-phuoc-son", "Xã Phước Sơn", "form1.total", 7.0, "total-mismatch")
    assert (total.file, total.sheet, total.cell) == (son.name, "Biểu mẫu 1", "C7")
    assert total.sha256 == hashlib.sha256(son.read_bytes()).hexdigest()
    assert not any(o.unit_code == "x-phuoc-son" and o.field == "total" for o in accepted)
    rate = next(o for o in accepted if o.unit_code == "x-phuoc-an" and o.field_code == "form2.online_payment.after")
    assert (rate.value, rate.sheet, rate.cell, rate.problem) == (93.6, "Biểu mẫu 2", "E8", "")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rate.run_time) and rate.tool_version


def test_the_default_store_sits_beside_the_outputs_and_survives_every_run(inbox, out):
    assert run_cli("run", inbox, "--out", out).exit_code == 1
    assert run_cli("run", inbox, "--out", out).exit_code == 1  # the output set is replaced; the store stays
    assert (out / "lich-su.sqlite").is_file()
    with open_store(out / "lich-su.sqlite") as history:
        assert history.periods() == ["2024S2"] and len(history.observations()) == FIGURES
    result = run_cli("run", inbox, "--out", out)
    assert f"Kỳ báo cáo 2024S2: đã lưu {FIGURES} số liệu vào lịch sử {out / 'lich-su.sqlite'}." in result.output


def test_no_history_records_nothing(inbox, out):
    result = run_cli("run", inbox, "--out", out, "--no-history", "--json")
    assert json.loads(result.output)["history"] is None
    assert not (out / "lich-su.sqlite").exists()


# A store that fails does not fail the run ------------------------------------------------


@pytest.mark.parametrize("kind", ["not a database", "unreachable server", "folder that cannot be made"])
def test_a_store_that_cannot_be_used_is_a_warning_and_every_output_still_lands(inbox, tmp_path, kind):
    out = tmp_path / "outbox"
    if kind == "folder that cannot be made":
        (tmp_path / "lich-su").write_text("a file where the store's folder should be", encoding="utf-8")
        store = tmp_path / "lich-su" / "lich-su.sqlite"
        expected = "không tạo được thư mục chứa tệp lịch sử"
    elif kind == "not a database":
        store = tmp_path / "lich-su.sqlite"
        store.write_bytes(b"PK\x03\x04 this is a workbook someone renamed, not a database" * 20)
        expected = "không phải cơ sở dữ liệu lịch sử"
    else:
        store = "postgresql://tinh:sai-mat-khau@127.0.0.1:9/lich_su?connect_timeout=3"  # nothing listens on port 9
        expected = "không kết nối được máy chủ"
    result = run(inbox, out, str(store))
    assert result.exit_code == 1  # the sample's one error, as without a history
    assert {p.name for p in out.iterdir()} >= {"tong-hop-tuy-phuoc.xlsx", "nhat-ky-loi-tuy-phuoc.csv",
                                                "tong-hop-tuy-phuoc.html", "phan-hoi"}
    logged = {row["code"]: row for row in read_log(out)}
    assert expected in logged["history-not-recorded"]["message"]
    assert "2024S2" in logged["history-not-recorded"]["message"] and "sai-mat-khau" not in result.output
    if kind != "folder that cannot be made":  # nothing there yet: nothing to read, and nothing wrong in that
        assert logged["history-not-read"]["severity"] == "warning"
    assert "Kỳ báo cáo 2024S2: chưa lưu được vào lịch sử (xem cảnh báo history-not-recorded)." in result.output


def test_a_store_that_fails_while_the_figures_are_stored_is_still_only_a_warning(inbox, tmp_path, monkeypatch):
    """The store opens, then the server goes away (or the disk fills) while the workbook is being finished."""
    from consolidate.history.store import HistoryStore

    def lost(*args, **kwargs):
        raise HistoryError("postgresql://tinh:***@may-chu/lich_su", "không kết nối được máy chủ cơ sở dữ liệu")

    monkeypatch.setattr(HistoryStore, "record", lost)
    out = tmp_path / "outbox"
    result = run(inbox, out, str(tmp_path / "lich-su.sqlite"), "--json")
    assert result.exit_code == 1  # the sample's one error, as without a history
    summary = json.loads(result.output)
    assert summary["history"]["recorded"] is None
    (warning,) = [p for p in summary["problems"] if p["code"] == "history-not-recorded"]
    assert "không kết nối được máy chủ" in warning["message"] and warning["severity"] == "warning"
    assert {p.name for p in out.iterdir()} >= {"tong-hop-tuy-phuoc.xlsx", "tong-hop-tuy-phuoc.html", "phan-hoi"}


# The schema migrates forward -------------------------------------------------------


V1 = [  # the store as the first release wrote it, by hand: figures and sources, no table of periods
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
    """CREATE TABLE source (id INTEGER NOT NULL PRIMARY KEY, period VARCHAR(16) NOT NULL, org_unit VARCHAR(64) NOT NULL,
       unit_name TEXT NOT NULL, file TEXT NOT NULL, sheet TEXT NOT NULL, sha256 VARCHAR(64) NOT NULL,
       run_time VARCHAR(32) NOT NULL, tool_version VARCHAR(32) NOT NULL)""",
    """CREATE TABLE observation (period VARCHAR(16) NOT NULL, org_unit VARCHAR(64) NOT NULL,
       data_element VARCHAR(128) NOT NULL, status VARCHAR(16) NOT NULL, value_number FLOAT, value_text TEXT,
       problem VARCHAR(64), cell VARCHAR(16) NOT NULL, source INTEGER NOT NULL,
       PRIMARY KEY (period, org_unit, data_element, status))""",
    """INSERT INTO source VALUES (1, '2023S2', 'x-phuoc-an', 'Xã Phước An', 'bao-cao-x-phuoc-an.xlsx', 'Biểu mẫu 1',
       'ab12', '2024-01-20T08:00:00+00:00', '0.1.0')""",
    "INSERT INTO observation VALUES ('2023S2', 'x-phuoc-an', 'form1.computers', 'accepted', 4, NULL, NULL, 'G7', 1)",
]


def _engine(store: str) -> sa.Engine:
    if "://" in store:
        return sa.create_engine(sa.make_url(store).set(drivername="postgresql+psycopg"))
    Path(store).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(sa.URL.create("sqlite", database=store))


def test_a_version_1_store_is_migrated_on_open_and_keeps_its_figures(inbox, tmp_path, store):
    engine = _engine(store)
    with engine.begin() as conn:
        for statement in V1:
            conn.execute(sa.text(statement))
    engine.dispose()

    with open_store(store) as history:
        assert history.periods() == ["2023S2"]  # the table of periods, filled from the figures already there
        (old,) = history.observations()
        assert old == (old.period, "x-phuoc-an", "Xã Phước An", "form1", "", "computers", 4.0, ACCEPTED, "",
                       "bao-cao-x-phuoc-an.xlsx", "Biểu mẫu 1", "G7", "ab12", "2024-01-20T08:00:00+00:00", "0.1.0")
    engine = _engine(store)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM schema_version")).scalar() == VERSION == 2
        stored = conn.execute(sa.text("SELECT code, run_time FROM period")).all()
        assert [tuple(r) for r in stored] == [("2023S2", "2024-01-20T08:00:00+00:00")]  # version 2's table, filled
    engine.dispose()

    # and a run goes on from there: the old half-year is the previous period of the new one
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 12})
    result = run(inbox, tmp_path / "outbox", store, "--config", config(tmp_path, "2024S1"))
    assert "So sánh với kỳ trước trong lịch sử: 2023S2." in result.output
    assert "Ô “Máy tính” ghi 12, kỳ báo cáo trước là 4." in result.output


def test_a_store_from_a_newer_version_is_refused_not_half_read(tmp_path, store):
    open_store(store).close()
    engine = _engine(store)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    engine.dispose()
    with pytest.raises(HistoryError, match="phiên bản mới hơn của chương trình.*lược đồ số 99"):
        open_store(store)


# Periods --------------------------------------------------------------------------


def test_period_codes_follow_dhis2_and_sort_by_time():
    assert [parse_period(c).code for c in ("2024", "2024S1", "2024s2", "2024Q3", "202408")] == [
        "2024", "2024S1", "2024S2", "2024Q3", "202408"]
    assert all(parse_period(c) is None for c in ("2024S3", "2024Q5", "202413", "24S1", "2024-13", "2024H1", ""))
    assert parse_period("2024-08").code == "202408"  # DHIS2's dashed month, stored in one form (issue 24.6)
    assert str(parse_period("2024Q3").end) == "2024-09-30" and str(parse_period("202402").end) == "2024-02-29"
    assert sorted_periods(["2025S1", "2024S2", "202408", "2024", "2024Q3", "2023S2"]) == [
        "2023S2", "2024", "2024S2", "2024Q3", "202408", "2025S1"]
    # the previous period: the latest that ended before, of the same length when there is one
    assert previous_period("2025S1", ["2023S2", "2024S2", "2024Q4", "2024"]) == "2024S2"
    assert previous_period("2024Q3", ["2024S1", "2024Q1", "2024Q2"]) == "2024Q2"
    assert previous_period("2024S1", ["2024S1", "2024S2"]) is None


def test_the_settings_name_the_period_and_a_bad_code_is_refused_in_vietnamese(tmp_path):
    assert default_period(default_settings()) == "2024S2"  # "Từ 01/5 – 25/7/2024" ends in July
    assert load_config(config(tmp_path, "2024s1"))[0].period == "2024S1"
    (tmp_path / "nam.toml").write_text("period = 2025\n", encoding="utf-8")
    assert load_config(tmp_path / "nam.toml")[0].period == "2025"
    bad = tmp_path / "sai.toml"
    bad.write_text('issuer = "UBND huyện"\nperiod = "6 tháng đầu năm 2024"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "dòng 2" in str(info.value) and "mã kỳ báo cáo theo DHIS2" in str(info.value)
    assert "2024S1" in str(info.value) and "6 tháng đầu năm 2024" in str(info.value)
    (tmp_path / "inbox").mkdir()
    result = run_cli("run", tmp_path / "inbox", "--config", bad, "--out", tmp_path / "kq")
    assert result.exit_code == 2 and "mã kỳ báo cáo theo DHIS2" in result.output


# What history gives back ---------------------------------------------------------------


def _two_half_years(inbox: Path, tmp_path: Path, store: str):
    run(inbox, tmp_path / "outbox", store, "--config", config(tmp_path, "2024S1"))
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 1", {"G7": 15})  # 5 computers → 15
    set_cells(unit_file(inbox, "x-phuoc-an"), "Biểu mẫu 2", {"E8": 60})  # online payment 93,6 → 60
    return run(inbox, tmp_path / "outbox", store, "--config", config(tmp_path, "2024S2"))


def test_the_previous_period_comes_from_the_history_without_previous(inbox, tmp_path, store):
    result = _two_half_years(inbox, tmp_path, store)
    assert "So sánh với kỳ trước trong lịch sử: 2024S1." in result.output
    changed = [row for row in read_log(tmp_path / "outbox") if row["code"] == "changed-since-previous"]
    assert {(row["unit"], row["cell"], row["message"]) for row in changed} == {
        ("Xã Phước An", "G7", "Ô “Máy tính” ghi 15, kỳ báo cáo trước là 5."),
        ("Xã Phước An", "E8", "Ô “Tỷ lệ thanh toán trực tuyến – (ii) Kết quả sau khi chuyển giao” ghi 60, "
                              "kỳ báo cáo trước là 93,6."),
    }


def test_the_page_draws_each_indicator_over_the_periods_and_each_unit_s_change(inbox, tmp_path, store):
    _two_half_years(inbox, tmp_path, store)
    html = page(tmp_path / "outbox")
    assert '<a href="#lich-su">Diễn biến qua các kỳ báo cáo</a>' in html
    section = html[html.index('<h2 id="lich-su">'):]
    assert section.count("<svg") == 5 and all(f'id="dien-bien-{n}"' in section for n in range(1, 6))
    # online payment: the district's mean of the units' rates, before and after Phước An's drop
    payment = re.search(r'id="dien-bien-2".*?<figcaption>(.*?)</figcaption>', section, re.S).group(1)
    first, second = (float(v.replace(",", ".")) for v in re.findall(r"6 tháng (?:đầu|cuối) năm 202\d: ([\d,]+) %", payment))
    assert round(first - second, 1) == round((93.6 - 60) / 14, 1)
    # a period stored without its district values (by a version-1 store) has them computed from its figures
    engine = _engine(store)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM aggregate"))
    engine.dispose()
    run(inbox, tmp_path / "outbox", store, "--config", config(tmp_path, "2024S2"))
    again = page(tmp_path / "outbox")
    assert re.search(r'id="dien-bien-2".*?<figcaption>(.*?)</figcaption>', again, re.S).group(1) == payment
    assert "Thay đổi của từng đơn vị so với kỳ trước (6 tháng đầu năm 2024)" in section
    an = re.search(r"<tr><td>Xã Phước An</td>(.*?)</tr>", section).group(1)
    assert "<td>60,0 (−33,6)</td>" in an
    assert unicodedata_nfc(html)


def unicodedata_nfc(text: str) -> bool:
    import unicodedata  # only here: one assertion needs it

    return unicodedata.is_normalized("NFC", text)


def test_history_lists_periods_and_units_and_one_unit_s_series(inbox, tmp_path, store):
    _two_half_years(inbox, tmp_path, store)

    listing = run_cli("history", "--history", store)
    assert listing.exit_code == 0
    assert "Các kỳ đã lưu (2):" in listing.output
    assert re.search(rf"2024S1\s+14\s+{FIGURES - 4}\s+4\s", listing.output)  # Phước Sơn's broken Tổng số rule, rejected
    assert "Các đơn vị (14):" in listing.output
    assert re.search(r"x-phuoc-an\s+Xã Phước An – 2 kỳ: 2024S1, 2024S2", listing.output)

    series = run_cli("history", "--history", store, "--unit", "x-phuoc-an")
    assert series.exit_code == 0
    assert series.output.startswith("Xã Phước An (mã x-phuoc-an): số liệu qua 2 kỳ")
    assert re.search(r"Máy tính\s+5\s+15\n", series.output)
    assert re.search(r"Tỷ lệ thanh toán trực tuyến – \(ii\) Kết quả sau khi chuyển giao\s+93,6\s+60\n", series.output)
    son = run_cli("history", "--history", store, "--unit", "x-phuoc-son").output
    assert re.search(r"Tổng số\s+lỗi \(total-mismatch\)\s+lỗi \(total-mismatch\)", son)

    data = json.loads(run_cli("history", "--history", store, "--json").output)
    assert [p["period"] for p in data["periods"]] == ["2024S1", "2024S2"]
    assert data["periods"][0] | {"run_time": ""} == {"period": "2024S1", "units": 14, "accepted": FIGURES - 4,
                                                       "rejected": 4, "run_time": ""}
    assert {"code": "x-phuoc-an", "name": "Xã Phước An", "periods": ["2024S1", "2024S2"]} in data["units"]
    one = json.loads(run_cli("history", "--history", store, "--unit", "x-phuoc-an", "--json").output)
    computers = [(v["period"], v["value"], v["cell"]) for v in one["values"] if v["field_code"] == "form1.computers"]
    assert computers == [("2024S1", 5.0, "G7"), ("2024S2", 15.0, "G7")]


def test_history_says_in_vietnamese_what_it_cannot_show(tmp_path, store):
    if "://" not in store:
        missing = run_cli("history", "--history", store)
        assert missing.exit_code == 2
        assert "chưa có lịch sử ở đây (chưa lần chạy nào ghi vào tệp này)" in missing.output
        assert not Path(store).exists()  # looking did not create it
    open_store(store).close()
    empty = run_cli("history", "--history", store)
    assert empty.exit_code == 0 and "Chưa có kỳ nào được lưu." in empty.output
    unknown = run_cli("history", "--history", store, "--unit", "x-phuoc-xyz")
    assert unknown.exit_code == 2 and "không có số liệu nào của đơn vị mã “x-phuoc-xyz”" in unknown.output


def test_a_trend_s_first_label_stays_clear_of_the_axis_ticks():
    """A value near 100 % was labelled right over the "100" tick: "10094,0" on the page."""
    from consolidate.write.html_trends import LEFT, trend_svg  # only this test draws a chart by itself

    svg = trend_svg([("2024S1", 94.0), ("2024S2", 95.5), ("2025S1", 99.7)], "Tỷ lệ nộp hồ sơ trực tuyến")
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle" font-size="10" stroke="white"[^>]*>([^<]+)<', svg)
    assert [text for _, text in labels] == ["94,0", "95,5", "99,7"]
    digit = 10 * 0.64  # DejaVu Sans digits at font-size 10, a little wide
    for x, text in labels:
        assert float(x) - len(text) * digit / 2 > LEFT - 6 + 2, (x, text)  # the ticks end at LEFT - 6 (text-anchor end)
