"""The care network as the map and the routing see it, read once per registry change.

Every routing proposal and every map drawing needs all the establishments with
their services and beds. The registry changes a few times a month; requests
come many times a second. So the network is built from the registry once and
reused for as long as the registry's fingerprint (how many establishments,
when one last changed) stays the same: any change through the registry's use
cases bumps ``updated_at`` and the next request rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from parcours.pathways.pathway_map import Establishment, MapIndex
from parcours.territory import service as territory


@dataclass(frozen=True)
class Network:
    index: MapIndex
    names: dict[str, str]
    provinces: dict[str, str]

    def name(self, code: str | None) -> str:
        if code is None:
            return ""
        return self.names.get(code, code)

    def level(self, code: str) -> int:
        est = self.index.get(code)
        return est.care_level if est else 0


def load(session: Session) -> Network:
    """The network for this database, rebuilt only when the registry has changed."""
    return territory.registry_view(session, _build)


def _build(session: Session) -> Network:
    nodes = territory.network(session)
    establishments = [
        Establishment(
            code=n.code,
            type=n.type,
            province=n.province,
            latitude=n.latitude,
            longitude=n.longitude,
            services=n.services,
            region=n.region,
            is_open=n.is_open,
            name=n.name,
        )
        for n in nodes
    ]
    network = Network(
        index=MapIndex(establishments),
        names={n.code: n.name for n in nodes},
        provinces={n.code: n.province for n in nodes},
    )
    return network
