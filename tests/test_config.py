"""The clerk of any district describes it in two files: a units table and a config."""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from consolidate.settings.units import ConfigError, load_registry
from consolidate.settings.report import load_config
from consolidate.write.examples import write_examples
from consolidate.settings.units import default_registry
from consolidate.settings.report import default_settings

HEADER = "code,name,level,parent\n"


def write_csv(tmp_path: Path, text: str, name: str = "don-vi.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Đơn vị")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                ws.write(r, c, value)
    wb.close()
    return path


def refusal(path: Path, loader=load_registry) -> str:
    with pytest.raises(ConfigError) as info:
        loader(path)
    message = str(info.value)
    assert unicodedata.is_normalized("NFC", message)
    return message


# The units table --------------------------------------------------------------


def test_a_table_saved_by_excel_in_a_vietnamese_locale_loads(tmp_path):
    # Excel (Vietnamese locale) writes ';' and a BOM; a clerk's keyboard may type NFD.
    text = (
        "STT;Mã đơn vị;Tên đơn vị;Cấp;Mã đơn vị cấp trên;Ghi chú\n"
        "1;an-nhon;Thị xã An Nhơn;huyện;;đơn vị tổng hợp\n"
        ";;;;;\n"
        f"2; p-binh-dinh ;{unicodedata.normalize('NFD', 'Phường Bình Định')};xã;an-nhon;\n"
        "3;x-nhon-hau;Xã  Nhơn Hậu;xã;an-nhon;\n"
    )
    registry = load_registry(write_csv(tmp_path, text, encoding="utf-8-sig"))
    assert [(u.code, u.name, u.level, u.parent) for u in registry.units] == [
        ("an-nhon", "Thị xã An Nhơn", "huyện", ""),
        ("p-binh-dinh", "Phường Bình Định", "xã", "an-nhon"),
        ("x-nhon-hau", "Xã Nhơn Hậu", "xã", "an-nhon"),
    ]
    assert all(unicodedata.is_normalized("NFC", u.name) for u in registry.units)
    assert registry.root.code == "an-nhon"
    assert registry.match("phường bình định").code == "p-binh-dinh"


def test_headers_are_matched_without_accents_or_case(tmp_path):
    text = "MA,TEN DON VI,cap,Cap tren\nh,Huyện H,huyện,\nx-a,Xã A,xã,h\n"
    registry = load_registry(write_csv(tmp_path, text))
    assert [(u.code, u.parent) for u in registry.units] == [("h", ""), ("x-a", "h")]


def test_without_a_parent_column_the_first_unit_consolidates_the_others(tmp_path):
    registry = load_registry(write_csv(tmp_path, "Mã,Tên\nh,Huyện H\nx-b,Xã B\nx-a,Xã A\n"))
    assert registry.root.code == "h"
    assert [u.code for u in registry.reporting_units()] == ["x-b", "x-a"]


def test_an_excel_table_loads_in_the_files_order(tmp_path):
    path = write_xlsx(tmp_path / "don-vi.xlsx", [
        [],
        ["Mã", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên"],
        ["tuy-phuoc", "Huyện Tuy Phước", "huyện", None],
        ["x-phuoc-thuan", "Xã Phước Thuận", "xã", "tuy-phuoc"],
        [],
        [101, "Xã Phước An", "xã", "tuy-phuoc"],  # a code Excel stored as a number
        ["cap-huyen", "Cấp huyện", "huyện", "tuy-phuoc"],
    ])
    registry = load_registry(path)
    assert [u.code for u in registry.units] == ["tuy-phuoc", "x-phuoc-thuan", "101", "cap-huyen"]
    assert [u.name for u in registry.reporting_units()] == ["Xã Phước Thuận", "Xã Phước An", "Cấp huyện"]


def test_an_excel_table_with_an_error_names_the_excel_row(tmp_path):
    path = write_xlsx(tmp_path / "don-vi.xlsx", [
        ["Danh sách đơn vị"],  # a title above the header
        ["Mã", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên"],
        ["h", "Huyện H", "huyện", None],
        ["x-a", None, "xã", "h"],
    ])
    assert refusal(path) == "Tệp don-vi.xlsx, dòng 4, cột “Tên đơn vị”: để trống tên của đơn vị mã “x-a”."


VN_HEADER = "Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên\n"


@pytest.mark.parametrize("rows, message", [
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,tp\nx-b,Xã Phước Hòa,xã,tp\nx-a,Xã Phước Sơn,xã,tp\n",
        "Tệp don-vi.csv, dòng 5, cột “Mã”: mã “x-a” đã dùng cho đơn vị “Xã Phước An” ở dòng 3; "
        "mỗi đơn vị cần một mã riêng.",
        id="duplicate-code",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,tp\nX-A,Xã Phước Sơn,xã,tp\n",
        "Tệp don-vi.csv, dòng 4, cột “Mã”: mã “X-A” đã dùng cho đơn vị “Xã Phước An” ở dòng 3 "
        "(mã “x-a”: chữ hoa, chữ thường được coi là một); mỗi đơn vị cần một mã riêng.",
        id="duplicate-code-other-case",
    ),
    pytest.param(
        "tuy-phuoc,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,tuy-phuoc\nx-b,Xã Phước Hòa,xã,tuy-phuoc\n"
        "x-c,Xã Phước Sơn,xã,tuy-phuoc\nx-d,Xã Phước Lộc,xã,tuy-phuoc\nx-e,Xã Phước Thắng,xã,tp-x\n",
        "Tệp don-vi.csv, dòng 7, cột “Mã đơn vị cấp trên”: không có đơn vị mã “tp-x”.",
        id="missing-parent",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,Huyện Tuy Phước\n",
        "Tệp don-vi.csv, dòng 3, cột “Mã đơn vị cấp trên”: không có đơn vị mã “Huyện Tuy Phước”. "
        "Cột này ghi mã của đơn vị cấp trên, không ghi tên: có phải mã “tp”?",
        id="parent-given-by-name",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,x-c\nx-b,Xã Phước Hòa,xã,x-a\nx-c,Xã Phước Sơn,xã,x-b\n",
        "Tệp don-vi.csv, dòng 3, cột “Mã đơn vị cấp trên”: cấp trên của các đơn vị nối thành vòng tròn: "
        "x-a → x-c → x-b → x-a (mỗi mũi tên chỉ tới đơn vị cấp trên); cấp trên của mỗi đơn vị phải dẫn lên "
        "đơn vị tổng hợp (đơn vị để trống cột này).",
        id="cycle",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,x-a\n",
        "Tệp don-vi.csv, dòng 3, cột “Mã đơn vị cấp trên”: đơn vị “x-a” ghi chính mình là cấp trên; "
        "cấp trên của mỗi đơn vị phải dẫn lên đơn vị tổng hợp (đơn vị để trống cột này).",
        id="own-parent",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước An,xã,tp\nan-nhon,Thị xã An Nhơn,huyện,\n",
        "Tệp don-vi.csv, dòng 4, cột “Mã đơn vị cấp trên”: để trống, nhưng đơn vị “tp” ở dòng 2 cũng để trống; "
        "chỉ một đơn vị (đơn vị tổng hợp) được để trống cột này, mỗi đơn vị khác ghi mã đơn vị cấp trên của mình.",
        id="two-roots",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,Xã Phước Hòa,xã,tp\nx-b,xã phước hoà,xã,tp\n",
        "Tệp don-vi.csv, dòng 4, cột “Tên đơn vị”: tên “xã phước hoà” trùng với đơn vị “x-a” ở dòng 3, "
        "cùng đơn vị cấp trên “tp”; báo cáo gửi về ghi tên đơn vị nên hai đơn vị cùng tên không phân biệt được.",
        id="same-name-same-parent",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\n,Xã Phước An,xã,tp\n",
        "Tệp don-vi.csv, dòng 3, cột “Mã”: để trống mã của đơn vị “Xã Phước An”; "
        "mỗi đơn vị cần một mã riêng, ví dụ “x-phuoc-an”.",
        id="empty-code",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx-a,,xã,tp\n",
        "Tệp don-vi.csv, dòng 3, cột “Tên đơn vị”: để trống tên của đơn vị mã “x-a”.",
        id="empty-name",
    ),
    pytest.param(
        "tp,Huyện Tuy Phước,huyện,\nx/a,Xã Phước An,xã,tp\n",
        "Tệp don-vi.csv, dòng 3, cột “Mã”: mã “x/a” có ký tự “/” không dùng được (mã được dùng để đặt tên tệp); "
        "chỉ nên dùng chữ không dấu, số và dấu gạch ngang, ví dụ “x-phuoc-an”.",
        id="code-unfit-for-a-file-name",
    ),
])
def test_a_table_that_cannot_be_trusted_is_refused_with_its_row_and_column(tmp_path, rows, message):
    assert refusal(write_csv(tmp_path, VN_HEADER + rows)) == message


def test_same_name_under_different_parents_is_allowed(tmp_path):
    text = HEADER + "bd,Tỉnh Bình Định,tỉnh,\nh1,Huyện Một,huyện,bd\nh2,Huyện Hai,huyện,bd\n" \
                    "a1,Xã An Hòa,xã,h1\na2,Xã An Hòa,xã,h2\n"
    assert len(load_registry(write_csv(tmp_path, text)).units) == 5


def test_a_missing_column_is_named(tmp_path):
    message = refusal(write_csv(tmp_path, "Mã;Đơn vị cấp trên\nh;\n"))
    assert message.startswith("Tệp don-vi.csv, dòng 1: thiếu cột “Tên đơn vị” (hoặc “name”);")


def test_a_table_in_an_old_encoding_is_refused_with_how_to_save_it(tmp_path):
    path = tmp_path / "don-vi.csv"
    path.write_bytes(b"M\xe3,T\xean\nh,Huy\xean H\n")  # "Mã,Tên" saved as Windows-1258
    message = refusal(path)
    assert message.startswith("Tệp don-vi.csv, dòng 1: không phải văn bản UTF-8")
    assert "CSV UTF-8" in message


def test_a_table_that_is_not_a_table_is_refused(tmp_path):
    assert "không tìm thấy tệp này" in refusal(tmp_path / "khong-co.csv")
    pdf = tmp_path / "don-vi.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    assert refusal(pdf).startswith("Tệp don-vi.pdf: bảng đơn vị phải là tệp .csv hoặc Excel .xlsx, tệp này là tệp PDF")
    assert refusal(write_csv(tmp_path, VN_HEADER)) == (
        "Tệp don-vi.csv: không có đơn vị nào dưới dòng tiêu đề (dòng 1).")


# The config file ---------------------------------------------------------------


def write_toml(tmp_path: Path, text: str, name: str = "cau-hinh.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_config_gives_only_what_differs_and_keeps_the_rest_of_the_default(tmp_path):
    path = write_toml(tmp_path, (
        'report_number = "415/BC-UBND"\n'
        "\n"
        "[form2.targets]\n"
        "online_submission = 80\n"
        "reused_results = 12.5\n"
    ))
    settings, units = load_config(path)
    default = default_settings()
    assert units is None
    assert settings.report_number == "415/BC-UBND"
    assert settings.target("online_submission") == 80 and settings.target("reused_results") == 12.5
    assert settings.target("online_payment") is None
    assert dataclasses.replace(settings, report_number=default.report_number, targets=()) == default


def test_targets_may_be_named_by_their_vietnamese_labels(tmp_path):
    path = write_toml(tmp_path, (
        "[form2.targets]\n"
        '"Tỷ lệ thanh toán trực tuyến" = 50\n'
        f'"{unicodedata.normalize("NFD", "tỷ lệ số hóa hồ sơ")}" = 100\n'
        'online_submission = 80\n'
    ))
    settings, _ = load_config(path)
    assert settings.targets == (("online_submission", 80.0), ("online_payment", 50.0), ("digitised_dossiers", 100.0))


def test_the_units_table_is_found_beside_the_config(tmp_path):
    write_csv(tmp_path, VN_HEADER + "h,Huyện H,huyện,\nx-a,Xã A,xã,h\n")
    (tmp_path / "cau-hinh").mkdir()
    path = write_toml(tmp_path / "cau-hinh", 'units = "../don-vi.csv"\narea = "huyện H"\n')
    settings, units = load_config(path)
    assert units == (tmp_path / "don-vi.csv").resolve()
    assert settings.area == "huyện H"
    assert load_registry(units).root.name == "Huyện H"


def test_a_toml_syntax_error_names_the_line_and_the_key(tmp_path):
    path = write_toml(tmp_path, 'issuer = "UBND huyện"\n\nreport_number = 362/UBND\n')
    message = refusal(path, load_config)
    assert message.startswith("Tệp cau-hinh.toml, dòng 3, khóa “report_number”: sai cú pháp TOML – ")
    assert "dấu ngoặc kép" in message and "Dòng này là: report_number = 362/UBND" in message


def test_a_windows_path_with_backslashes_gets_a_hint(tmp_path):
    message = refusal(write_toml(tmp_path, 'units = "C:\\Users\\don-vi.csv"\n'), load_config)
    assert message.startswith("Tệp cau-hinh.toml, dòng 1, khóa “units”: sai cú pháp TOML – dấu “\\”")


@pytest.mark.parametrize("text, message", [
    pytest.param(
        'year = "2024"\n',
        "Tệp cau-hinh.toml, dòng 1, khóa “year”: phải là một năm viết bằng số, không có ngoặc kép, "
        "ví dụ year = 2024; ở đây là chuỗi “2024”.",
        id="year-as-text",
    ),
    pytest.param(
        'area = "huyện A"\nreport_number = 362\n',
        "Tệp cau-hinh.toml, dòng 2, khóa “report_number”: phải là chữ trong dấu ngoặc kép, "
        "ví dụ report_number = \"362/UBND\"; ở đây là 362.",
        id="number-as-number",
    ),
    pytest.param(
        '[form2]\ntitle = "Kết quả"\n\n[form2.targets]\nonline_payment = 120\n',
        "Tệp cau-hinh.toml, dòng 5, khóa “form2.targets.online_payment”: "
        "chỉ tiêu phải là tỷ lệ % từ 0 đến 100, không phải 120.",
        id="target-above-100",
    ),
    pytest.param(
        '[form2.targets]\n"Tỷ lệ nộp hồ sơ" = 80\n',
        "Tệp cau-hinh.toml, dòng 2, khóa “form2.targets.Tỷ lệ nộp hồ sơ”: không có chỉ tiêu này trong "
        "Biểu mẫu 2. Có phải “Tỷ lệ nộp hồ sơ trực tuyến” (online_submission)?",
        id="unknown-indicator",
    ),
    pytest.param(
        '[form2.targets]\nonline_payment = 80\n"Tỷ lệ thanh toán trực tuyến" = 70\n',
        "Tệp cau-hinh.toml, dòng 3, khóa “form2.targets.Tỷ lệ thanh toán trực tuyến”: chỉ tiêu "
        "“Tỷ lệ thanh toán trực tuyến” đã được ghi ở khóa “online_payment”.",
        id="indicator-twice",
    ),
    pytest.param(
        'report_numer = "415/BC-UBND"\n',
        "Tệp cau-hinh.toml, dòng 1, khóa “report_numer”: không có khóa này trong cấu hình. "
        "Có phải “report_number”?",
        id="misspelt-key",
    ),
    pytest.param(
        'report_date = "tháng 8"\n',
        "Tệp cau-hinh.toml, dòng 1, khóa “report_date”: phải là một ngày viết năm-tháng-ngày, "
        "ví dụ report_date = 2024-08-09; ở đây là chuỗi “tháng 8”.",
        id="date-as-words",
    ),
    pytest.param(
        '[form2]\nnotes = [\n  "(i) …",\n  3,\n]\n',
        "Tệp cau-hinh.toml, dòng 2, khóa “form2.notes”: ghi chú thứ 2 phải là chữ trong dấu ngoặc kép; "
        "ở đây là 3.",
        id="note-not-text",
    ),
    pytest.param(
        'units = "khong-co.csv"\n',
        None,
        id="units-file-missing",
    ),
])
def test_a_config_with_a_wrong_value_is_refused_with_its_line_and_key(tmp_path, text, message):
    got = refusal(write_toml(tmp_path, text), load_config)
    if message is None:
        assert got.startswith("Tệp cau-hinh.toml, dòng 1, khóa “units”: không tìm thấy bảng đơn vị “khong-co.csv”")
    else:
        assert got == message


def test_a_date_typed_the_vietnamese_way_is_read(tmp_path):
    settings, _ = load_config(write_toml(tmp_path, 'report_date = "05/9/2024"\n'))
    assert settings.report_date == dt.date(2024, 9, 5)


# The examples ----------------------------------------------------------------------


def test_the_examples_to_start_from_load_back(tmp_path):
    paths = write_examples(tmp_path / "cau-hinh")
    assert [p.name for p in paths] == ["don-vi.xlsx", "cau-hinh.toml"]  # one units table: the one the settings name
    from_xlsx = load_registry(paths[0])
    # a district's: Tuy Phước exactly as the embedded default
    assert from_xlsx.units == default_registry().units
    assert from_xlsx.root.name == "Huyện Tuy Phước"

    ws = openpyxl.load_workbook(paths[0]).worksheets[0]
    assert [c.value for c in ws[1]][:4] == ["Mã", "Tên đơn vị", "Cấp", "Mã đơn vị cấp trên"]
    assert ws["A1"].font.b

    settings, units = load_config(paths[1])
    assert settings == default_settings() and units == paths[0].resolve()
    text = paths[1].read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text) and "# [form2.targets]" in text
    assert "Huyện Mẫu" not in text and "tỉnh Bình Định" not in text


def test_the_province_examples_are_worded_for_a_province(tmp_path):
    """`init --cap tinh`: the districts with their units, and "UBND tỉnh", "trên địa bàn tỉnh" on the report."""
    paths = write_examples(tmp_path / "tinh", level="tinh")
    table = load_registry(paths[0])  # the .xlsx, the one table init writes
    assert table.root.name == "Tỉnh Bình Định"
    assert [d.name for d, _ in table.groups()] == ["Huyện Tuy Phước", "Huyện Mẫu"]
    tuy_phuoc = [u for u in table.units if u.code in {d.code for d in default_registry().units}]
    assert [(u.code, u.name, u.level) for u in tuy_phuoc] == [(u.code, u.name, u.level) for u in default_registry().units]
    assert [u.name for u in table.units if u.parent == "huyen-mau"] == ["Xã Mẫu Một", "Xã Mẫu Hai", "Xã Mẫu Ba"]

    settings, units = load_config(paths[1])
    assert units == paths[0].resolve()
    assert settings.issuer == "UBND tỉnh" and settings.area == "tỉnh Bình Định"
    assert settings.form1_title.endswith("trên địa bàn tỉnh")
    text = paths[1].read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text) and "UBND huyện" not in text and "địa bàn huyện" not in text
    assert "Huyện Mẫu" in text  # the comment says which rows are made up


def test_the_commented_targets_of_the_example_work_once_uncommented(tmp_path):
    (_, config) = write_examples(tmp_path)
    lines = config.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [form2.targets]")
    config.write_text("\n".join(lines[:start] + [ln[2:] for ln in lines[start:]]) + "\n", encoding="utf-8")
    settings, _ = load_config(config)
    assert dict(settings.targets) == {
        "online_submission": 80, "online_payment": 50, "digitised_dossiers": 100,
        "electronic_results": 100, "reused_results": 50,
    }


def test_the_examples_never_overwrite_the_clerks_files(tmp_path):
    (tmp_path / "don-vi.xlsx").write_text("đã sửa", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        write_examples(tmp_path)
    assert str(info.value).startswith("Tệp don-vi.xlsx: đã có trong thư mục")
    assert (tmp_path / "don-vi.xlsx").read_text(encoding="utf-8") == "đã sửa"
    assert not (tmp_path / "cau-hinh.toml").exists()
    assert len(write_examples(tmp_path, overwrite=True)) == 2


def test_a_national_units_table_is_accepted_and_a_runaway_one_refused(tmp_path):
    """3,321 communes plus districts and provinces fit; a sheet run past 20,000 rows is refused."""
    def table(n: int) -> Path:
        lines = ["Mã,Tên đơn vị,Cấp,Mã đơn vị cấp trên", "vn,Việt Nam,quốc gia,"]
        lines += [f"x{i:05d},Xã Thử nghiệm {i:05d},xã,vn" for i in range(1, n + 1)]
        path = tmp_path / f"don-vi-{n}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    assert len(load_registry(table(10_000)).reporting_units()) == 10_000
    with pytest.raises(ConfigError, match="quá nhiều"):
        load_registry(table(20_000))
