"""What later demo steps know of an establishment, whoever created it."""

from __future__ import annotations

from dataclasses import dataclass

from parcours.territory.rules import EstablishmentType


@dataclass(frozen=True)
class EstablishmentRef:
    code: str
    name: str
    type: EstablishmentType
    province: str
    town: str
    latitude: float | None
    longitude: float | None
