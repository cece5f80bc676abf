"""Benchmark of the indicators at a region's scale; prints JSON on stdout (progress on stderr).

On SQLite (a file) and on PostgreSQL (its own schema), each built by the
pathways benchmark's own builder (``benchmarks/pathways.py``: the demo's
territory, ~150,000 persons through the MPI, eighteen months of activity
planned by the demo's planner and written by ``pathways.bulk.load``) at the
scale asked — 5,000,000 encounters and 500,000 referrals by default:

1. ``rebuild``: the full rebuild of the aggregates (``service.refresh(full=True)``),
   timed, with what it read.
2. ``pages``: the HTML pages through the application (an ASGI test client, a
   signed-in regional administrator, the background refresh off), each call
   timed from request to the last byte: the regional dashboard (target p95 ≤
   1 s) and the drill-downs to a province and to an establishment (target p95
   ≤ 300 ms). The month shown is the last complete one. p50 / p95 nearest-rank.
3. ``freshness``: with the background refresh running as in the server (its
   period from ``PARCOURS_INDICATORS_REFRESH_SECONDS``, default 2 s), a
   referral created and sent through ``pathways.service.create_referral``, then
   the aggregates read every 50 ms until the sending establishment's count of
   referrals sent has grown: the delay from the commit (target ≤ 5 s).

    .venv/bin/python benchmarks/indicators.py --quick        # smoke run, a few minutes
    .venv/bin/python benchmarks/indicators.py --sqlite-file /tmp/i.db --pg-schema bench_ind
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from parcours.access import service as access
from parcours.access.rules import Principal, Role, Scope, ScopeKind, parse_scope, system_principal
from parcours.db import make_session_factory
from parcours.errors import NotFound
from parcours.indicators import service
from parcours.indicators.models import IndicatorCell
from parcours.pathways import service as pathways
from parcours.pathways.schemas import ReferralIn
from parcours.patients import service as patients
from parcours.territory import service as territory

sys.path.append(str(Path(__file__).parent))
from pathways import LoadSampler, build, pg_engine, pg_schema_exists, sqlite_engine
from registry import machine, percentile, pg_unreachable, server_version

SEED = 2025
DASHBOARD_TARGET_MS = 1000.0
DRILL_TARGET_MS = 300.0
FRESH_TARGET_S = 5.0
PASSWORD = "mot-de-passe-du-banc"  # noqa: S105 - a throwaway account of the benchmark
DIRECTOR = "bench.directeur"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stats(samples_ms: list[float]) -> dict[str, float | int]:
    values = sorted(samples_ms)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "mean_ms": round(statistics.fmean(values), 1),
        "max_ms": round(values[-1], 1),
    }


def rebuild(engine: Engine) -> dict[str, Any]:
    factory = make_session_factory(engine)
    with factory() as db:
        service.ensure_shipped_indicators(db)
        started = time.perf_counter()
        out = service.refresh(db, full=True)
        seconds = time.perf_counter() - started
        cells = db.scalar(select(func.count()).select_from(IndicatorCell))
    return {"seconds": round(seconds, 1), "facts": out.facts, "cells": int(cells or 0)}


def _client(engine: Engine) -> TestClient:
    configured = os.environ.get("PARCOURS_INDICATORS_REFRESH_SECONDS")
    os.environ["PARCOURS_INDICATORS_REFRESH_SECONDS"] = "0"  # read when the client starts
    # benchmarks/fhir.py (on sys.path as the script's directory) would shadow the
    # fhir.resources package the application imports.
    here = Path(__file__).parent.resolve()
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    try:
        import parcours.web.routes  # noqa: F401 - imported by create_app, fhir with it
        from parcours.web.app import create_app
    finally:
        sys.path[:] = saved
    factory = make_session_factory(engine)
    with factory() as db:
        try:
            access.get_user(db, DIRECTOR)
        except NotFound:
            access.create_user(
                db,
                system_principal("bench"),
                username=DIRECTOR,
                password=PASSWORD,
                role=Role.REGIONAL_ADMIN,
                scope=Scope(ScopeKind.GST),
                province_of=territory.province_of_establishments(db),
                province_codes={p.code for p in territory.list_provinces(db)},
            )
    client = TestClient(create_app(engine), base_url="http://testserver")
    client.__enter__()
    if configured is None:
        del os.environ["PARCOURS_INDICATORS_REFRESH_SECONDS"]
    else:
        os.environ["PARCOURS_INDICATORS_REFRESH_SECONDS"] = configured
    client.get("/login")
    token = client.cookies.get("parcours_login_csrf") or ""
    response = client.post(
        "/login",
        data={"username": DIRECTOR, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def pages(engine: Engine, rounds: int) -> dict[str, Any]:
    client = _client(engine)
    try:
        factory = make_session_factory(engine)
        with factory() as db:
            tree = service.tree(db)
            busiest = db.execute(
                select(IndicatorCell.establishment, func.sum(IndicatorCell.n))
                .where(IndicatorCell.measure == "referral_received", IndicatorCell.dim == "")
                .group_by(IndicatorCell.establishment)
                .order_by(func.sum(IndicatorCell.n).desc())
            ).first()
        establishment = str(busiest[0]) if busiest else sorted(tree.establishments)[0]
        province = tree.establishments[establishment][1]
        urls = {
            "regional_dashboard": "/indicators",
            "province_drill_down": f"/indicators/provinces/{province}",
            "establishment_drill_down": f"/indicators/establishments/{establishment}",
        }
        out: dict[str, Any] = {"establishment": establishment, "province": province}
        for name, url in urls.items():
            first = time.perf_counter()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            out[f"{name}_first_ms"] = round((time.perf_counter() - first) * 1000, 1)
            samples = []
            for _ in range(rounds):
                started = time.perf_counter()
                response = client.get(url)
                assert response.status_code == 200
                samples.append((time.perf_counter() - started) * 1000)
            out[name] = stats(samples)
            out[f"{name}_bytes"] = len(response.content)
        return out
    finally:
        client.__exit__(None, None, None)


def freshness(engine: Engine, tries: int) -> dict[str, Any]:
    """Delay from a referral's commit to the aggregates counting it, the refresher running."""
    from parcours.indicators import refresher

    factory = make_session_factory(engine)
    period = refresher.period_seconds() or 2.0
    stop = threading.Event()
    runs: list[float] = []

    def loop() -> None:
        while not stop.wait(period):
            out = refresher.refresh_once(factory)
            runs.append(out.seconds)

    with factory() as db:
        refresher.refresh_once(factory)  # catch up before timing
        records = [
            r
            for r in patients.record_directory(db)
            if (r.establishment_code or "").startswith(("CSU", "CSR")) and r.person_id
        ]
    rng = random.Random(SEED)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    clinician = Principal(0, "bench.gst", Role.CLINICIAN, parse_scope("gst"), "web")
    delays = []
    try:
        for _ in range(tries):
            record = rng.choice(records)
            month = datetime.now(UTC).year * 100 + datetime.now(UTC).month
            with factory() as db:
                source = record.establishment_code or ""
                before = _sent(db, source, month)
                pathways.create_referral(
                    db,
                    clinician,
                    ReferralIn(
                        person_id=record.person_id,
                        source=record.establishment_code or "",
                        specialty="general_medicine",
                        reason="banc d'essai des indicateurs",
                    ),
                )
            committed = time.perf_counter()
            while True:
                with factory() as db:
                    if _sent(db, source, month) > before:
                        break
                if time.perf_counter() - committed > 60:
                    raise RuntimeError("the aggregates never counted the referral")
                time.sleep(0.05)
            delays.append(time.perf_counter() - committed)
            time.sleep(rng.uniform(0, period))  # land anywhere in the refresher's cycle
    finally:
        stop.set()
        thread.join()
    ordered = sorted(delays)
    return {
        "period_s": period,
        "tries": tries,
        "p50_s": round(percentile(ordered, 0.5), 2),
        "p95_s": round(percentile(ordered, 0.95), 2),
        "max_s": round(ordered[-1], 2),
        "refresh_run_s": {
            "mean": round(statistics.fmean(runs), 3) if runs else None,
            "max": round(max(runs), 3) if runs else None,
        },
    }


def _sent(db: Any, source: str, month: int) -> int:
    value = db.scalar(
        select(IndicatorCell.n).where(
            IndicatorCell.measure == "referral_sent",
            IndicatorCell.establishment == source,
            IndicatorCell.month == month,
            IndicatorCell.dim == "",
            IndicatorCell.bucket == -1,
        )
    )
    return int(value or 0)


def verdict(result: dict[str, Any]) -> dict[str, bool]:
    p = result["pages"]
    return {
        "regional_dashboard_p95": p["regional_dashboard"]["p95_ms"] <= DASHBOARD_TARGET_MS,
        "province_drill_down_p95": p["province_drill_down"]["p95_ms"] <= DRILL_TARGET_MS,
        "establishment_drill_down_p95": p["establishment_drill_down"]["p95_ms"] <= DRILL_TARGET_MS,
        "freshness_max": result["freshness"]["max_s"] <= FRESH_TARGET_S,
    }


def bench_backend(
    kind: str, make: Callable[[Path], Any], where: Path, sizes: dict[str, int], rounds: int,
    tries: int, skip_rebuild: bool,
) -> dict[str, Any]:  # fmt: skip
    result: dict[str, Any] = {}
    if kind == "postgresql":
        kept = where.suffix == ".db" and pg_schema_exists(where.stem)
    else:
        kept = where.suffix == ".db" and where.exists()
    with make(where) as engine:
        result["version"] = server_version(engine)
        if not kept:
            log(f"[{kind}] construction ({sizes})…")
            result["build"] = build(
                engine, sizes["persons"], sizes["encounters"], sizes["referrals"]
            )
        else:
            from parcours.migrations import upgrade

            upgrade(engine)
        with make_session_factory(engine)() as db:
            from parcours.pathways.models import Encounter, Referral

            result["rows"] = {
                "encounters": int(db.scalar(select(func.count(Encounter.id))) or 0),
                "referrals": int(db.scalar(select(func.count(Referral.id))) or 0),
            }
        with LoadSampler() as load:
            if not (skip_rebuild and kept):
                log(f"[{kind}] reconstruction complète des agrégats…")
                result["rebuild"] = rebuild(engine)
            log(f"[{kind}] pages…")
            result["pages"] = pages(engine, rounds)
            log(f"[{kind}] fraîcheur…")
            result["freshness"] = freshness(engine, tries)
        result["load_average"] = load.summary()
        result["targets_met"] = verdict(result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--encounters", type=int, default=None)
    parser.add_argument("--referrals", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="calls per page")
    parser.add_argument("--tries", type=int, default=None, help="referrals timed to the cells")
    parser.add_argument("--sqlite-file", type=Path, default=None, help="SQLite file to keep")
    parser.add_argument("--pg-schema", default=None, help="PostgreSQL schema to keep")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument(
        "--skip-rebuild", action="store_true", help="on a kept database, keep its aggregates"
    )
    args = parser.parse_args()
    sizes = {
        "persons": args.persons or (1_500 if args.quick else 150_000),
        "encounters": args.encounters or (15_000 if args.quick else 5_000_000),
        "referrals": args.referrals or (1_500 if args.quick else 500_000),
    }
    rounds = args.rounds or (5 if args.quick else 40)
    tries = args.tries or (3 if args.quick else 12)
    report: dict[str, Any] = {
        "benchmark": "indicators",
        "machine": machine(),
        "config": {**sizes, "rounds": rounds, "tries": tries, "seed": SEED},
        "targets": {
            "regional_dashboard_p95_ms": DASHBOARD_TARGET_MS,
            "drill_down_p95_ms": DRILL_TARGET_MS,
            "freshness_s": FRESH_TARGET_S,
        },
    }
    if args.no_sqlite:
        report["sqlite"] = {"skipped": "--no-sqlite"}
    elif args.sqlite_file:
        report["sqlite"] = bench_backend(
            "sqlite", sqlite_engine, args.sqlite_file, sizes, rounds, tries, args.skip_rebuild
        )
    else:
        with tempfile.TemporaryDirectory(prefix="parcours-bench-indicators-") as directory:
            report["sqlite"] = bench_backend(
                "sqlite", sqlite_engine, Path(directory), sizes, rounds, tries, False
            )
    reason = "--no-pg" if args.no_pg else pg_unreachable()
    if reason:
        report["postgresql"] = {"skipped": reason}
    else:
        schema = Path(f"{args.pg_schema}.db") if args.pg_schema else Path(".")
        report["postgresql"] = bench_backend(
            "postgresql", pg_engine, schema, sizes, rounds, tries, args.skip_rebuild
        )
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
