"""The flow diagram of referrals level by level, as server-side SVG (no script, no CDN).

Four columns, one per care level; between two columns a band per (from, to)
pair whose thickness is proportional to the referrals. Drawn on the server so
that a rural centre's slow connection gets a few kilobytes of markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LEVEL_COLOURS: Mapping[int, str] = {1: "#2e7d32", 2: "#ef6c00", 3: "#c62828", 4: "#7b1fa2"}


@dataclass(frozen=True)
class Band:
    from_level: int
    to_level: int
    count: int


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def level_flow(
    bands: Sequence[Band],
    labels: Mapping[int, str],
    *,
    title: str,
    width: float = 640,
    height: float = 260,
) -> Markup:
    """Bands from the level that refers (left) to the level that receives (right).

    Each level is a column whose height is what it sends plus what it receives;
    bands leave from the sender's column and land in the receiver's, stacked in
    level order so that they never cross needlessly.
    """
    # referrals between peers of one level are in the table beside, not drawn as a loop
    bands = [b for b in bands if b.from_level != b.to_level and b.count > 0]
    total = sum(b.count for b in bands)
    margin, bar, top = 16.0, 14.0, 28.0
    usable = height - top - margin
    gap = (width - 2 * margin - bar) / 3
    x = {level: margin + (level - 1) * gap for level in (1, 2, 3, 4)}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="level-flow" viewBox="0 0 {_f(width)}'
        f' {_f(height)}" role="img" aria-labelledby="level-flow-title" direction="ltr">',
        f'<title id="level-flow-title">{escape(title)}</title>',
    ]
    anchors = {1: ("start", 0.0), 2: ("middle", bar / 2), 3: ("middle", bar / 2), 4: ("end", bar)}
    for level in (1, 2, 3, 4):
        anchor, dx = anchors[level]
        out.append(
            f'<text class="level-label" x="{_f(x[level] + dx)}" y="16" text-anchor="{anchor}"'
            f' fill="{LEVEL_COLOURS[level]}">{escape(labels.get(level, str(level)))}</text>'
        )
    if total == 0:
        out.append("</svg>")
        return Markup("".join(out))  # noqa: S704 - every text is escaped
    scale = usable / max(
        max(
            sum(b.count for b in bands if b.from_level == level)
            + sum(b.count for b in bands if b.to_level == level)
            for level in (1, 2, 3, 4)
        ),
        1,
    )
    # each column: what it sends on top, what it receives below
    out_y = dict.fromkeys((1, 2, 3, 4), top)
    in_y = {
        level: top + sum(b.count for b in bands if b.from_level == level) * scale
        for level in (1, 2, 3, 4)
    }
    column_height = dict.fromkeys((1, 2, 3, 4), 0.0)
    for level in (1, 2, 3, 4):
        column_height[level] = (
            sum(b.count for b in bands if level in (b.from_level, b.to_level)) * scale
        )
    for level in (1, 2, 3, 4):
        out.append(
            f'<rect x="{_f(x[level])}" y="{_f(top)}" width="{_f(bar)}"'
            f' height="{_f(max(column_height[level], 1))}" fill="{LEVEL_COLOURS[level]}"/>'
        )
    ordered = sorted(
        (b for b in bands if b.count > 0 and b.from_level in x and b.to_level in x),
        key=lambda b: (b.from_level, b.to_level),
    )
    for band in ordered:
        thick = band.count * scale
        y1 = out_y[band.from_level] + thick / 2
        y2 = in_y[band.to_level] + thick / 2
        out_y[band.from_level] += thick
        in_y[band.to_level] += thick
        x1, x2 = x[band.from_level] + bar, x[band.to_level]
        mid = (x1 + x2) / 2
        share = band.count / total
        tip = (
            f"{labels.get(band.from_level, band.from_level)} → "
            f"{labels.get(band.to_level, band.to_level)} : {band.count} ({share:.0%})"
        )
        out.append(
            f'<path class="band" data-from="{band.from_level}" data-to="{band.to_level}"'
            f' data-count="{band.count}" d="M{_f(x1)} {_f(y1)}C{_f(mid)} {_f(y1)} {_f(mid)}'
            f' {_f(y2)} {_f(x2)} {_f(y2)}" fill="none" stroke="{LEVEL_COLOURS[band.from_level]}"'
            f' stroke-opacity=".45" stroke-width="{_f(max(thick, 1))}"><title>{escape(tip)}</title>'
            "</path>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped
