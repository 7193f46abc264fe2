"""The Biểu mẫu 2 charts of the HTML page: each unit's rate after the transfer, as inline SVG."""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..core.consolidation import WEIGHTED, Aggregate, Consolidated
from ..core.template import Indicator

BAR = "#4472C4"
BAR_ERROR = "#C00000"
TARGET = "#111111"


def number(value: float) -> str:
    """97.8 → '97,8'; 92.0 → '92,0' (Vietnamese decimal comma): one decimal for every rate of a chart,
    its labels, legend, caption and table, so "92" never stands beside "92,8"."""
    return f"{value:.1f}".replace(".", ",")


@dataclass
class Bar:
    unit: str
    value: float | None  # None: no bar, `note` says why
    note: str
    error: bool = False
    target: float | None = None
    target_note: str = ""


def _usable(c: Consolidated, rec) -> bool:
    return isinstance(rec.value, float) and rec.source not in c.errors


def indicator_bars(c: Consolidated, ind: Indicator) -> list[Bar]:
    """Each unit's 'after' rate and province target for one indicator, with why a value is missing."""
    bars = []
    for unit in c.units:
        rates = c.form2.get(unit.code)
        if rates is None:
            bars.append(Bar(unit.name, None, "chưa báo cáo Biểu mẫu 2"))
            continue
        recs = rates.get(ind.key, {})
        after, target = recs.get("after"), recs.get("target")
        if after is None or after.value is None:
            bar = Bar(unit.name, None, "bỏ trống")
        elif isinstance(after.value, str):
            bar = Bar(unit.name, None, f"“{after.value}” không phải số")
        elif _usable(c, after):
            bar = Bar(unit.name, after.value, number(after.value))
        else:
            bar = Bar(unit.name, after.value, f"{number(after.value)} (lỗi)", error=True)
        if target is not None and _usable(c, target):
            bar.target, bar.target_note = target.value, number(target.value)
        elif target is not None and target.value is not None:
            bar.target_note = f"{target.value if isinstance(target.value, str) else number(target.value)} (lỗi)"
        bars.append(bar)
    return bars


def _mean_words(agg: Aggregate) -> str:
    """How the district value of the 'after' rate was made, as the merged workbook says it."""
    if agg.method == WEIGHTED and agg.weight is not None:
        dossiers = f"{agg.weight:,.0f}".replace(",", ".")
        return f"Bình quân theo số hồ sơ của {agg.count} đơn vị ({dossiers} hồ sơ)"
    return f"Trung bình cộng (không trọng số) của {agg.count} đơn vị"


# Geometry of the SVG, in CSS pixels.
WIDTH = 900
LABEL_W = 250  # unit names, right-aligned against the axis
PLOT_W = WIDTH - LABEL_W - 30
ROW = 26
TOP = 10
HALO = 'stroke="white" stroke-width="3" paint-order="stroke"'  # a value stays legible over the lines
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


LABEL_CHAR_W = 7.0  # px per character at font-size 11: DejaVu Sans's digits (0.64 em), the widest of a label
LABEL_GAP = 5  # px between a label and what it must not touch


def label_x(start: float, text: str, lines: list[float]) -> float:
    """Where a label beside a bar begins: at ``start``, or just past a full-height line (the district
    value, the province target) that would otherwise run through its text."""
    for line in sorted(lines):
        if start - LABEL_GAP / 2 <= line <= start + len(text) * LABEL_CHAR_W + LABEL_GAP / 2:
            start = line + LABEL_GAP
    return start


def chart_svg(bars: list[Bar], mean: float | None, mean_label: str = "Trung bình các đơn vị",
              province: float | None = None, title: str = "") -> str:
    """A horizontal bar chart of the 'after' rates as inline SVG: the province target as a dashed
    line, targets the units typed as ticks on their bars, the district value as a dotted line.

    Drawn by hand rather than with a plotting library: a district's page is ready in
    milliseconds instead of seconds, and the browser renders the Vietnamese text.
    """
    top = max([100.0, province or 0]
              + [b.value for b in bars if b.value is not None] + [b.target for b in bars if b.target is not None])
    scale = PLOT_W / (top * 1.13)

    def x(v: float) -> float:
        return LABEL_W + max(v, 0) * scale

    lines = [x(v) for v in (mean, province) if v is not None]  # drawn top to bottom, across every row
    plot_h = ROW * len(bars)
    axis_y = TOP + plot_h
    out = []
    for tick in range(0, int(top * 1.13) + 1, 20):  # grid and axis labels every 20 %
        out.append(f'<line x1="{_f(x(tick))}" y1="{TOP}" x2="{_f(x(tick))}" y2="{axis_y}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{_f(x(tick))}" y="{axis_y + 16}" text-anchor="middle" font-size="11">{tick}</text>')
    out.append(f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + PLOT_W}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<line x1="{LABEL_W}" y1="{TOP}" x2="{LABEL_W}" y2="{axis_y}" stroke="#333"/>')
    out.append(f'<text x="{LABEL_W + PLOT_W / 2:.1f}" y="{axis_y + 34}" text-anchor="middle" font-size="12">Tỷ lệ (%)</text>')
    for i, b in enumerate(bars):
        y = TOP + i * ROW
        mid = y + ROW / 2
        out.append(f'<text x="{LABEL_W - 6}" y="{_f(mid + 4)}" text-anchor="end" font-size="12">{_esc(b.unit)}</text>')
        if b.value is None:
            out.append(f'<text x="{_f(label_x(LABEL_W + 4, b.note, lines))}" y="{_f(mid + 4)}" font-size="11" '
                       'font-style="italic" fill="#777">'
                       f"{_esc(b.note)}</text>")
            continue
        color = BAR_ERROR if b.error else BAR
        out.append(f'<rect x="{LABEL_W}" y="{_f(y + ROW * 0.19)}" width="{_f(x(b.value) - LABEL_W)}" '
                   f'height="{_f(ROW * 0.62)}" fill="{color}"><title>{_esc(b.unit)}: {_esc(b.note)}</title></rect>')
        if b.target is not None:
            out.append(f'<line x1="{_f(x(b.target))}" y1="{_f(y + 3)}" x2="{_f(x(b.target))}" y2="{_f(y + ROW - 3)}" '
                       f'stroke="{TARGET}" stroke-width="2.5"/>')
        at = label_x(x(max(b.value, b.target or 0)) + LABEL_GAP, b.note, lines)
        out.append(f'<text x="{_f(at)}" y="{_f(mid + 4)}" font-size="11" fill="{BAR_ERROR if b.error else "#222"}" '
                   f'{HALO}>{_esc(b.note)}</text>')
    legend = []
    if province is not None:
        out.append(f'<line x1="{_f(x(province))}" y1="{TOP}" x2="{_f(x(province))}" y2="{axis_y}" stroke="{TARGET}" '
                   'stroke-width="1.5" stroke-dasharray="6 4"/>')
        legend.append(("6 4", TARGET, f"Chỉ tiêu UBND tỉnh giao: {number(province)} %"))
    if any(b.target is not None for b in bars):
        legend.append(("", TARGET, "Chỉ tiêu do đơn vị ghi" if province is not None else "Chỉ tiêu UBND tỉnh giao"))
    if mean is not None:
        out.append(f'<line x1="{_f(x(mean))}" y1="{TOP}" x2="{_f(x(mean))}" y2="{axis_y}" stroke="#555" '
                   'stroke-width="1.5" stroke-dasharray="2 3"/>')
        legend.append(("2 3", "#555", f"{mean_label}: {number(mean)} %"))
    ly = axis_y + 56
    for n, (dash, color, text) in enumerate(legend):
        lx = LABEL_W + (n % 2) * (PLOT_W / 2)
        yy = ly + (n // 2) * 18
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{_f(lx)}" y1="{yy - 4}" x2="{_f(lx + 28)}" y2="{yy - 4}" stroke="{color}" stroke-width="2"{dashes}/>')
        out.append(f'<text x="{_f(lx + 34)}" y="{yy}" font-size="11">{_esc(text)}</text>')
    height = ly + ((len(legend) + 1) // 2) * 18 + 4
    label = f' aria-label="{_esc(title)}"' if title else ""
    return (f'<svg role="img"{label} viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" {FONT}>' + "".join(out) + "</svg>")


def chart(bars: list[Bar], c: Consolidated, ind: Indicator, province: float | None, title: str = "") -> str:
    """The SVG of one indicator, its district line named by how the value was made."""
    agg = c.form2_means[ind.key]["after"]
    label = "Bình quân theo số hồ sơ" if agg.method == WEIGHTED else "Trung bình các đơn vị"
    return chart_svg(bars, agg.value, label, province, title)


def caption(bars: list[Bar], c: Consolidated, ind: Indicator, province: float | None, drawn: bool = True) -> str:
    """What the chart shows, in words; without a chart, the same facts without the chart's marks."""
    agg = c.form2_means[ind.key]["after"]
    parts = []
    if agg.value is not None:
        parts.append(f"{_mean_words(agg)} có số liệu hợp lệ: {number(agg.value)} %" + (" (đường chấm)." if drawn else "."))
    typed = sorted({b.target for b in bars if b.target is not None})
    n = sum(1 for b in bars if b.target is not None)
    if province is not None:
        parts.append(("Đường gạch: c" if drawn else "C") + f"hỉ tiêu UBND tỉnh giao {number(province)} % (cấu hình báo cáo).")
        if typed:
            parts.append(("Vạch đen trên cột: c" if drawn else "C") + f"hỉ tiêu do {n} đơn vị tự ghi.")
    elif not typed:
        parts.append("Chưa có chỉ tiêu UBND tỉnh giao (cấu hình báo cáo không có, các đơn vị để trống)"
                     + (" nên biểu đồ không có vạch chỉ tiêu." if drawn else "."))
    elif len(typed) == 1:
        parts.append(("Vạch đen: c" if drawn else "C") + f"hỉ tiêu UBND tỉnh giao {number(typed[0])} % ({n} đơn vị ghi).")
    else:
        parts.append(
            ("Vạch đen trên từng cột: c" if drawn else "C") + "hỉ tiêu UBND tỉnh giao do đơn vị ghi "
            "(các đơn vị ghi khác nhau: " + ", ".join(number(t) for t in typed) + " %)."
        )
    if any(b.error for b in bars):
        parts.append(("Cột đỏ: s" if drawn else "S") + "ố liệu có lỗi, không được tính vào giá trị chung.")
    return " ".join(parts)
