"""``parcours pathways export-map|expire`` on a SQLite file, as an operator runs them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from parcours.access.rules import Principal, Role, parse_scope
from parcours.db import make_engine, make_session_factory, utcnow
from parcours.pathways import service
from parcours.pathways.cli import EXPORT_COLUMNS
from parcours.pathways.models import Referral
from parcours.pathways.schemas import ReferralIn
from tests.pathways.conftest import CENTRE, PROVINCIAL, build_network
from tests.test_cli import _run, database

__all__ = ["database"]  # the fixture, used by name


def _seed(path: Path) -> int:
    """The test network in the operator's database, and one urgent referral sent 3 h ago."""
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with factory() as db:
        net = build_network(db)
        nurse = Principal(1, "nurse", Role.CLINICIAN, parse_scope(f"establishment:{CENTRE}"))
        referral = service.create_referral(
            db,
            nurse,
            ReferralIn(
                person_id=net.person,
                source=CENTRE,
                specialty="cardiology",
                priority="urgent",
                reason="Douleur thoracique",
            ),
            now=utcnow() - timedelta(hours=3),
        )
    engine.dispose()
    return referral.id


def test_export_map_writes_the_designated_network_with_volumes(database: Path) -> None:
    _seed(database)
    result = _run("pathways", "export-map", "--specialty", "cardiology")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    centre = next(r for r in rows if r["source"] == CENTRE)
    assert (centre["destination"], centre["rule"]) == (PROVINCIAL, "level_2_province")
    assert centre["referrals_12_months"] == "1"
    out = database.parent / "map.csv"
    assert _run("pathways", "export-map", "-o", str(out)).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) > len(rows)
    bad = _run("pathways", "export-map", "--specialty", "astrology")
    assert bad.exit_code == 2
    assert "spécialité inconnue" in bad.output


def test_expire_sweeps_the_referrals_past_their_deadline(database: Path) -> None:
    referral_id = _seed(database)
    result = _run("pathways", "expire")
    assert result.exit_code == 0, result.output
    assert "1 référence(s) expirée(s)" in result.output
    engine = make_engine(f"sqlite:///{database}")
    with make_session_factory(engine)() as db:
        assert db.scalar(select(Referral.state).where(Referral.id == referral_id)) == "expired"
    engine.dispose()
    assert "0 référence(s)" in _run("pathways", "expire").output
