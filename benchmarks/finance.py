"""Benchmark of the GST's finance; prints JSON on stdout (progress on stderr).

On SQLite (a temporary file) and on PostgreSQL (its own schema, dropped at the end;
skipped with the reason when the server does not answer): the demo's registry (the
``territory`` step), then one year of the region's budget (the demo planner's 264 lines:
the CHU, the 22 hospitals and the headquarters, 11 sub-lines each) with about 1,000,000
movements (allocations, commitments, de-commitments, payment orders, payments; the
planner at a large scale) booked by ``finance.service.bulk_load`` — the same rules as one
by one, bulk insert (COPY on PostgreSQL). Then ``ANALYZE`` (``VACUUM ANALYZE`` on
PostgreSQL), and, each call in its own session as a web request has it, after one warm-up:

1. ``execution``: ``finance.service.execution`` for the whole region and the year (every
   line with its cumulated totals, by establishment and chapter, the twelve months, the
   alerts) — what the page, the API and the exports read — target p95 ≤ 300 ms;
2. ``commitment``: ``finance.service.record_movement`` of a small commitment on a line
   drawn at random (lock, rules, ledger, totals, month, audit, commit), for information;
3. ``ledger_scan``: the same monthly totals summed from the ledger itself (``GROUP BY``
   line and month over the million movements), for information: what the monthly
   aggregate saves.

    .venv/bin/python benchmarks/finance.py            # full run (1,000,000 movements)
    .venv/bin/python benchmarks/finance.py --quick    # smoke run (about 50,000)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.db import make_engine, make_session_factory
from parcours.demo import finance_plan, pipeline
from parcours.demo.steps.territory import STEP as TERRITORY
from parcours.finance import service
from parcours.finance.models import BudgetLine, Movement
from parcours.finance.rules import MovementKind
from parcours.finance.schemas import LineIn, MovementIn
from parcours.migrations import upgrade
from parcours.territory import service as territory
from parcours.territory.rules import Category, EstablishmentType

PG_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SEED = 2025
YEAR = 2025
TARGETS_MS = {"execution": 300}
OFFICER = service.system_finance("bench")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def stats(samples_ms: list[float]) -> dict[str, float | int]:
    values = sorted(samples_ms)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "max_ms": round(values[-1], 2),
    }


def measure(engine: Engine, rounds: int, call: Callable[[Session], object]) -> dict[str, Any]:
    factory = make_session_factory(engine)
    with factory() as db:
        call(db)  # warm-up: caches, prepared plans
        db.rollback()
    samples = []
    for _ in range(rounds):
        with factory() as db:
            started = time.perf_counter()
            call(db)
            samples.append((time.perf_counter() - started) * 1000)
            db.rollback()
    return stats(samples)


@contextmanager
def sqlite_engine(directory: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{directory / 'finance'}.db")
    try:
        yield engine
    finally:
        engine.dispose()


def pg_unreachable() -> str | None:
    try:
        with psycopg.connect(
            PG_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {PG_URL}: {exc}".strip()


@contextmanager
def pg_engine() -> Iterator[Engine]:
    schema = f"bench_finance_{os.getpid()}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def units(db: Session) -> list[finance_plan.Unit]:
    out = [finance_plan.Unit(None, Decimal(0))]
    for n in sorted(territory.network(db), key=lambda n: n.code):
        if not n.is_open or n.type.category is Category.HEALTH_CENTRE:
            continue
        beds = Decimal(max(sum(n.services.values()), 20))
        if n.type is EstablishmentType.CHU:
            beds *= finance_plan.CHU_WEIGHT
        out.append(finance_plan.Unit(n.code, beds))
    return out


def plan_year(budget_units: list[finance_plan.Unit], wanted: int) -> finance_plan.BudgetPlan:
    """The planner's year at the scale that gives about ``wanted`` movements."""
    today = date(YEAR, 12, 31)
    one = len(finance_plan.plan_budget(budget_units, today=today, seed=SEED).movements)
    fixed = len(budget_units) * (1 + 3 * 12 * 3)  # allocations and monthly payroll
    scale = max(1.0, (wanted - fixed) / max(one - fixed, 1) * 1.01)
    plan = finance_plan.plan_budget(budget_units, today=today, seed=SEED, scale=scale)
    while len(plan.movements) < wanted:  # the planner rounds counts per line: top up
        scale *= (wanted - fixed) / max(len(plan.movements) - fixed, 1) * 1.005
        plan = finance_plan.plan_budget(budget_units, today=today, seed=SEED, scale=scale)
    return plan


def load(engine: Engine, wanted: int) -> dict[str, Any]:
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory() as db:
        pipeline.run(db, (TERRITORY,), seed=SEED)
    with factory() as db:
        budget_units = units(db)
    started = time.perf_counter()
    plan = plan_year(budget_units, wanted)
    planned_s = time.perf_counter() - started
    log(f"  planned {len(plan.movements)} movements in {planned_s:.1f} s")
    started = time.perf_counter()
    with factory() as db:
        ids = [
            service.create_line(
                db,
                OFFICER,
                LineIn(year=line.year, establishment=line.establishment, code=line.code),
                commit=False,
            ).id
            for line in plan.lines
        ]
        loaded = service.bulk_load(
            db,
            OFFICER,
            [
                service.BulkMovement(ids[m.line], m.kind, m.amount, m.day, m.reason, m.reference)
                for m in plan.movements
            ],
            batch=50_000,
        )
        db.commit()
    load_s = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with factory() as db:
        movements = db.scalar(select(func.count(Movement.id))) or 0
        lines = db.scalar(select(func.count(BudgetLine.id))) or 0
    return {
        "lines": lines,
        "movements": movements,
        "bulk_loaded": loaded,
        "plan_s": round(planned_s, 1),
        "load_s": round(load_s, 1),
    }


def ledger_scan(db: Session) -> int:
    month = (
        func.strftime("%m", Movement.booked_on)
        if db.get_bind().dialect.name == "sqlite"
        else func.extract("month", Movement.booked_on)
    )
    rows = db.execute(
        select(Movement.line_id, month, Movement.measure, func.sum(Movement.delta)).group_by(
            Movement.line_id, month, Movement.measure
        )
    ).all()
    return len(rows)


def bench(engine: Engine, wanted: int, rounds: int) -> dict[str, Any]:
    loaded = load(engine, wanted)
    log(f"  loaded {loaded['movements']} movements in {loaded['load_s']} s")
    factory = make_session_factory(engine)
    with factory() as db:
        line_ids = list(db.scalars(select(BudgetLine.id)))
        report = service.execution(db, OFFICER, year=YEAR)
    rng = random.Random(SEED)

    def commit_one(db: Session) -> None:
        service.record_movement(
            db,
            OFFICER,
            rng.choice(line_ids),
            MovementIn(
                kind=MovementKind.COMMITMENT,
                amount=Decimal("10.00"),
                booked_on=date(YEAR, 12, 30),
                reason="mesure",
            ),
        )

    out = {
        **loaded,
        "execution_rows": len(report.rows),
        "region_allocated": str(report.total.allocated),
        "execution": measure(engine, rounds, lambda db: service.execution(db, OFFICER, year=YEAR)),
        "commitment": measure(engine, rounds, commit_one),
        "ledger_scan": measure(engine, 3, ledger_scan),
    }
    for key, target in TARGETS_MS.items():
        out[key]["target_ms"] = target
        out[key]["met"] = out[key]["p95_ms"] <= target
    log(
        f"  execution p95 {out['execution']['p95_ms']} ms · commitment p95 "
        f"{out['commitment']['p95_ms']} ms · ledger scan p50 {out['ledger_scan']['p50_ms']} ms"
    )
    return out


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return str(conn.execute(text("select sqlite_version()")).scalar())
        return str(conn.execute(text("show server_version")).scalar())


def machine() -> dict[str, Any]:
    try:
        load_avg = os.getloadavg()
    except OSError:
        load_avg = (0.0, 0.0, 0.0)
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite_library": sqlite3.sqlite_version,
        "load_average_at_start": [round(x, 2) for x in load_avg],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 50,000 movements, 5 rounds")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--movements", type=int, default=1_000_000)
    args = parser.parse_args()
    wanted, rounds = (50_000, 5) if args.quick else (args.movements, args.rounds)
    report: dict[str, Any] = {
        "machine": machine(),
        "movements_wanted": wanted,
        "year": YEAR,
        "targets_ms": TARGETS_MS,
    }
    with tempfile.TemporaryDirectory() as tmp:
        log("sqlite")
        with sqlite_engine(Path(tmp)) as engine:
            report["sqlite"] = {"version": server_version(engine), **bench(engine, wanted, rounds)}
    reason = None if not args.no_pg else "--no-pg"
    reason = reason or pg_unreachable()
    if reason:
        report["postgresql"] = {"skipped": reason}
    else:
        log("postgresql")
        with pg_engine() as engine:
            report["postgresql"] = {
                "version": server_version(engine),
                **bench(engine, wanted, rounds),
            }
    with suppress(OSError):
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
