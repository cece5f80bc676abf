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
    Shape,
    Symbol,
    affine,
    label_box,
    line_widths,
    nice_length,
    place_label,
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
    # A link carries the tooltip, which also names it; a mark without link carries its own.
    assert links[0].findtext(f"{SVG}title") == "CHU <Tanger>"  # escaped in the markup
    assert "&lt;Tanger&gt;" in svg
    plain = root.findall(f".//{SVG}circle[@class='point']")
    assert len(plain) == 1
    assert plain[0].findtext(f"{SVG}title") == "Centre"
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


def test_marks_by_symbol_are_drawn_once_and_placed_by_reference() -> None:
    symbols = {"s0": Symbol(3, "#2e7d32", hit=6), "s1": Symbol(6, "#c62828")}
    svg = render(
        [
            Point(*TETOUAN, title="Centre", href="/e/C", symbol="s0", data={"code": "C"}),
            Point(*TANGER, title="Hôpital", href="/e/H", symbol="s1", css_class="big"),
        ],
        symbols=symbols,
    )
    root = parse(svg)
    defs = {g.get("id"): g for g in root.findall(f"./{SVG}defs/{SVG}g")}
    assert set(defs) == {"s0", "s1"}
    hit, drawn = defs["s0"].findall(f"{SVG}circle")
    assert (hit.get("r"), hit.get("opacity")) == ("6", "0")  # takes taps, is not seen
    assert (drawn.get("r"), drawn.get("fill")) == ("3", "#2e7d32")
    assert len(defs["s1"].findall(f"{SVG}circle")) == 1  # no hit disc asked for
    uses = root.findall(f".//{SVG}a/{SVG}use")
    assert [u.get("href") for u in uses] == ["#s0", "#s1"]
    assert uses[0].get("data-code") == "C"
    assert uses[1].get("class") == "big"
    # No colour, radius or stroke repeated on each mark: the symbol has them.
    assert all(u.get("fill") is None and u.get("r") is None for u in uses)
    proj = Projection(Bounds.around([TETOUAN, TANGER]), 800, None, 24)
    x, y = proj.xy(*TETOUAN)
    assert float(uses[0].get("x") or 0) == pytest.approx(x, abs=0.06)
    assert float(uses[0].get("y") or 0) == pytest.approx(y, abs=0.06)


def test_shapes_are_drawn_under_the_marks_closed_or_open() -> None:
    coast = [(35.0, -6.2), (35.8, -5.9), (35.2, -3.9)]
    root = parse(
        render(
            [Point(*TETOUAN)],
            shapes=[Shape([*coast, (34.0, -3.9)], "land"), Shape(coast, "coast", closed=False)],
        )
    )
    children = [(c.tag.removeprefix(SVG), c.get("class")) for c in root]
    assert children.index(("path", "land")) < children.index(("path", "coast"))
    assert children.index(("path", "coast")) < children.index(("g", "points"))
    land = root.find(f"./{SVG}path[@class='land']")
    coastline = root.find(f"./{SVG}path[@class='coast']")
    assert land is not None
    assert coastline is not None
    assert (land.get("d") or "").startswith("M")
    assert (land.get("d") or "").endswith("Z")
    assert not (coastline.get("d") or "").endswith("Z")


def test_a_name_goes_to_the_side_free_of_marks() -> None:
    # Marks crowd the right of the place: the name goes left, where nothing is drawn.
    crowd = [(x, y, 3.0) for x in range(110, 170, 8) for y in range(80, 110, 6)]
    dx, dy, anchor = place_label(100, 100, "Tanger", crowd, [], 400, 300)
    left, top, right, bottom = label_box(100, 100, "Tanger", dx, dy, anchor)
    assert not any(left - 3 < x < right + 3 and top - 3 < y < bottom + 3 for x, y, _ in crowd)
    # Nothing around: the preferred spot, above right of the place.
    assert place_label(100, 100, "Tanger", [], [], 400, 300)[2] == "start"
    # By the right edge the name turns back inside the drawing.
    dx, dy, anchor = place_label(395, 100, "Tanger", [], [], 400, 300)
    assert label_box(395, 100, "Tanger", dx, dy, anchor)[2] <= 400


def test_names_avoid_marks_that_a_script_will_add() -> None:
    marks = [
        Point(TANGER[0] + 0.004 * i, TANGER[1] + 0.006 * j) for i in range(4) for j in range(4)
    ]
    bounds = Bounds(35.6, -6.0, 35.9, -5.6)
    drawn = parse(render(marks, [Label(*TANGER, "Tanger")], bounds=bounds, width=600))
    ghost = parse(render((), [Label(*TANGER, "Tanger")], bounds=bounds, width=600, avoid=marks))
    plain = parse(render((), [Label(*TANGER, "Tanger")], bounds=bounds, width=600))

    def spot(root: ET.Element) -> tuple[str | None, str | None]:
        text = root.find(f".//{SVG}text[@class='place']")
        assert text is not None
        return text.get("x"), text.get("y")

    assert spot(ghost) == spot(drawn) != spot(plain)
    assert ghost.find(f".//{SVG}g[@class='points']") is None


def test_affine_moves_a_point_from_one_map_onto_another() -> None:
    region = Projection(Bounds(34.7, -6.3, 35.95, -3.7), 900, None, 24)
    zoom = Projection(Bounds(35.52, -5.95, 35.92, -5.22), 900, None, 24)
    ax, bx, ay, by = affine(region, zoom)
    for place in (TANGER, TETOUAN, (35.85, -5.36)):
        x, y = region.xy(*place)
        assert (ax * x + bx, ay * y + by) == pytest.approx(zoom.xy(*place), abs=1e-6)
    assert ax > 3  # the zoom is about 3.5 times larger


def test_the_scale_reads_right_to_left_in_arabic_and_the_map_stays_west_left() -> None:
    root = parse(render([Point(*TANGER), Point(*AL_HOCEIMA)], unit="كلم", direction="rtl"))
    assert root.get("direction") == "ltr"
    scale = root.find(f".//{SVG}g[@class='scale']/{SVG}text")
    assert scale is not None
    # An isolate in the reader's direction: "50 كلم" shows the number on the right.
    assert scale.text is not None
    assert scale.text.startswith("\u2067")
    assert scale.text.endswith("كلم\u2069")
    french = parse(render([Point(*TANGER), Point(*AL_HOCEIMA)]))
    text = french.findtext(f".//{SVG}g[@class='scale']/{SVG}text")
    assert text is not None
    assert text.endswith(" km")
    assert "\u2067" not in text


def test_extra_attributes_go_on_the_svg_element_escaped() -> None:
    root = parse(render([Point(*TANGER)], attrs={"data-affine": '1 2 "3" 4'}))
    assert root.get("data-affine") == '1 2 "3" 4'
