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


def affine(source: Projection, target: Projection) -> tuple[float, float, float, float]:
    """``(ax, bx, ay, by)`` such that a point at ``(x, y)`` on ``source`` is at
    ``(ax·x + bx, ay·y + by)`` on ``target``: how a browser can redraw one map's marks
    on another (a zoom) without the page carrying them twice."""
    x0, y0 = source.xy(source.bounds.north, source.bounds.west)
    x1, y1 = source.xy(source.bounds.south, source.bounds.east)
    u0, v0 = target.xy(source.bounds.north, source.bounds.west)
    u1, v1 = target.xy(source.bounds.south, source.bounds.east)
    ax, ay = (u1 - u0) / (x1 - x0), (v1 - v0) / (y1 - y0)
    return ax, u0 - ax * x0, ay, v0 - ay * y0


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
class Symbol:
    """A mark drawn once in the map's definitions and placed by reference (``<use>``).

    Hundreds of marks then cost a position each instead of a radius, a colour
    and a stroke, which keeps a regional map light. ``hit`` is the radius of an
    invisible disc around the mark that takes clicks and taps (0: none); the
    stroke comes from the ``<use>`` (CSS), so that hovering can change it.
    """

    radius: float
    colour: str
    hit: float = 0.0


@dataclass(frozen=True)
class Point:
    """A mark, optionally a link, with a tooltip and ``data-*`` attributes.

    Without ``symbol`` it is a circle of ``radius`` and ``colour``; with one it
    is a ``<use>`` of the symbol of that key given to :func:`render`. A linked
    mark has its tooltip on the link, which also names the link.
    """

    lat: float
    lon: float
    radius: float = 4.0
    colour: str = "#455a64"
    title: str = ""
    href: str | None = None
    css_class: str = "point"
    data: Mapping[str, str] = field(default_factory=dict)
    symbol: str | None = None


@dataclass(frozen=True)
class Label:
    """A place name drawn beside a small dot, on the side where it hides the fewest marks."""

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


@dataclass(frozen=True)
class Shape:
    """An outline, ``(lat, lon)`` pairs: a filled area when closed (land), else a line (coast)."""

    coordinates: Sequence[tuple[float, float]]
    css_class: str = "land"
    closed: bool = True


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


# Where a name may go around its place, in order of preference: (dx, dy, text-anchor).
LABEL_SPOTS = (
    (6.0, -5.0, "start"),  # above right
    (-6.0, -5.0, "end"),  # above left
    (7.0, 4.0, "start"),  # right
    (-7.0, 4.0, "end"),  # left
    (6.0, 13.0, "start"),  # below right
    (-6.0, 13.0, "end"),  # below left
    (0.0, -9.0, "middle"),  # above
    (0.0, 17.0, "middle"),  # below
    # further out, clear of a town's own cluster of marks
    (0.0, -24.0, "middle"),
    (0.0, 32.0, "middle"),
    (20.0, -16.0, "start"),
    (-20.0, -16.0, "end"),
    (20.0, 24.0, "start"),
    (-20.0, 24.0, "end"),
    (24.0, 4.0, "start"),
    (-24.0, 4.0, "end"),
)
LABEL_FONT_PX = 12.0  # the stylesheet's size for .place
LABEL_CHAR_EM = 0.6  # average advance of a bold character, in ems (generous for Arabic)


def label_box(
    x: float, y: float, text: str, dx: float, dy: float, anchor: str
) -> tuple[float, float, float, float]:
    """The rectangle (left, top, right, bottom) a name takes when drawn at ``(x + dx, y + dy)``."""
    width = len(text) * LABEL_FONT_PX * LABEL_CHAR_EM
    left = x + dx - {"start": 0.0, "middle": width / 2, "end": width}[anchor]
    baseline = y + dy
    return left, baseline - LABEL_FONT_PX * 0.8, left + width, baseline + LABEL_FONT_PX * 0.25


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def place_label(
    x: float,
    y: float,
    text: str,
    marks: Sequence[tuple[float, float, float]],
    taken: Sequence[tuple[float, float, float, float]],
    width: float,
    height: float,
) -> tuple[float, float, str]:
    """The spot around ``(x, y)`` where ``text`` covers the fewest marks and names.

    ``marks`` are (x, y, radius) of what is drawn; ``taken`` the boxes of names
    already placed. A name that would leave the drawing is the last resort.
    Greedy, one name at a time: a map has a handful of names, not hundreds.
    """
    best: tuple[float, tuple[float, float, str]] | None = None
    for rank, (dx, dy, anchor) in enumerate(LABEL_SPOTS):
        box = label_box(x, y, text, dx, dy, anchor)
        cost = rank * 0.01  # ties go to the preferred spot
        if box[0] < 2 or box[1] < 2 or box[2] > width - 2 or box[3] > height - 2:
            cost += 1000
        for other in taken:
            cost += 100 * _overlap(box, other)
        for mx, my, r in marks:
            if box[0] - r < mx < box[2] + r and box[1] - r < my < box[3] + r:
                cost += 1 + r  # a hospital hidden costs more than a health centre
        if best is None or cost < best[0]:
            best = (cost, (dx, dy, anchor))
    assert best is not None
    return best[1]


def _path(projection: Projection, coordinates: Sequence[tuple[float, float]], closed: bool) -> str:
    pairs = [projection.xy(lat, lon) for lat, lon in coordinates]
    if not pairs:
        return ""
    (x0, y0), rest = pairs[0], pairs[1:]
    body = " ".join(f"{_f(x)} {_f(y)}" for x, y in rest)
    return f"M{_f(x0)} {_f(y0)}" + (f"L{body}" if body else "") + ("Z" if closed else "")


def _symbol(key: str, symbol: Symbol) -> str:
    hit = f'<circle r="{_f(symbol.hit)}" opacity="0"/>' if symbol.hit > 0 else ""
    return (
        f'<g id="{escape(key)}" class="symbol">{hit}'
        f'<circle r="{_f(symbol.radius)}" fill="{escape(symbol.colour)}"/></g>'
    )


def _radius(p: Point, symbols: Mapping[str, Symbol]) -> float:
    symbol = symbols.get(p.symbol) if p.symbol else None
    return symbol.radius if symbol else p.radius


def _mark(p: Point, x: float, y: float) -> str:
    data = _attrs((f"data-{k}", v) for k, v in p.data.items())
    tip = f"<title>{escape(p.title)}</title>" if p.title else ""
    if p.symbol is not None:
        css = f' class="{escape(p.css_class)}"' if p.css_class else ""
        tag = "use"
        shape = f'<use href="#{escape(p.symbol)}"{css}{data} x="{_f(x)}" y="{_f(y)}"'
    else:
        tag = "circle"
        shape = (
            f'<circle class="{escape(p.css_class)}"{data} cx="{_f(x)}" cy="{_f(y)}"'
            f' r="{_f(p.radius)}" fill="{escape(p.colour)}"'
        )
    if p.href:
        return f'<a href="{escape(p.href)}">{tip}{shape}/></a>'
    return f"{shape}>{tip}</{tag}>" if tip else f"{shape}/>"


def render(
    points: Sequence[Point] = (),
    labels: Sequence[Label] = (),
    lines: Sequence[Line] = (),
    *,
    shapes: Sequence[Shape] = (),
    symbols: Mapping[str, Symbol] | None = None,
    bounds: Bounds | None = None,
    width: float = 800,
    height: float | None = None,
    margin: float = 24,
    css_class: str = "map",
    title: str = "",
    unit: str = "km",
    direction: str = "ltr",
    graticule: float | None = 0.5,
    attrs: Mapping[str, str] | None = None,
    avoid: Sequence[Point] = (),
) -> Markup:
    """The SVG element for shapes, points, labels and lines, framed on ``bounds``.

    Without ``bounds`` the frame is the box around every point, label and line
    end (shapes do not count: a coast runs off the map). Points are drawn in
    the order given (put the important ones last, on top); a point with
    ``href`` is wrapped in a link. ``symbols`` are the marks points may refer
    to by key; keys are element ids, unique in the page. ``unit`` is the label
    of kilometres in the reader's language for the scale bar, written in the
    reader's ``direction`` (the map itself stays west-left whatever the
    language). ``graticule`` is the spacing in degrees of the
    latitude/longitude grid, or None for none. ``attrs`` are more attributes
    of the ``<svg>`` element (``data-*`` for a script). ``avoid`` are marks
    that are not drawn here (a script adds them) but that names keep clear of.
    """
    if bounds is None:
        coords = [(p.lat, p.lon) for p in points] + [(lb.lat, lb.lon) for lb in labels]
        for line in lines:
            coords += [line.start, line.end]
        bounds = Bounds.around(coords)
    proj = Projection(bounds, width, height, margin)
    symbols = symbols or {}
    out: list[str] = []
    title_id = f"{css_class.split()[0]}-title"
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}"'
        f' viewBox="0 0 {_f(proj.width)} {_f(proj.height)}" role="img" direction="ltr"'
        + (f' aria-labelledby="{title_id}"' if title else "")
        + _attrs((attrs or {}).items())
        + ">"
    )
    if title:
        out.append(f'<title id="{title_id}">{escape(title)}</title>')
    defs = [_symbol(key, symbol) for key, symbol in symbols.items()]
    if lines:
        defs.append(
            '<marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="4"'
            ' markerHeight="4" orient="auto-start-reverse">'
            '<path d="M0 0L10 5L0 10z" fill="context-stroke"/></marker>'
        )
    if defs:
        out.append("<defs>" + "".join(defs) + "</defs>")
    out.append(f'<rect class="frame" width="{_f(proj.width)}" height="{_f(proj.height)}"/>')
    for shape in shapes:
        d = _path(proj, shape.coordinates, shape.closed)
        if d:
            out.append(f'<path class="{escape(shape.css_class)}" d="{d}"/>')
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
    placed = [(proj.xy(p.lat, p.lon), p) for p in points]
    label_xy = [(proj.xy(label.lat, label.lon), label) for label in labels]
    dots = [(x, y) for (x, y), label in label_xy if label.dot]
    if dots:
        # Under the marks: a town's dot must not hide the establishments around it.
        out.append(
            '<g class="place-dots">'
            + "".join(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="2"/>' for x, y in dots)
            + "</g>"
        )
    if placed:
        out.append('<g class="points">')
        out.extend(_mark(p, x, y) for (x, y), p in placed)
        out.append("</g>")
    if label_xy:
        # Names on top of the marks (they let clicks through, see the stylesheet), each on
        # the side where it hides the fewest marks, with a white halo from the stylesheet.
        marks = [(x, y, _radius(p, symbols)) for (x, y), p in placed]
        marks += [(*proj.xy(p.lat, p.lon), _radius(p, symbols)) for p in avoid]
        taken: list[tuple[float, float, float, float]] = []
        out.append('<g class="places">')
        for (x, y), label in label_xy:
            dx, dy, anchor = place_label(x, y, label.text, marks, taken, proj.width, proj.height)
            taken.append(label_box(x, y, label.text, dx, dy, anchor))
            anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
            out.append(
                f'<text class="{escape(label.css_class)}" x="{_f(x + dx)}" y="{_f(y + dy)}"'
                f"{anchor_attr}>{escape(label.text)}</text>"
            )
        out.append("</g>")
    km, px = nice_length(proj.km_per_px, proj.width / 4)
    sx, sy = margin, proj.height - margin / 2 - 2
    # Right to left, "50 كلم" must read number first from the right: the label is isolated
    # in the reader's direction (RLI … PDI), its left edge just after the bar either way.
    scale_label = f"{km:g} {unit}"
    if direction == "rtl":
        scale_label = f"\u2067{scale_label}\u2069"
    out.append(
        f'<g class="scale"><path d="M{_f(sx)} {_f(sy - 5)}V{_f(sy)}H{_f(sx + px)}V{_f(sy - 5)}"'
        f' fill="none"/><text x="{_f(sx + px + 4)}" y="{_f(sy)}">{escape(scale_label)}</text></g>'
    )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped
