"""The coast of Tanger–Tétouan–Al Hoceïma, drawn by hand, for the maps to show land and sea.

No coastline data set is available offline, so the coast below is a sketch:
points read off a map every ten to twenty kilometres, (latitude, longitude),
west to east — down the Atlantic from the south of Larache province to Cap
Spartel, along the Strait, then down the Mediterranean to the east of Al
Hoceïma. It is good to a kilometre or so near the towns and coarser between
them: maps label it "trait de côte approximatif".

Near the coastal towns the sketch passes a little outside the demo's own land
sketch (``parcours.demo.geography.REGION_OUTLINE``), so that every demo
establishment, placed inside that outline, falls on land here (a test checks
it).

Ceuta (Spanish) lies just north-east of Fnideq: the coast cuts across its
isthmus, leaving it in the sea like the rest of what is not the region.
"""

from __future__ import annotations

from collections.abc import Sequence

Coordinates = tuple[float, float]

COAST: tuple[Coordinates, ...] = (
    # Atlantic, south to north
    (34.90, -6.29),  # south edge of Larache province
    (35.05, -6.22),
    (35.19, -6.16),  # Larache
    (35.33, -6.10),
    (35.47, -6.04),  # Asilah
    (35.60, -5.99),
    (35.79, -5.93),  # Cap Spartel
    # the Strait, west to east
    (35.78, -5.87),
    (35.79, -5.81),  # Tanger bay
    (35.83, -5.70),
    (35.85, -5.56),  # Ksar Sghir
    (35.89, -5.50),  # Tanger Med
    (35.91, -5.44),
    (35.905, -5.39),  # Belyounech
    (35.87, -5.343),  # Fnideq; Ceuta, Spanish, lies just north-east
    # Mediterranean, north to south-east
    (35.77, -5.333),
    (35.69, -5.313),  # M'diq
    (35.67, -5.27),  # Cabo Negro
    (35.62, -5.265),  # Martil
    (35.56, -5.23),  # Azla
    (35.455, -5.085),  # Oued Laou
    (35.37, -4.96),
    (35.218, -4.665),  # El Jebha
    (35.17, -4.40),
    (35.15, -4.33),  # Torres de Alcala
    (35.22, -4.05),
    (35.24, -3.975),
    (35.262, -3.945),  # Al Hoceïma, on its headland
    (35.262, -3.925),
    (35.23, -3.90),
    (35.20, -3.865),
    (35.17, -3.75),  # east edge of the maps
)

# The land is the coast closed through points beyond any map of the region: on
# down the Atlantic to Kénitra's shore, then round far to the south and east.
# The region's inland boundary is not known offline, so the land simply runs
# off the bottom of the maps (which are framed on the establishments).
LAND: tuple[Coordinates, ...] = (
    (34.26, -6.67),  # the Atlantic shore at Kénitra, off the maps to the south-west
    *COAST,
    (35.20, -3.50),
    (34.00, -3.50),
    (34.00, -6.80),
)


def inside(polygon: Sequence[Coordinates], lat: float, lon: float) -> bool:
    """Whether ``(lat, lon)`` lies inside ``polygon`` (even-odd ray casting)."""
    result = False
    previous = polygon[-1]
    for current in polygon:
        (lat_i, lon_i), (lat_j, lon_j) = current, previous
        if (lat_i > lat) != (lat_j > lat):
            crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if lon < crossing:
                result = not result
        previous = current
    return result


def on_land(lat: float, lon: float) -> bool:
    """Whether a point is on the land side of the coast sketch."""
    return inside(LAND, lat, lon)
