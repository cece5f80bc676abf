"""Maps drawn on the server as inline SVG: points, labels and weighted lines.

No tile server exists offline and a slow rural link cannot afford a mapping
library, so maps are plain SVG computed here: a few kilobytes, gzipped by the
application, printable, and readable without JavaScript.

The projection is equirectangular with the longitude scaled by the cosine of
the mean latitude, which keeps distances and shapes right to within a percent
over a region the size of a Moroccan one (a few hundred kilometres). It is
fitted into the drawing's box with margins, north up.

This module is pure (no database, no web framework): callers hand it
translated strings and colours, and insert the returned markup in a template.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

KM_PER_DEGREE = 111.195  # one degree of latitude on a sphere of radius 6371 km
MIN_SPAN_DEGREES = 0.2  # a map of a single place still shows its surroundings


@dataclass(frozen=True)
class Bounds:
    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, coordinates: Iterable[tuple[float, float]], pad: float = 0.05) -> Bounds:
        """The box around ``(lat, lon)`` pairs, widened by ``pad`` of its span on every side."""
        pairs = list(coordinates)
        if not pairs:
            raise ValueError("no coordinates to frame")
        lats = [lat for lat, _ in pairs]
        lons = [lon for _, lon in pairs]
        south, north, west, east = min(lats), max(lats), min(lons), max(lons)
        lat_span = max(north - south, MIN_SPAN_DEGREES)
        lon_span = max(east - west, MIN_SPAN_DEGREES)
        mid_lat, mid_lon = (south + north) / 2, (west + east) / 2
        lat_half = lat_span * (0.5 + pad)
        lon_half = lon_span * (0.5 + pad)
        return cls(mid_lat - lat_half, mid_lon - lon_half, mid_lat + lat_half, mid_lon + lon_half)


class Projection:
    """Equirectangular projection of ``bounds`` fitted into ``width`` × ``height`` pixels.

    With ``height=None`` the height follows from the bounds' aspect, so that the
    drawing wastes no space.
    """

    def __init__(
        self, bounds: Bounds, width: float, height: float | None = None, margin: float = 20
    ) -> None:
        self.bounds = bounds
        self.margin = margin
        self.cos_lat = math.cos(math.radians((bounds.south + bounds.north) / 2))
        span_x = (bounds.east - bounds.west) * self.cos_lat
        span_y = bounds.north - bounds.south
        if span_x <= 0 or span_y <= 0:
            raise ValueError("bounds must have a positive extent")
        inner_w = width - 2 * margin
        if height is None:
            self.scale = inner_w / span_x
            height = span_y * self.scale + 2 * margin
        else:
            self.scale = min(inner_w / span_x, (height - 2 * margin) / span_y)
        self.width = float(width)
        self.height = float(height)
        # Centre the drawing in whichever direction has room to spare.
        self.offset_x = (width - span_x * self.scale) / 2
        self.offset_y = (height - span_y * self.scale) / 2

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = self.offset_x + (lon - self.bounds.west) * self.cos_lat * self.scale
        y = self.offset_y + (self.bounds.north - lat) * self.scale
        return x, y

    @property
    def km_per_px(self) -> float:
        return KM_PER_DEGREE / self.scale


def nice_length(km_per_px: float, max_px: float) -> tuple[float, float]:
    """The longest round distance (1, 2 or 5 × 10ⁿ km) that fits in ``max_px``: (km, px)."""
    limit = km_per_px * max_px
    exponent = math.floor(math.log10(limit))
    best = 10.0**exponent
    for step in (1.0, 2.0, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate <= limit:
            best = candidate
    return best, best / km_per_px


@dataclass(frozen=True)
class Point:
    """A mark: a circle, optionally a link, with a tooltip and ``data-*`` attributes."""

    lat: float
    lon: float
    radius: float = 4.0
    colour: str = "#455a64"
    title: str = ""
    href: str | None = None
    css_class: str = "point"
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Label:
    """A place name drawn beside a small dot."""

    lat: float
    lon: float
    text: str
    css_class: str = "place"
    dot: bool = True


@dataclass(frozen=True)
class Line:
    """A flow between two places; ``weight`` sets its thickness relative to the others."""

    start: tuple[float, float]
    end: tuple[float, float]
    weight: float = 1.0
    colour: str = "#37474f"
    title: str = ""
    css_class: str = "flow"
    arrow: bool = True


def _f(value: float) -> str:
    """One decimal is a tenth of a pixel: enough, and keeps the markup small."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f' {name}="{escape(str(value))}"' for name, value in pairs if value is not None)


def line_widths(lines: Sequence[Line], thinnest: float = 1.0, thickest: float = 8.0) -> list[float]:
    """Stroke widths proportional to the weights, the heaviest line getting ``thickest``."""
    heaviest = max((line.weight for line in lines), default=0.0)
    if heaviest <= 0:
        return [thinnest for _ in lines]
    return [max(thinnest, thickest * max(line.weight, 0.0) / heaviest) for line in lines]


def _curve(
    x1: float, y1: float, x2: float, y2: float, bend: float, shorten: float
) -> tuple[str, bool]:
    """A gently bent path from one point to another, so that A→B and B→A stay apart."""
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy)
    if length < 1e-6:
        return "", False
    ux, uy = dx / length, dy / length
    if length > 2 * shorten:
        x2, y2 = x2 - ux * shorten, y2 - uy * shorten
    cx = (x1 + x2) / 2 - uy * length * bend
    cy = (y1 + y2) / 2 + ux * length * bend
    return f"M{_f(x1)} {_f(y1)}Q{_f(cx)} {_f(cy)} {_f(x2)} {_f(y2)}", True


def _graticule(projection: Projection, step: float) -> list[str]:
    b = projection.bounds
    parts: list[str] = []
    lat = math.ceil(b.south / step) * step
    while lat <= b.north:
        x1, y = projection.xy(lat, b.west)
        x2, _ = projection.xy(lat, b.east)
        hemisphere = "N" if lat >= 0 else "S"
        parts.append(f'<line x1="{_f(x1)}" y1="{_f(y)}" x2="{_f(x2)}" y2="{_f(y)}"/>')
        parts.append(f'<text x="{_f(x1 + 3)}" y="{_f(y - 3)}">{abs(lat):g}°{hemisphere}</text>')
        lat += step
    lon = math.ceil(b.west / step) * step
    while lon <= b.east:
        x, y1 = projection.xy(b.north, lon)
        _, y2 = projection.xy(b.south, lon)
        hemisphere = "E" if lon >= 0 else "W"
        parts.append(f'<line x1="{_f(x)}" y1="{_f(y1)}" x2="{_f(x)}" y2="{_f(y2)}"/>')
        parts.append(f'<text x="{_f(x + 3)}" y="{_f(y2 - 4)}">{abs(lon):g}°{hemisphere}</text>')
        lon += step
    return parts


def render(
    points: Sequence[Point] = (),
    labels: Sequence[Label] = (),
    lines: Sequence[Line] = (),
    *,
    bounds: Bounds | None = None,
    width: float = 800,
    height: float | None = None,
    margin: float = 24,
    css_class: str = "map",
    title: str = "",
    unit: str = "km",
    graticule: float | None = 0.5,
) -> Markup:
    """The SVG element for points, labels and lines, framed on ``bounds``.

    Without ``bounds`` the frame is the box around every point, label and line
    end. Points are drawn in the order given (put the important ones last, on
    top); a point with ``href`` is wrapped in a link. ``unit`` is the label of
    kilometres in the reader's language for the scale bar. ``graticule`` is the
    spacing in degrees of the latitude/longitude grid, or None for none.
    """
    if bounds is None:
        coords = [(p.lat, p.lon) for p in points] + [(lb.lat, lb.lon) for lb in labels]
        for line in lines:
            coords += [line.start, line.end]
        bounds = Bounds.around(coords)
    proj = Projection(bounds, width, height, margin)
    out: list[str] = []
    title_id = f"{css_class.split()[0]}-title"
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}"'
        f' viewBox="0 0 {_f(proj.width)} {_f(proj.height)}" role="img" direction="ltr"'
        + (f' aria-labelledby="{title_id}"' if title else "")
        + ">"
    )
    if title:
        out.append(f'<title id="{title_id}">{escape(title)}</title>')
    if lines:
        out.append(
            "<defs>"
            '<marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4"'
            ' markerHeight="4" orient="auto-start-reverse">'
            '<path d="M0 0L10 5L0 10z" fill="context-stroke"/></marker></defs>'
        )
    out.append(f'<rect class="frame" width="{_f(proj.width)}" height="{_f(proj.height)}"/>')
    if graticule:
        out.append('<g class="graticule">' + "".join(_graticule(proj, graticule)) + "</g>")
    if lines:
        out.append('<g class="flows">')
        for line, stroke in zip(lines, line_widths(lines), strict=True):
            x1, y1 = proj.xy(*line.start)
            x2, y2 = proj.xy(*line.end)
            path, ok = _curve(x1, y1, x2, y2, bend=0.12, shorten=6 + stroke)
            if not ok:
                continue
            marker = ' marker-end="url(#arrow)"' if line.arrow else ""
            tip = f"<title>{escape(line.title)}</title>" if line.title else ""
            out.append(
                f'<path class="{escape(line.css_class)}" d="{path}" fill="none"'
                f' stroke="{escape(line.colour)}" stroke-width="{_f(stroke)}"'
                f"{marker}>{tip}</path>"
            )
        out.append("</g>")
    if points:
        out.append('<g class="points">')
        for p in points:
            x, y = proj.xy(p.lat, p.lon)
            data = _attrs((f"data-{k}", v) for k, v in p.data.items())
            tip = f"<title>{escape(p.title)}</title>" if p.title else ""
            circle = (
                f'<circle class="{escape(p.css_class)}"{data} cx="{_f(x)}" cy="{_f(y)}"'
                f' r="{_f(p.radius)}" fill="{escape(p.colour)}">{tip}</circle>'
            )
            out.append(f'<a href="{escape(p.href)}">{circle}</a>' if p.href else circle)
        out.append("</g>")
    if labels:
        # Names on top of the marks (they let clicks through, see the stylesheet).
        out.append('<g class="places">')
        for label in labels:
            x, y = proj.xy(label.lat, label.lon)
            if label.dot:
                out.append(f'<circle class="place-dot" cx="{_f(x)}" cy="{_f(y)}" r="2"/>')
            # Text goes to the side with more room, so that names near the edge stay inside.
            anchor, dx = ("end", -5) if x > proj.width * 0.8 else ("start", 5)
            out.append(
                f'<text class="{escape(label.css_class)}" x="{_f(x + dx)}" y="{_f(y - 4)}"'
                f' text-anchor="{anchor}">{escape(label.text)}</text>'
            )
        out.append("</g>")
    km, px = nice_length(proj.km_per_px, proj.width / 4)
    sx, sy = margin, proj.height - margin / 2 - 2
    out.append(
        f'<g class="scale"><path d="M{_f(sx)} {_f(sy - 5)}V{_f(sy)}H{_f(sx + px)}V{_f(sy - 5)}"'
        f' fill="none"/><text x="{_f(sx + px + 4)}" y="{_f(sy)}">{km:g} {escape(unit)}</text></g>'
    )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped
