"""The HTML page's history section: each indicator's district value over the stored periods, and each
unit's change since the previous period (issue 17).

Drawn from ``result.history``, which the run filled from the history store: this module knows
nothing of the store. The small charts are inline SVG in the style of ``charts.py``.
"""

from __future__ import annotations

import html
from pathlib import PurePath

from ..core.periods import period_name, sorted_periods
from ..core.results import HistoryView, RunResult
from ..core.template import FORM1, FORM1_LABELS, FORM2, FORM2_INDICATORS
from .charts import BAR, FONT, number

# Geometry of one small chart, in CSS pixels.
WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 20, 16, 50  # below the plot: each period on two lines, then the axis' name
INSET = 26  # the first and last points stand this far inside the axes: their labels clear the 0–100 ticks


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _lines(code: str) -> list[str]:
    """A period's words on two lines, the year below: ["6 tháng cuối", "năm 2024"]; "Năm 2024" on one."""
    name = period_name(code)
    head, sep, year = name.rpartition(" năm ")
    return [head, f"năm {year}"] if sep and head else [name]


def axis_label(code: str, x: float, y: float, size: int) -> str:
    """A period under its point as people say it, on two lines ("6 tháng cuối" / "năm 2024"): the words
    fit the room of one point where the whole name would run into the next one's."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if n == 0 else size + 1}">{_esc(line)}</tspan>'
                    for n, line in enumerate(_lines(code)))
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="{size}">{spans}</text>'


def _label_size(periods: list[str], plot_w: float) -> int:
    """The font size at which the longest line of a period's words fits the room between two points
    (a glyph is ~0.58 of the size wide in the page's fonts): 10 for a few periods, down to 6 for many."""
    if len(periods) < 2:
        return 10
    room = (plot_w - 2 * INSET) / (len(periods) - 1) - 4
    longest = max(len(line) for p in periods for line in _lines(p))
    return max(6, min(10, int(room / (0.58 * max(longest, 1)))))


def trend_svg(series: list[tuple[str, float]], title: str) -> str:
    """A line of the district value over the periods (0–100 %), each point labelled with its value."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([100.0, *(v for _, v in series)])

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(series) == 1 else INSET + (plot_w - 2 * INSET) * i / (len(series) - 1))

    def y(v: float) -> float:
        return TOP + plot_h * (1 - max(v, 0) / top)

    out = []
    for tick in range(0, int(top) + 1, 25):
        out.append(f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="10">{tick}</text>')
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(series))
    if len(series) > 1:
        out.append(f'<polyline points="{points}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    size = _label_size([p for p, _ in series], plot_w)
    for i, (period, value) in enumerate(series):
        out.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="{BAR}">'
                   f"<title>{_esc(period_name(period))}: {number(value)} %</title></circle>")
        out.append(f'<text x="{x(i):.1f}" y="{y(value) - 8:.1f}" text-anchor="middle" font-size="10" '
                   f'stroke="white" stroke-width="3" paint-order="stroke">{number(value)}</text>')
        out.append(axis_label(period, x(i), HEIGHT - BOTTOM + 16, size))
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="10">Kỳ báo cáo (tỷ lệ %)</text>')
    return (f'<svg role="img" aria-label="{_esc(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" {FONT}>' + "".join(out) + "</svg>")


def _change(now: float | None, before: float | None) -> str:
    if now is None:
        return "–"
    if before is None:
        return f"{number(now)} (kỳ trước không có)"
    delta = now - before
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return f"{number(now)} ({sign}{number(abs(delta))})"


def _changes_table(result: RunResult, view: HistoryView) -> str:
    """Each unit's Tổng số and 'after' rates now, and by how much they moved since the previous period."""
    c = result.consolidated
    head = ["Đơn vị", FORM1_LABELS["total"], *(i.label for i in FORM2_INDICATORS)]
    rows = []
    for unit in c.units:
        cells = []
        rec = c.form1.get(unit.code, {}).get("total")
        now = rec.value if rec is not None and isinstance(rec.value, float) and rec.source not in c.errors else None
        cells.append(_change(now, view.previous.get((unit.code, FORM1, "", "total"))))
        for ind in FORM2_INDICATORS:
            rec = c.form2.get(unit.code, {}).get(ind.key, {}).get("after")
            now = rec.value if rec is not None and isinstance(rec.value, float) and rec.source not in c.errors else None
            cells.append(_change(now, view.previous.get((unit.code, FORM2, ind.key, "after"))))
        rows.append(f"<tr><td>{_esc(unit.name)}</td>" + "".join(f"<td>{_esc(x)}</td>" for x in cells) + "</tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _charts(view: HistoryView) -> str:
    out = ["<p>Giá trị chung của huyện (kết quả sau khi chuyển giao, tỷ lệ %) qua các kỳ, tính như Biểu mẫu 2 "
           "từ số liệu hợp lệ đã lưu của từng kỳ.</p>",
           '<div style="display: flex; flex-wrap: wrap; gap: 0 1.5rem">']  # the small charts side by side
    for n, ind in enumerate(FORM2_INDICATORS, start=1):
        series = view.trends.get(ind.key, [])
        out.append(f'<figure id="dien-bien-{n}" style="max-width: {WIDTH}px"><h3>{n}. {_esc(ind.label)}</h3>')
        if series:
            out.append(trend_svg(series, f"{ind.label}: giá trị chung qua các kỳ"))
            words = "; ".join(f"{period_name(p)}: {number(v)} %" for p, v in series)
            out.append(f"<figcaption>{_esc(words)}.</figcaption>")
        else:
            out.append("<figcaption>Chưa có số liệu hợp lệ của chỉ tiêu này ở kỳ nào.</figcaption>")
        out.append("</figure>")
    out.append("</div>")
    return "\n".join(out)


def trends_section(result: RunResult) -> str:
    """The section, or "" for a run without a history."""
    view = result.history
    if view is None:
        return ""
    periods = sorted_periods(p for series in view.trends.values() for p, _ in series)
    # a file by its name only (the page is the same wherever the outputs go); a server by its URL (no password)
    store = view.store if "://" in view.store else PurePath(view.store).name
    out = ['<h2 id="lich-su">Diễn biến qua các kỳ báo cáo</h2>',
           f"<p>Kỳ báo cáo này: <b>{_esc(period_name(view.period))}</b>. Lịch sử: {_esc(store)}"
           + (f" ({len(periods)} kỳ có số liệu Biểu mẫu 2)." if periods else ".") + "</p>"]
    if len(periods) < 2:  # one point draws nothing worth a chart
        values = "; ".join(f"{ind.label}: {number(series[0][1])} %" for ind in FORM2_INDICATORS
                           if (series := view.trends.get(ind.key)))
        out.append('<p class="note">Lịch sử chưa có kỳ nào khác để so sánh; biểu đồ diễn biến sẽ có từ kỳ sau.'
                   + (f" Giá trị chung kỳ này: {_esc(values)}." if values else "") + "</p>")
    else:
        out.append(_charts(view))
    if view.previous_period is not None:
        out.append(f"<h3>Thay đổi của từng đơn vị so với kỳ trước ({_esc(period_name(view.previous_period))})</h3>")
        out.append("<p>Số liệu kỳ này và mức thay đổi so với kỳ trước (điểm %, với Tổng số là số người); "
                   "thay đổi lớn có cảnh báo riêng trong phần lỗi và cảnh báo.</p>")
        out.append(f"<details open><summary>Bảng thay đổi theo đơn vị</summary>{_changes_table(result, view)}</details>")
    else:
        out.append('<p class="note">Lịch sử chưa có kỳ trước kỳ này, nên chưa so sánh được từng đơn vị.</p>')
    out.append('<p class="top"><a href="#muc-luc">↑ Mục lục</a></p>')
    return "\n".join(out)
