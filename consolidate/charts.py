"""The Biểu mẫu 2 charts of the HTML page: each unit's rate after the transfer, drawn to PNG with matplotlib."""

from __future__ import annotations

import io
from dataclasses import dataclass

from . import problems as P
from .consolidation import WEIGHTED, Aggregate, Consolidated
from .template import Indicator

BAR = "#4472C4"
BAR_ERROR = "#C00000"
TARGET = "#111111"


def number(value: float) -> str:
    """97.8 → '97,8'; 100.0 → '100' (Vietnamese decimal comma)."""
    text = f"{value:.1f}"
    return (text[:-2] if text.endswith(".0") else text).replace(".", ",")


@dataclass
class Bar:
    unit: str
    value: float | None  # None: no bar, `note` says why
    note: str
    error: bool = False
    target: float | None = None
    target_note: str = ""


def _usable(c: Consolidated, rec) -> bool:
    return isinstance(rec.value, float) and not any(p.severity == P.ERROR for p in c.flags.get(rec.source, ()))


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


def _plain(text: str) -> str:
    """Text for matplotlib that is never read as mathtext."""
    return text.replace("$", r"\$")


def _mean_words(agg: Aggregate) -> str:
    """How the district value of the 'after' rate was made, as the merged workbook says it."""
    if agg.method == WEIGHTED and agg.weight is not None:
        dossiers = f"{agg.weight:,.0f}".replace(",", ".")
        return f"Bình quân theo số hồ sơ của {agg.count} đơn vị ({dossiers} hồ sơ)"
    return f"Trung bình cộng (không trọng số) của {agg.count} đơn vị"


def chart_png(bars: list[Bar], mean: float | None, mean_label: str = "Trung bình các đơn vị",
              province: float | None = None) -> bytes:
    """A horizontal bar chart of the 'after' rates: the province target as a dashed line, targets the
    units typed as ticks on their bars, the district value as a dotted line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 0.36 * len(bars) + 1.4), dpi=100, layout="constrained")  # one draw, no bbox_inches
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ys = list(range(len(bars)))
    top = max([100.0, province or 0]
              + [b.value for b in bars if b.value is not None] + [b.target for b in bars if b.target is not None])
    ax.barh(ys, [b.value or 0 for b in bars], height=0.62,
            color=[BAR_ERROR if b.error else BAR for b in bars])
    label_box = {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85}
    for y, b in zip(ys, bars):
        style = {"fontsize": 8.5, "va": "center", "bbox": label_box}
        if b.value is None:
            ax.text(top * 0.01, y, _plain(b.note), color="#777", fontstyle="italic", **style)
        else:
            x = max(b.value, b.target or 0) + top * 0.012  # right of the bar and of its target tick
            ax.text(x, y, _plain(b.note), color=BAR_ERROR if b.error else "#222", **style)
    if province is not None:
        ax.axvline(province, color=TARGET, linestyle="--", linewidth=1.5,
                   label=f"Chỉ tiêu UBND tỉnh giao: {number(province)} %")
    ticks = [(y, b.target) for y, b in zip(ys, bars) if b.target is not None]
    for i, (y, t) in enumerate(ticks):
        ax.plot([t, t], [y - 0.42, y + 0.42], color=TARGET, linewidth=2.5,
                label=("Chỉ tiêu do đơn vị ghi" if province is not None else "Chỉ tiêu UBND tỉnh giao") if i == 0 else None)
    if mean is not None:
        ax.axvline(mean, color="#555", linestyle=":", linewidth=1.5, label=f"{mean_label}: {number(mean)} %")
    ax.set_yticks(ys, labels=[_plain(b.unit) for b in bars], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.13)
    ax.set_xlabel("Tỷ lệ (%)")
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def chart(bars: list[Bar], c: Consolidated, ind: Indicator, province: float | None) -> bytes:
    """The PNG of one indicator, its district line named by how the value was made."""
    agg = c.form2_means[ind.key]["after"]
    label = "Bình quân theo số hồ sơ" if agg.method == WEIGHTED else "Trung bình các đơn vị"
    return chart_png(bars, agg.value, label, province)


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
