"""Where a demo establishment may stand: on land, inside its province's rough extent.

The region's outline below is drawn by hand, a little inside the coast (about
a kilometre, less next to the coastal towns whose own coordinates sit near the
shore): it runs down the Atlantic from Cap Spartel to the south of Larache,
along the Strait and around Ceuta (Spanish, excluded), then down the
Mediterranean coast to the east of Al Hoceïma, and back west along a rough
inland border. It is a sketch for placing demo points, not a boundary of
record; each province adds a bounding box around its towns. A point is kept
when it is inside both.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# (latitude, longitude), going round the region.
REGION_OUTLINE: tuple[tuple[float, float], ...] = (
    # Atlantic coast, south to north
    (34.900, -6.262),
    (35.000, -6.226),
    (35.100, -6.190),
    (35.190, -6.1595),  # Larache
    (35.300, -6.105),
    (35.400, -6.062),
    (35.465, -6.0365),  # Asilah
    (35.550, -5.995),
    (35.650, -5.962),
    (35.740, -5.935),
    (35.775, -5.915),  # Cap Spartel
    # the Strait, west to east
    (35.777, -5.860),
    (35.775, -5.825),  # Tanger, old town and port
    (35.768, -5.795),
    (35.768, -5.765),  # Tanger bay
    (35.785, -5.745),  # Malabata
    (35.800, -5.700),
    (35.825, -5.620),
    (35.846, -5.557),  # Ksar Sghir
    (35.880, -5.500),  # Tanger Med
    (35.895, -5.450),
    (35.898, -5.400),  # Belyounech
    (35.872, -5.383),  # border with Ceuta (Benzú side)
    (35.866, -5.346),  # border with Ceuta (Tarajal side)
    # Mediterranean coast, north to south-east
    (35.850, -5.3475),  # Fnideq
    (35.760, -5.337),
    (35.690, -5.320),  # M'diq
    (35.655, -5.295),  # Cabo Negro, cut inside
    (35.617, -5.271),  # Martil
    (35.555, -5.232),
    (35.500, -5.165),
    (35.452, -5.090),  # Oued Laou
    (35.400, -5.020),
    (35.330, -4.900),
    (35.250, -4.780),
    (35.212, -4.664),  # El Jebha
    (35.190, -4.550),
    (35.145, -4.400),
    (35.150, -4.300),
    (35.180, -4.150),
    (35.200, -4.020),
    (35.235, -3.965),
    (35.258, -3.945),  # Al Hoceïma
    (35.258, -3.928),
    (35.225, -3.903),
    (35.200, -3.870),
    (35.170, -3.800),
    (35.150, -3.720),  # towards Driouch
    # inland border, east to west
    (34.950, -3.740),
    (34.780, -4.050),
    (34.780, -4.600),
    (34.850, -4.850),
    (34.700, -5.100),
    (34.580, -5.400),
    (34.620, -5.750),
    (34.850, -5.900),
    (34.880, -6.100),
)


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


# Rough extent of each province or prefecture, drawn around its towns; boxes of
# neighbours overlap, which is fine for placing points.
PROVINCE_BOXES: dict[str, Box] = {
    "TNG": Box(35.33, 35.80, -6.10, -5.60),
    "MDF": Box(35.60, 35.90, -5.45, -5.25),
    "TET": Box(35.25, 35.65, -5.65, -4.95),
    "FAN": Box(35.62, 35.90, -5.72, -5.40),
    "LAR": Box(34.85, 35.40, -6.30, -5.55),
    "HOC": Box(34.75, 35.30, -4.65, -3.70),
    "CHE": Box(34.85, 35.45, -5.55, -4.50),
    "OUZ": Box(34.55, 35.05, -5.95, -5.10),
}

REGION_BOX = Box(
    south=min(lat for lat, _ in REGION_OUTLINE),
    north=max(lat for lat, _ in REGION_OUTLINE),
    west=min(lon for _, lon in REGION_OUTLINE),
    east=max(lon for _, lon in REGION_OUTLINE),
)

KM_PER_DEGREE_LAT = 111.32


def on_land(lat: float, lon: float) -> bool:
    """Whether the point lies inside the region's outline (even-odd ray casting)."""
    inside = False
    points = REGION_OUTLINE
    j = len(points) - 1
    for i in range(len(points)):
        lat_i, lon_i = points[i]
        lat_j, lon_j = points[j]
        if (lat_i > lat) != (lat_j > lat):
            crossing = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if lon < crossing:
                inside = not inside
        j = i
    return inside


def placeable(province: str, lat: float, lon: float) -> bool:
    return on_land(lat, lon) and PROVINCE_BOXES[province].contains(lat, lon)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance: exact enough at the scale of a region."""
    mean_lat = math.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * KM_PER_DEGREE_LAT
    dx = (a[1] - b[1]) * KM_PER_DEGREE_LAT * math.cos(mean_lat)
    return math.hypot(dx, dy)


def jitter(
    rng: random.Random,
    province: str,
    around: tuple[float, float],
    radius_km: float,
    attempts: int = 200,
) -> tuple[float, float]:
    """A point drawn uniformly within ``radius_km`` of ``around`` that is placeable.

    The anchor itself must be placeable (the tests check every anchor); after
    ``attempts`` misses the radius is halved, and at worst the anchor is used.
    """
    lat0, lon0 = around
    km_per_degree_lon = KM_PER_DEGREE_LAT * math.cos(math.radians(lat0))
    radius = radius_km
    while radius > 0.05:
        for _ in range(attempts):
            distance = radius * math.sqrt(rng.random())
            angle = rng.uniform(0, 2 * math.pi)
            lat = lat0 + distance * math.sin(angle) / KM_PER_DEGREE_LAT
            lon = lon0 + distance * math.cos(angle) / km_per_degree_lon
            if placeable(province, lat, lon):
                return round(lat, 5), round(lon, 5)
        radius /= 2
    return round(lat0, 5), round(lon0, 5)
