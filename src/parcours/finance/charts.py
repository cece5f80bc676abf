"""Charts of the finance pages as server-side SVG (no script, no CDN): the execution by month
and the progress of the reform projects.

Amounts stay ``Decimal`` everywhere else; here they become pixel positions only, so the
conversion to float is for geometry and never feeds a figure that is shown as a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

COMMITTED = "#0b5d66"
PAID = "#ef6c00"
ALLOCATED = "#9e9e9e"
PHYSICAL = "#2e7d32"
FINANCIAL = "#1565c0"


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _millions(amount: Decimal) -> str:
    """An axis label in millions of dirhams, French notation."""
    value = amount / Decimal(1_000_000)
    return f"{value:,.0f}".replace(",", "\u202f") + " M"


@dataclass(frozen=True)
class MonthPoint:
    month: int
    committed: Decimal  # booked that month
    paid: Decimal
    cumulative_committed: Decimal
    cumulative_paid: Decimal


def execution_by_month(
    points: Sequence[MonthPoint],
    allocated: Decimal,
    *,
    title: str,
    month_labels: Sequence[str],
    legend: tuple[str, str, str],
    width: float = 720,
    height: float = 260,
) -> Markup:
    """Bars of what was committed and paid each month, and the cumulated lines against the
    credits (the dashed line): the distance between the paid line and the credits is what
    remains to execute."""
    margin_left, margin_right, top, bottom = 64.0, 16.0, 30.0, 34.0
    plot_w = width - margin_left - margin_right
    plot_h = height - top - bottom
    peak = max(
        [allocated, *(p.cumulative_committed for p in points), Decimal(1)],
    )
    scale = plot_h / float(peak)
    slot = plot_w / 12
    bar = slot * 0.32

    def y(value: Decimal) -> float:
        return top + plot_h - float(value) * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="finance-chart execution-chart" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-labelledby="execution-title" '
        'direction="ltr">',
        f'<title id="execution-title">{escape(title)}</title>',
    ]
    for i in range(5):
        value = peak * Decimal(i) / Decimal(4)
        yy = y(value)
        out.append(
            f'<line x1="{_f(margin_left)}" y1="{_f(yy)}" x2="{_f(width - margin_right)}" '
            f'y2="{_f(yy)}" stroke="#e0e0e0"/>'
            f'<text x="{_f(margin_left - 6)}" y="{_f(yy + 4)}" text-anchor="end" '
            f'font-size="11">{escape(_millions(value))}</text>'
        )
    out.append(
        f'<line class="allocated" x1="{_f(margin_left)}" y1="{_f(y(allocated))}" '
        f'x2="{_f(width - margin_right)}" y2="{_f(y(allocated))}" stroke="{ALLOCATED}" '
        'stroke-dasharray="6 4" stroke-width="2"/>'
    )
    committed_path: list[str] = []
    paid_path: list[str] = []
    for p in points:
        x0 = margin_left + (p.month - 1) * slot + slot * 0.16
        for offset, value, colour, css in (
            (0.0, p.committed, COMMITTED, "bar-committed"),
            (bar, p.paid, PAID, "bar-paid"),
        ):
            h = max(float(value) * scale, 0.0)
            out.append(
                f'<rect class="{css}" data-month="{p.month}" x="{_f(x0 + offset)}" '
                f'y="{_f(top + plot_h - h)}" width="{_f(bar)}" height="{_f(h)}" '
                f'fill="{colour}" opacity="0.55"><title>{escape(str(value))}</title></rect>'
            )
        cx = margin_left + (p.month - 0.5) * slot
        committed_path.append(f"{_f(cx)},{_f(y(p.cumulative_committed))}")
        paid_path.append(f"{_f(cx)},{_f(y(p.cumulative_paid))}")
    for path, colour, css in (
        (committed_path, COMMITTED, "cumulative-committed"),
        (paid_path, PAID, "cumulative-paid"),
    ):
        if path:
            out.append(
                f'<polyline class="{css}" points="{" ".join(path)}" fill="none" '
                f'stroke="{colour}" stroke-width="2.5"/>'
            )
    for month in range(1, 13):
        label = month_labels[month - 1] if len(month_labels) >= month else str(month)
        out.append(
            f'<text x="{_f(margin_left + (month - 0.5) * slot)}" y="{_f(height - bottom + 16)}" '
            f'text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    for i, (colour, label) in enumerate(zip((COMMITTED, PAID, ALLOCATED), legend, strict=True)):
        lx = margin_left + i * 200
        out.append(
            f'<rect x="{_f(lx)}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{_f(lx + 18)}" y="18" font-size="12">{escape(label)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped


@dataclass(frozen=True)
class ProjectBar:
    code: str
    label: str
    physical_pct: int
    financial_pct: Decimal | None  # 0..1


def project_progress(
    bars: Sequence[ProjectBar],
    *,
    title: str,
    legend: tuple[str, str],
    width: float = 720,
    row: float = 26,
) -> Markup:
    """For each project, its physical progress and its spending against its budget."""
    label_w, top, right = 260.0, 30.0, 40.0
    height = top + row * max(len(bars), 1) + 10
    plot_w = width - label_w - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="finance-chart projects-chart" '
        f'viewBox="0 0 {_f(width)} {_f(height)}" role="img" aria-labelledby="projects-title" '
        'direction="ltr">',
        f'<title id="projects-title">{escape(title)}</title>',
    ]
    for i, (colour, label) in enumerate(zip((PHYSICAL, FINANCIAL), legend, strict=True)):
        lx = label_w + i * 220
        out.append(
            f'<rect x="{_f(lx)}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{_f(lx + 18)}" y="18" font-size="12">{escape(label)}</text>'
        )
    for i, b in enumerate(bars):
        y0 = top + i * row
        financial = float(b.financial_pct or 0) * 100
        out.append(
            f'<g class="project-bar" data-project="{escape(b.code)}">'
            f'<text x="{_f(label_w - 8)}" y="{_f(y0 + row * 0.55)}" text-anchor="end" '
            f'font-size="11">{escape(b.label[:42])}</text>'
            f'<rect x="{_f(label_w)}" y="{_f(y0 + 3)}" width="{_f(plot_w)}" '
            f'height="{_f(row - 6)}" fill="#f1f1f1"/>'
            f'<rect class="physical" x="{_f(label_w)}" y="{_f(y0 + 3)}" '
            f'width="{_f(plot_w * min(b.physical_pct, 100) / 100)}" height="{_f((row - 6) / 2)}" '
            f'fill="{PHYSICAL}"/>'
            f'<rect class="financial" x="{_f(label_w)}" y="{_f(y0 + 3 + (row - 6) / 2)}" '
            f'width="{_f(plot_w * min(financial, 100.0) / 100)}" height="{_f((row - 6) / 2)}" '
            f'fill="{FINANCIAL}"/>'
            f'<text x="{_f(width - right + 4)}" y="{_f(y0 + row * 0.55)}" font-size="11">'
            f"{b.physical_pct} %</text></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped
