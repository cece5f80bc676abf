"""Distances between establishments, as the crow flies.

Great-circle distance is what the registry's coordinates allow without a road
network (no network access at run time); it ranks options correctly in most of
the region, and the figure shown to users says "à 42 km", not a travel time.
"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points in decimal degrees."""
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi = phi2 - phi1
    dlambda = radians(lon2 - lon1)
    h = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


def distance_km(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> float | None:
    """Distance between two (lat, lon) pairs, None when a coordinate is unknown."""
    (lat1, lon1), (lat2, lon2) = a, b
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    return haversine_km(lat1, lon1, lat2, lon2)
