"""Charts of the dashboards as server-side SVG: a time series, bars by unit, before/after.

Drawn on the server (no script, no CDN) like the pathways' level flow: a few
kilobytes of markup that print as they show. A missing or suppressed value is
a gap in the line and an empty bar marked "—", never a zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BLUE, GREY, GREEN, ORANGE = "#1565c0", "#9e9e9e", "#2e7d32", "#ef6c00"


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def fr(value: float | None, digits: int = 1) -> str:
    """A number as read in French (decimal comma, narrow no-break thousands)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text


def _svg(css: str, width: float, height: float, title: str) -> list[str]:
    """The root element, at its natural size (never wider than its box) in 11 px text."""
    digest = hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()[:8]
    ident = f"{css.split()[0]}-{digest}"  # one per chart of a page
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css)}" viewBox="0 0 {_f(width)}'
        f' {_f(height)}" width="{_f(width)}" height="{_f(height)}"'
        ' style="max-width:100%;height:auto" font-size="11" role="img"'
        f' aria-labelledby="{ident}" direction="ltr">',
        f'<title id="{ident}">{escape(title)}</title>',
    ]


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    unit: str = "",
    target: float | None = None,
    width: float = 300,
    height: float = 90,
    css: str = "series",
) -> Markup:
    """A monthly series: one polyline per run of known values, a dot per month."""
    out = _svg(css, width, height, title)
    known = [v for _, v in points if v is not None]
    if not points or not known:
        out.append(f'<text x="4" y="{_f(height / 2)}" class="nil">—</text></svg>')
        return Markup("".join(out))  # noqa: S704 - every text is escaped
    top = max(known + ([target] if target is not None else []))
    bottom = min(0.0, *known)
    span = (top - bottom) or 1.0
    left, right, pad_top, pad_bottom = 4.0, 4.0, 8.0, 14.0
    step = (width - left - right) / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return pad_top + (top - v) / span * (height - pad_top - pad_bottom)

    if target is not None:
        out.append(
            f'<line class="target" x1="{_f(left)}" x2="{_f(width - right)}" y1="{_f(y(target))}"'
            f' y2="{_f(y(target))}" stroke="{GREEN}" stroke-dasharray="3 3"/>'
        )
    runs: list[list[str]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            runs.append([])
            continue
        runs[-1].append(f"{_f(left + i * step)},{_f(y(v))}")
    for run in runs:
        if len(run) > 1:
            out.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{BLUE}" stroke-width="2"/>'
            )
    for i, (label, v) in enumerate(points):
        if v is None:
            continue
        out.append(
            f'<circle cx="{_f(left + i * step)}" cy="{_f(y(v))}" r="2.5" fill="{BLUE}"'
            f' data-month="{escape(label)}" data-value="{_f(v)}">'
            f"<title>{escape(label)} : {escape(fr(v))} {escape(unit)}</title></circle>"
        )
    out.append(
        f'<text x="{_f(left)}" y="{_f(height - 2)}" class="axis">{escape(points[0][0])}</text>'
        f'<text x="{_f(width - right)}" y="{_f(height - 2)}" class="axis"'
        f' text-anchor="end">{escape(points[-1][0])}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    href: str | None = None
    key: str = ""


def bars(
    items: Sequence[Bar],
    *,
    title: str,
    unit: str = "",
    target: float | None = None,
    width: float = 520,
    row: float = 20,
    css: str = "bars",
) -> Markup:
    """Horizontal bars, one per unit, each a link to that unit's dashboard."""
    label_w, value_w = 190.0, 70.0
    height = row * len(items) + 8
    out = _svg(css, width, height, title)
    known = [b.value for b in items if b.value is not None]
    top = max(known + ([target] if target is not None else []) + [0.0]) or 1.0
    usable = width - label_w - value_w
    for i, b in enumerate(items):
        y = 4 + i * row
        length = 0.0 if b.value is None else max(b.value, 0.0) / top * usable
        parts = [
            f'<text x="{_f(label_w - 6)}" y="{_f(y + row * 0.7)}" text-anchor="end">'
            f"{escape(b.label)}</text>",
            f'<rect x="{_f(label_w)}" y="{_f(y + 3)}" width="{_f(max(length, 0.5))}"'
            f' height="{_f(row - 6)}" fill="{BLUE if b.value is not None else GREY}"/>',
            f'<text x="{_f(label_w + length + 4)}" y="{_f(y + row * 0.7)}" class="value">'
            f"{escape(fr(b.value))}</text>",
        ]
        body = "".join(parts)
        key = f' data-unit="{escape(b.key)}"' if b.key else ""
        if b.href:
            out.append(f'<a href="{escape(b.href)}"{key}>{body}</a>')
        else:
            out.append(f"<g{key}>{body}</g>")
    if target is not None:
        x = label_w + target / top * usable
        out.append(
            f'<line class="target" x1="{_f(x)}" x2="{_f(x)}" y1="0" y2="{_f(height)}"'
            f' stroke="{GREEN}" stroke-dasharray="3 3"/>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped


def before_after(
    before: float | None,
    after: float | None,
    *,
    labels: tuple[str, str],
    title: str,
    unit: str = "",
    width: float = 440,
    height: float = 180,
) -> Markup:
    """Two columns: the months before the pilot and the same number since."""
    out = _svg("before-after", width, height, title)
    known = [v for v in (before, after) if v is not None]
    top = max([*known, 0.0]) or 1.0
    base, column = height - 30, 70.0
    for i, (value, label, colour) in enumerate(
        ((before, labels[0], GREY), (after, labels[1], ORANGE))
    ):
        x = 75 + i * 220
        h = 0.0 if value is None else max(value, 0.0) / top * (base - 24)
        out.append(
            f'<rect x="{_f(x)}" y="{_f(base - h)}" width="{_f(column)}" height="{_f(max(h, 0.5))}"'
            f' fill="{colour}" data-side="{"before" if i == 0 else "after"}"'
            f' data-value="{"" if value is None else _f(value)}"/>'
            f'<text x="{_f(x + column / 2)}" y="{_f(base - h - 6)}" text-anchor="middle"'
            f' class="value">{escape(fr(value))} {escape(unit)}</text>'
            f'<text x="{_f(x + column / 2)}" y="{_f(height - 10)}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped
