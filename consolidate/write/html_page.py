"""The clerk's one-page overview as a self-contained HTML file: completeness, problems by unit, charts."""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from ..core import problems as P
from .charts import caption, chart, indicator_bars
from .feedback.patched import feedback_dir
from .files import atomic_target
from .html_trends import trends_section
from ..core.results import MISSING, REPORTED, STATUS_LABELS, UNUSABLE, RunResult
from ..core.template import FORM2_INDICATORS

CSS = """
body { font-family: "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; color: #222;
       max-width: 1150px; margin: 0 auto; padding: 1.5rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #DDEBF7; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
.meta { color: #555; margin-top: 0; }
.boxes { display: flex; gap: .8rem; flex-wrap: wrap; margin: 1rem 0; }
.box { border: 1px solid #ccc; border-radius: 6px; padding: .5rem 1rem; min-width: 9rem; }
.box b { display: block; font-size: 1.5rem; }
.box.bad { border-color: #9C0006; background: #FFC7CE; }
.box.warn { border-color: #9C6500; background: #FFEB9C; }
.box.good { border-color: #2E7D32; background: #E8F5E9; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #bbb; padding: .3rem .45rem; text-align: left; vertical-align: top; }
th { background: #DDEBF7; }
td { overflow-wrap: anywhere; }
td.o, td.muc { white-space: nowrap; }
.chu-y { border: 1px solid #9C6500; background: #FFEB9C; border-radius: 6px; padding: .5rem 1rem; }
tr.loi td.muc { background: #FFC7CE; color: #9C0006; font-weight: bold; }
tr.canh-bao td.muc { background: #FFEB9C; }
tr.thong-tin td.muc { color: #555; }
nav ul { margin: .2rem 0; }
.top { font-size: .85rem; }
figure { margin: 1rem 0 2rem; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .92rem; }
.note { color: #555; font-style: italic; }
@media print { nav, .top { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""
# No request can leave the page, even if some text slipped through unescaped.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# A bar per unit stays legible up to about this many units (a district has 10–30);
# beyond it the page keeps the figures as tables and skips the charts.
MAX_CHART_UNITS = 60


def esc(value: object) -> str:
    return _escaped(str(value))


@lru_cache(maxsize=1 << 14)
def _escaped(text: str) -> str:
    """Cached: a country's page repeats each unit's name and the same few figures tens of thousands of times."""
    return html.escape(text, quote=True)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"


# Grouping problems by unit ---------------------------------------------------


@dataclass
class Group:
    anchor: str
    title: str
    problems: list[P.Problem] = field(default_factory=list)

    @property
    def counts(self) -> str:
        return counts(self.problems)


def counts(problems: list[P.Problem]) -> str:
    """'2 lỗi, 1 cảnh báo' for the non-zero severities."""
    parts = []
    for severity, label in ((P.ERROR, "lỗi"), (P.WARNING, "cảnh báo"), (P.INFO, "thông tin")):
        n = sum(1 for p in problems if p.severity == severity)
        if n:
            parts.append(f"{n} {label}")
    return ", ".join(parts)


def unit_anchor(code: str) -> str:
    return f"don-vi-{_slug(code)}"


def group_problems(result: RunResult) -> list[Group]:
    """Problems by registry unit (official order), then by file for what no unit can be named for.

    In a province over districts each district has a group before its units': a district that sent
    nothing, and what a district's merged workbook says of itself (its log's errors, a wrong period),
    belong to the district, not to whichever commune the workbook names last.
    """
    registry = result.registry
    units: dict[str, Group] = {}
    for u in result.consolidated.units:
        if u.parent and u.parent != registry.root.code and u.parent not in units:
            district = registry.unit(u.parent)
            units[district.code] = Group(unit_anchor(district.code), district.name)
        units[u.code] = Group(unit_anchor(u.code), u.name)
    unit_of_file = {s.file: code for code, s in result.status.items() if s.file}
    unit_of_file.update({name: code for code, name in result.used.items()})
    for sub in result.submissions:
        sender = registry.sender(sub.matched.values())
        if sender is not None and sender.code in units:
            unit_of_file[sub.name] = sender.code
    files: dict[str, Group] = {}
    other = Group("khac", "Khác")
    for p in result.problems:
        unit = registry.match(p.unit) if p.unit and p.code != P.UnitUnknown.code else None
        if unit is not None and unit.code in units:
            units[unit.code].problems.append(p)
        elif p.file in unit_of_file:
            units[unit_of_file[p.file]].problems.append(p)
        elif p.file:
            files.setdefault(p.file, Group(f"tep-{len(files) + 1}", f"Tệp {p.file}")).problems.append(p)
        else:
            other.problems.append(p)
    groups = [g for g in units.values() if g.problems]
    groups += sorted(files.values(), key=lambda g: g.title)
    return groups + ([other] if other.problems else [])


def unusable_files(result: RunResult) -> list[tuple[str, list[P.Problem]]]:
    """Files that gave no figures and that no unit's status already explains (unknown unit, unreadable…).

    Older or duplicate copies of a unit's report, and temporary or hidden files,
    are not listed: they were left out on purpose.
    """
    used = set(result.used.values())
    explained = {s.file for s in result.status.values() if s.file}
    left_out = {P.Superseded.code, P.DuplicateFile.code, P.ResubmissionConflict.code}
    by_file = P.by_file(result.problems)
    found = []
    for f in result.files:
        mine = by_file.get(f.name, [])
        if f.name in used or f.name in explained or any(p.code in left_out for p in mine):
            continue
        serious = [p for p in mine if p.severity == P.ERROR] or [p for p in mine if p.severity == P.WARNING]
        if serious:
            found.append((f.name, serious))
    return found


# The page --------------------------------------------------------------------


def _problem_table(problems: list[P.Problem]) -> str:
    """Errors first, then warnings, then notes; each problem's kind in words (its code is in the CSV log)."""
    head = "".join(f"<th>{h}</th>" for h in ("Tệp", "Trang tính", "Ô", "Đơn vị", "Loại", "Mức độ", "Nội dung",
                                              "Cách khắc phục"))
    rows = []
    for p in P.worst_first(problems):
        cls = {P.ERROR: "loi", P.WARNING: "canh-bao"}.get(p.severity, "thong-tin")
        rows.append(
            f'<tr class="{cls}"><td>{esc(p.file)}</td><td>{esc(p.sheet)}</td><td class="o">{esc(p.cell)}</td>'
            f'<td>{esc(p.unit)}</td><td class="loai">{esc(p.title)}</td>'
            + f'<td class="muc">{esc(p.severity_label)}</td><td>{esc(p.message)}</td><td>{esc(p.how_to_fix)}</td></tr>'
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _feedback_links(problems: list[P.Problem], links: dict[str, str]) -> str:
    names = sorted({p.file for p in problems if p.file in links})
    if not names:
        return ""
    items = ", ".join(f'<a href="{esc(links[n])}">{esc(n)}</a>' for n in names)
    return f"<p>Tệp phản hồi gửi lại đơn vị (ô có lỗi được tô đỏ, có ghi chú): {items}</p>"


def _feedback_hrefs(feedback: Sequence[Path], page: Path) -> dict[str, str]:
    """Inbox file name → relative link to its feedback copy, for copies beside the page."""
    folder = feedback_dir(page.parent)
    links = {}
    for path in feedback:
        try:
            name = path.relative_to(folder).as_posix()
        except ValueError:
            continue
        links[name] = quote(Path(os.path.relpath(path, page.parent)).as_posix())
    return links


def _status_item(result: RunResult, code: str) -> str:
    st = result.status[code]
    detail = " – ".join(esc(x) for x in (st.file, st.note) if x)
    link = f'<a href="#{unit_anchor(code)}">{esc(result.registry_name(code))}</a>'
    return f"<li>{link}{': ' + detail if detail else ''}</li>"


def render(result: RunResult, feedback_links: dict[str, str] | None = None) -> str:
    """The whole page as one string (NFC)."""
    s, c = result.settings, result.consolidated
    links = feedback_links or {}
    groups = group_problems(result)
    unusable = unusable_files(result)
    errors, warnings = len(result.errors), len(result.warnings)
    reported = result.count(REPORTED)
    complete = reported == len(result.status)
    d = s.report_date
    title = f"Tổng hợp báo cáo số {s.report_number} – {s.area}"
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="vi">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f'<h1 id="dau-trang">{esc(title)}</h1>',
        f'<p class="meta">Báo cáo số {esc(s.report_number)} ngày {d.day:02d} tháng {d.month} năm {d.year} '
        f"của {esc(s.signer)} · Kỳ sau khi chuyển giao (Biểu mẫu 2): {esc(s.period_after)}</p>",
        '<div class="boxes">',
        f'<div class="box {"good" if complete else "bad"}">Đơn vị đã báo cáo<b>{reported}/{len(result.status)}</b></div>',
        f'<div class="box {"bad" if errors else "good"}">Lỗi<b>{errors}</b></div>',
        f'<div class="box {"warn" if warnings else "good"}">Cảnh báo<b>{warnings}</b></div>',
        f'<div class="box">Tệp đã đọc<b>{len(result.submissions)}</b></div>',
        "</div>",
    ]

    for p in result.problems:  # the sample units list with another district's files: before anything else
        if p.code == P.SampleUnitsList.code:
            out.append(f'<p class="chu-y"><b>Chú ý:</b> {esc(p.message)} {esc(p.how_to_fix)}</p>')

    # Table of contents
    out.append('<nav><h2 id="muc-luc">Mục lục</h2><ul>')
    out.append('<li><a href="#tinh-hinh">Tình hình nhận báo cáo</a></li>')
    out.append('<li><a href="#loi">Lỗi và cảnh báo theo đơn vị</a>')
    if groups:
        out.append("<ul>" + "".join(
            f'<li><a href="#{g.anchor}">{esc(g.title)}</a> ({g.counts})</li>' for g in groups
        ) + "</ul>")
    out.append("</li>")
    out.append('<li><a href="#bieu-do">Biểu đồ Biểu mẫu 2 theo đơn vị</a></li>')
    out.append('<li><a href="#lich-su">Diễn biến qua các kỳ báo cáo</a></li>' if result.history else "")
    out.append("</ul></nav>")

    # Completeness
    out.append('<h2 id="tinh-hinh">Tình hình nhận báo cáo</h2>')
    out.append(f"<p>Đã nhận báo cáo dùng được của <b>{reported}/{len(result.status)}</b> đơn vị.</p>")
    for state in (MISSING, UNUSABLE):
        codes = [code for code, st in result.status.items() if st.state == state]
        if codes:
            items = "".join(_status_item(result, code) for code in codes)
            out.append(f"<h3>{STATUS_LABELS[state]} ({len(codes)})</h3><ul>{items}</ul>")
    if complete:
        out.append("<p>Tất cả đơn vị đã báo cáo.</p>")
    empty = [u.name for u in c.missing if result.status[u.code].state == REPORTED]
    if empty:
        out.append(f'<p class="note">Đã báo cáo nhưng không có số liệu tổng hợp được: {esc(", ".join(empty))}.</p>')
    if unusable:
        out.append(f"<h3>Tệp không tổng hợp được số liệu nào ({len(unusable)})</h3><ul>")
        for name, found in unusable:
            reasons = " ".join(esc(p.message) for p in found)
            out.append(f"<li><b>{esc(name)}</b>: {reasons}</li>")
        out.append("</ul>")

    # Problems by unit
    out.append('<h2 id="loi">Lỗi và cảnh báo theo đơn vị</h2>')
    if not groups:
        out.append("<p>Không có lỗi hay cảnh báo nào.</p>")
    for g in groups:
        out.append(f'<h3 id="{g.anchor}">{esc(g.title)} <small>({g.counts})</small></h3>')
        out.append(_feedback_links(g.problems, links))
        out.append(_problem_table(g.problems))
        out.append('<p class="top"><a href="#muc-luc">↑ Mục lục</a></p>')

    # Charts
    out.append('<h2 id="bieu-do">Biểu đồ Biểu mẫu 2 theo đơn vị</h2>')
    out.append(f"<p>Kết quả đạt được sau khi chuyển giao ({esc(s.period_after)}), tỷ lệ %, từng đơn vị.</p>")
    charts = len(c.units) <= MAX_CHART_UNITS
    if not charts:
        out.append(
            f'<p class="note">Có {len(c.units)} đơn vị, quá nhiều để vẽ biểu đồ dễ đọc (tối đa {MAX_CHART_UNITS}); '
            "số liệu từng đơn vị ở các bảng dưới đây và ở trang “Chi tiết Biểu mẫu 2” của bảng tổng hợp.</p>"
        )
    for n, ind in enumerate(FORM2_INDICATORS, start=1):
        bars = indicator_bars(c, ind)
        out.append(f'<figure id="chi-tieu-{n}"><h3>{n}. {esc(ind.label)}</h3>')
        if charts:
            out.append(chart(bars, c, ind, s.target(ind.key), f"{ind.label}: kết quả sau khi chuyển giao theo đơn vị"))
        out.append(f"<figcaption>{esc(caption(bars, c, ind, s.target(ind.key), charts))}</figcaption>")
        rows = "".join(
            f"<tr><td>{esc(b.unit)}</td><td>{esc(b.note)}</td><td>{esc(b.target_note)}</td></tr>" for b in bars
        )
        out.append(
            f"<details{'' if charts else ' open'}><summary>Số liệu từng đơn vị</summary><table><thead><tr><th>Đơn vị</th>"
            "<th>Kết quả sau khi chuyển giao (%)</th><th>Chỉ tiêu UBND tỉnh giao (%)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details></figure>"
        )
    out.append(trends_section(result))  # "" without a history
    out.append("</body>\n</html>\n")
    return unicodedata.normalize("NFC", "\n".join(x for x in out if x))


def write_html_summary(result: RunResult, path: Path, feedback: Sequence[Path] = ()) -> Path:
    """Write the page atomically; ``feedback`` copies beside it are linked from their unit's section."""
    page = render(result, _feedback_hrefs(feedback, path))
    with atomic_target(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
