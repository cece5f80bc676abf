"""The server-side map: projection, scale and markup, without a database."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from parcours.web.svgmap import (
    KM_PER_DEGREE,
    Bounds,
    Label,
    Line,
    Point,
    Projection,
    line_widths,
    nice_length,
    render,
)

SVG = "{http://www.w3.org/2000/svg}"
TANGER = (35.7595, -5.8340)
AL_HOCEIMA = (35.2517, -3.9372)
TETOUAN = (35.5785, -5.3684)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own markup


def test_bounds_around_pads_and_keeps_a_minimum_span() -> None:
    b = Bounds.around([TANGER, AL_HOCEIMA], pad=0.1)
    assert b.south < AL_HOCEIMA[0] < TANGER[0] < b.north
    assert b.west < TANGER[1] < AL_HOCEIMA[1] < b.east
    single = Bounds.around([TANGER])
    assert single.north - single.south >= 0.2
    assert single.east - single.west >= 0.2
    with pytest.raises(ValueError, match="no coordinates"):
        Bounds.around([])


def test_projection_puts_north_up_and_east_right_inside_the_margins() -> None:
    proj = Projection(Bounds.around([TANGER, AL_HOCEIMA]), width=800, height=500, margin=20)
    tx, ty = proj.xy(*TANGER)
    hx, hy = proj.xy(*AL_HOCEIMA)
    assert hx > tx  # Al Hoceïma lies east of Tanger
    assert hy > ty  # and south of it: y grows downwards
    for x, y in ((tx, ty), (hx, hy)):
        assert 20 <= x <= 780
        assert 20 <= y <= 480


def test_projection_corrects_longitude_by_the_cosine_of_latitude() -> None:
    # A square of one degree at 60°N is twice as tall as it is wide on the ground.
    proj = Projection(Bounds(59.5, 0.0, 60.5, 1.0), width=1000, height=1000, margin=0)
    x0, y0 = proj.xy(60.0, 0.0)
    x1, _ = proj.xy(60.0, 1.0)
    _, y1 = proj.xy(59.0, 0.0)
    assert (x1 - x0) == pytest.approx((y1 - y0) * math.cos(math.radians(60)), rel=1e-9)


def test_distances_on_the_map_match_the_ground() -> None:
    # Tanger–Al Hoceïma is about 175 km as the crow flies.
    proj = Projection(Bounds.around([TANGER, AL_HOCEIMA]), width=800)
    tx, ty = proj.xy(*TANGER)
    hx, hy = proj.xy(*AL_HOCEIMA)
    km = math.hypot(hx - tx, hy - ty) * proj.km_per_px
    assert 165 < km < 185


def test_height_follows_the_aspect_when_not_given() -> None:
    wide = Projection(Bounds(35.0, -6.0, 35.5, -4.0), width=800, margin=10)
    assert wide.height < 800 / 2
    tall = Projection(Bounds(34.0, -5.0, 36.0, -4.8), width=800, margin=10)
    assert tall.height > 800


def test_nice_length_picks_a_round_distance_that_fits() -> None:
    km, px = nice_length(km_per_px=0.37, max_px=200)  # at most 74 km
    assert km == 50
    assert px == pytest.approx(50 / 0.37)
    assert nice_length(0.01, 100)[0] == 1  # 1 km fits in 1 km
    assert nice_length(3.0, 100)[0] == 200


def test_line_widths_are_proportional_to_weights() -> None:
    lines = [Line(TANGER, TETOUAN, weight=10), Line(TETOUAN, AL_HOCEIMA, weight=5)]
    assert line_widths(lines, thinnest=1, thickest=8) == [8, 4]
    assert line_widths([Line(TANGER, TETOUAN, weight=0)]) == [1.0]
    assert line_widths([]) == []


def test_render_draws_points_labels_lines_and_scale() -> None:
    svg = render(
        [
            Point(
                *TANGER,
                radius=6,
                colour="#c62828",
                title="CHU <Tanger>",
                href="/e/CHU",
                css_class="establishment",
                data={"code": "CHU", "type": "chu"},
            ),
            Point(*TETOUAN, title="Centre"),
        ],
        [Label(*AL_HOCEIMA, "Al Hoceïma")],
        [Line(TETOUAN, TANGER, weight=3, title="3 références")],
        css_class="region-map",
        title="Carte",
        unit="كم",
    )
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("class") == "region-map"
    assert root.get("direction") == "ltr"
    links = root.findall(f".//{SVG}a")
    assert [a.get("href") for a in links] == ["/e/CHU"]
    circle = links[0].find(f"{SVG}circle")
    assert circle is not None
    assert circle.get("data-code") == "CHU"
    assert circle.get("data-type") == "chu"
    assert circle.get("fill") == "#c62828"
    assert circle.findtext(f"{SVG}title") == "CHU <Tanger>"  # escaped in the markup
    assert "&lt;Tanger&gt;" in svg
    assert len(root.findall(f".//{SVG}circle[@class='point']")) == 1
    assert [t.text for t in root.findall(f".//{SVG}text[@class='place']")] == ["Al Hoceïma"]
    flows = root.findall(f".//{SVG}path[@class='flow']")
    assert len(flows) == 1
    assert flows[0].get("marker-end") == "url(#arrow)"
    scale = root.find(f".//{SVG}g[@class='scale']/{SVG}text")
    assert scale is not None
    assert scale.text is not None
    assert scale.text.endswith("كم")


def test_every_point_lies_inside_the_view_box() -> None:
    towns = [TANGER, TETOUAN, AL_HOCEIMA, (34.7971, -5.5836), (35.1932, -6.1557)]
    root = parse(render([Point(lat, lon) for lat, lon in towns], width=600, margin=15))
    _, _, w, h = (float(v) for v in (root.get("viewBox") or "").split())
    circles = root.findall(f".//{SVG}circle")
    assert len(circles) == len(towns)
    for c in circles:
        assert 15 <= float(c.get("cx") or -1) <= w - 15
        assert 15 <= float(c.get("cy") or -1) <= h - 15


def test_graticule_is_optional() -> None:
    with_grid = parse(render([Point(*TANGER), Point(*AL_HOCEIMA)]))
    assert with_grid.find(f".//{SVG}g[@class='graticule']") is not None
    without = parse(render([Point(*TANGER), Point(*AL_HOCEIMA)], graticule=None))
    assert without.find(f".//{SVG}g[@class='graticule']") is None


def test_km_per_px_is_consistent_with_the_degree() -> None:
    proj = Projection(Bounds(35.0, -6.0, 36.0, -5.0), width=500, height=500, margin=0)
    assert proj.km_per_px == pytest.approx(KM_PER_DEGREE / proj.scale)
    _, y_north = proj.xy(36.0, -5.5)
    _, y_south = proj.xy(35.0, -5.5)
    assert (y_south - y_north) * proj.km_per_px == pytest.approx(KM_PER_DEGREE)
