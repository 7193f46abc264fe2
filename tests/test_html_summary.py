"""The clerk's overview page: one HTML file that opens offline and says who reported, what is wrong, how units did."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import unicodedata
from pathlib import Path

import pytest

from consolidate.write.sample import SEED_FORM1
from consolidate.core.template import FORM2_INDICATORS
from conftest import Text, run_cli, set_cells, unit_file

PAGE = "tong-hop-tuy-phuoc.html"
HOSTILE = '<b>Xã lạ</b> & <script>alert("x")</script>'


def page(out: Path) -> str:
    return (out / PAGE).read_text(encoding="utf-8")


def charts(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, re.S)


def test_the_page_is_vietnamese_self_contained_and_offline(inbox, out):
    run_cli("run", inbox, "--out", out)
    html = page(out)

    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in html and '<meta charset="utf-8">' in html
    assert unicodedata.is_normalized("NFC", html)
    assert "<h1" in html and "Tổng hợp báo cáo số 362/UBND – huyện Tuy Phước" in html
    assert "ngày 09 tháng 8 năm 2024" in html
    # nothing is fetched: no URL, every src is inline data, every link stays in the page or beside it
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", html)
    assert not re.search(r"https?:|//|url\(|@import", text, re.I)
    assert text.lower().count("http") == text.lower().count("http-equiv")  # the no-network policy itself
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))
    assert all(href.startswith("#") or not re.match(r"[a-z]+:", href) for href in re.findall(r'href="([^"]*)"', html))
    drawn = charts(html)
    assert len(drawn) == len(FORM2_INDICATORS)
    for svg in drawn:  # one bar or one "why not" per unit, each unit named
        assert svg.count("<rect ") + svg.count('font-style="italic"') == len(SEED_FORM1)
        assert all(name in svg for name in SEED_FORM1)


def test_completeness_errors_by_unit_and_what_units_typed_is_escaped(inbox, out):
    unit_file(inbox, "x-phuoc-thang").unlink()
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 1", {"B7": Text(HOSTILE)})

    run_cli("run", inbox, "--out", out)
    html = page(out)

    for name in SEED_FORM1:  # every unit appears (in the charts' data at least)
        assert name in html, name
    assert "Đã nhận báo cáo dùng được của <b>12/14</b> đơn vị." in html
    missing = html[html.index("<h3>Chưa báo cáo (2)</h3>"):]
    missing = missing[: missing.index("</ul>")]
    assert '<a href="#don-vi-x-phuoc-thang">Xã Phước Thắng</a>' in missing
    assert '<a href="#don-vi-x-phuoc-hiep">Xã Phước Hiệp</a>' in missing
    # the file whose unit is unknown is listed as giving nothing, with the typed name escaped
    assert "Tệp không tổng hợp được số liệu nào (1)" in html
    assert "<b>bao-cao-x-phuoc-hiep.xlsx</b>" in html
    assert "&lt;b&gt;Xã lạ&lt;/b&gt; &amp; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<script" not in html and "Xã lạ</b>" not in html

    # a table of contents of links, one anchored section per unit with problems
    for anchor in ("don-vi-x-phuoc-son", "don-vi-x-phuoc-thang", "don-vi-x-phuoc-hiep", "tep-1"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html, anchor
    son = html[html.index('id="don-vi-x-phuoc-son"'):]
    son = son[: son.index("</table>")]
    row = re.sub(r"<[^>]+>", "|", son[son.index("<tbody>"):])
    cells = [c for c in row.split("|") if c]
    assert cells == ["bao-cao-x-phuoc-son.xlsx", "Biểu mẫu 1", "C7", "Xã Phước Sơn", "Tổng số không khớp", "Lỗi",
                     "Tổng số 7 ≠ 6 + 0 + 0 (= 6).",
                     "Tổng số phải bằng tổng ba cột thành phần: sửa Tổng số thành 6 hoặc sửa lại các cột thành phần."]
    assert '<a href="phan-hoi/bao-cao-x-phuoc-son.xlsx">' in son  # the unit's feedback copy


def test_without_targets_the_charts_say_so(inbox, out):
    run_cli("run", inbox, "--out", out)
    html = page(out)
    assert html.count("Chưa có chỉ tiêu UBND tỉnh giao") == len(FORM2_INDICATORS)
    assert "Trung bình cộng (không trọng số) của 14 đơn vị" in html


def test_targets_and_a_bad_rate_show_on_the_chart(inbox, out):
    for code in ("huyen-tuy-phuoc", "x-phuoc-an", "x-phuoc-son"):
        path = unit_file(inbox, code)
        if path.exists():
            set_cells(path, "Biểu mẫu 2", {"D7": 95})
    set_cells(unit_file(inbox, "x-phuoc-hiep"), "Biểu mẫu 2", {"E7": 120})
    run_cli("run", inbox, "--out", out)
    html = page(out)

    first = html[html.index('id="chi-tieu-1"'):html.index('id="chi-tieu-2"')]
    assert "Vạch đen: chỉ tiêu UBND tỉnh giao 95,0 %" in first
    assert "Cột đỏ: số liệu có lỗi, không được tính vào giá trị chung." in first
    assert "<td>Xã Phước Hiệp</td><td>120,0 (lỗi)</td>" in first
    svg = charts(first)[0]
    assert svg.count('fill="#C00000"><title>Xã Phước Hiệp: 120,0 (lỗi)</title>') == 1  # the red bar
    assert svg.count('stroke-width="2.5"') == first.count("</td><td>95,0</td></tr>") >= 2  # the units' target ticks
    assert "Chỉ tiêu UBND tỉnh giao</text>" in svg  # in the legend
    assert "Trung bình cộng (không trọng số) của 13 đơn vị" in first
    assert html.count("Chưa có chỉ tiêu UBND tỉnh giao") == len(FORM2_INDICATORS) - 1


# DejaVu Sans's digits are 0.64 em wide, its comma and space narrower: a label is at most this wide, at 11 px.
CHAR_W = 0.64 * 11
VALUE_LABEL = re.compile(r'<text x="([\d.]+)" y="[\d.]+" font-size="11" fill="[^"]+" stroke="white"[^>]*>([^<]*)</text>')
FULL_HEIGHT_LINE = re.compile(r'<line x1="([\d.]+)" y1="10" x2="\1" y2="\d+" stroke="(#555|#111111)"')


def test_chart_labels_share_one_format_and_stay_clear_of_the_lines(inbox, out, tmp_path):
    """Rates of 92 and 94 around a district value of about 93: each bar's label sits beside the dotted
    line and the province's dashed one, never under them, and every label reads with one decimal."""
    after = [92, 94, 92.8, 94, 92, 94, 92, 94, 92, 94, 92, 93.5, 92, 94]
    for path, rate in zip(sorted(inbox.glob("*.xlsx")), after):
        set_cells(path, "Biểu mẫu 2", {"E7": rate})
    config = tmp_path / "cau-hinh.toml"
    sample = Path(__file__).parent.parent / "consolidate" / "data" / "tuy-phuoc" / "report.toml"
    config.write_text(sample.read_text(encoding="utf-8") + "\n[form2.targets]\nonline_submission = 93.9\n",
                      encoding="utf-8")
    run_cli("run", inbox, "--out", out, "--config", config)
    html = page(out)

    svg = charts(html[html.index('id="chi-tieu-1"'):html.index('id="chi-tieu-2"')])[0]
    labels = [(float(x), text) for x, text in VALUE_LABEL.findall(svg)]
    lines = [float(x) for x, _ in FULL_HEIGHT_LINE.findall(svg)]
    assert len(labels) == 14 and len(lines) == 2  # the district value (dotted), the province target (dashed)
    for x, text in labels:
        assert not any(x - 1 <= line <= x + len(text) * CHAR_W + 1 for line in lines), (text, x, lines)
    assert sorted({text for _, text in labels}) == ["92,0", "92,8", "93,5", "94,0"]
    for svg in charts(html):
        assert all(re.fullmatch(r"\d+,\d( \(lỗi\))?", text) for _, text in VALUE_LABEL.findall(svg))
    assert "Chỉ tiêu UBND tỉnh giao: 93,9 %" in html


def test_the_province_target_from_the_settings_and_a_weighted_mean_are_named(inbox, tmp_path):
    import dataclasses

    from consolidate import app
    from consolidate.write.html_page import write_html_summary
    from consolidate.settings.report import default_settings

    for n, path in enumerate(sorted(inbox.glob("*.xlsx"))):
        set_cells(path, "Biểu mẫu 2", {"G7": 100 + n})  # dossiers behind rate (ii) of indicator 1
    settings = dataclasses.replace(default_settings(), targets=(("online_submission", 95.0),))
    result = app.run(inbox, settings=settings)
    html = write_html_summary(result, tmp_path / PAGE).read_text(encoding="utf-8")

    first = html[html.index('id="chi-tieu-1"'):html.index('id="chi-tieu-2"')]
    assert "Đường gạch: chỉ tiêu UBND tỉnh giao 95,0 % (cấu hình báo cáo)." in first
    dossiers = f"{sum(range(100, 114)):,}".replace(",", ".")
    assert f"Bình quân theo số hồ sơ của 14 đơn vị ({dossiers} hồ sơ)" in first
    second = html[html.index('id="chi-tieu-2"'):html.index('id="chi-tieu-3"')]
    assert "Trung bình cộng (không trọng số) của 14 đơn vị" in second
    assert "Chưa có chỉ tiêu UBND tỉnh giao" in second


def test_a_clean_inbox_says_there_is_nothing_to_fix(inbox, out):
    set_cells(unit_file(inbox, "x-phuoc-son"), "Biểu mẫu 1", {"C7": 6})
    run_cli("run", inbox, "--out", out)
    html = page(out)
    assert "Không có lỗi hay cảnh báo nào." in html
    assert "Tất cả đơn vị đã báo cáo." in html
    assert not (out / "phan-hoi").exists() or not list((out / "phan-hoi").iterdir())


def test_too_many_units_for_a_bar_chart_keeps_the_tables(inbox, out, monkeypatch):
    from consolidate.write import html_page as html_summary

    monkeypatch.setattr(html_summary, "MAX_CHART_UNITS", 10)
    run_cli("run", inbox, "--out", out)
    html = page(out)
    assert charts(html) == []
    assert "Có 14 đơn vị, quá nhiều để vẽ biểu đồ dễ đọc (tối đa 10)" in html
    assert html.count("<details open>") == len(FORM2_INDICATORS)
    assert "đường chấm" not in html and "vạch chỉ tiêu" not in html


def test_same_inbox_same_page(inbox, tmp_path):
    run_cli("run", inbox, "--out", tmp_path / "a")
    run_cli("run", inbox, "--out", tmp_path / "b")
    assert (tmp_path / "a" / PAGE).read_bytes() == (tmp_path / "b" / PAGE).read_bytes()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium (Debian package chromium) is not installed")
def test_the_page_renders_in_a_browser(inbox, out, tmp_path):
    unit_file(inbox, "x-phuoc-thang").unlink()
    run_cli("run", inbox, "--out", out)
    shot = tmp_path / "tong-hop.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={shot}", "--window-size=1280,2000",
         (out / PAGE).resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 50_000  # text, tables and a chart, not a blank page
