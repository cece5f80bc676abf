"""Benchmark of the regional workforce; prints JSON on stdout (progress on stderr).

On SQLite (a temporary file) and on PostgreSQL (its own schema, dropped at the
end; skipped with the reason when the server does not answer), at two sizes —
the demo region (about 7,000 professionals) and the whole country (about
70,000: the demo planner at scale 10 over the same 318 establishments) — it
measures the latency of:

1. ``gaps``: ``workforce.service.gap_report`` for the whole region with every
   line (the norm in force against the staff present today, by establishment,
   service and category, totals by province and category) — target ≤ 200 ms;
2. ``file``: ``workforce.service.professional_file`` of a professional drawn at
   random (identity, qualifications, assignments, this month's duties, mobility
   requests with their steps, history; the audited read commits its audit
   entry) — target ≤ 50 ms;
3. ``overview``: ``workforce.service.overview`` (counts, distribution,
   density, projection to 2030, decision delays), for information.

Each call runs in its own session, as a web request has it, after one warm-up
call. The data are written by the demo's own steps (``territory`` then
``workforce``, in bulk) on the schema the migrations build, then ``ANALYZE``
(``VACUUM ANALYZE`` on PostgreSQL, as autovacuum does after a bulk load).

    .venv/bin/python benchmarks/workforce.py            # full run
    .venv/bin/python benchmarks/workforce.py --quick    # smoke run
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
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from parcours.db import make_engine, make_session_factory
from parcours.demo import pipeline
from parcours.demo.steps.territory import STEP as TERRITORY
from parcours.demo.steps.workforce import STEP as WORKFORCE
from parcours.migrations import upgrade
from parcours.workforce import service
from parcours.workforce.models import Assignment, Professional

PG_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SEED = 2025
TARGETS_MS = {"gaps": 200, "file": 50}
READER = service.system_hr("bench")


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


def measure(engine: Engine, rounds: int, call: Callable[[Any], object]) -> dict[str, Any]:
    factory = make_session_factory(engine)
    with factory() as db:
        call(db)  # warm-up: caches, prepared plans
    samples = []
    for _ in range(rounds):
        with factory() as db:
            started = time.perf_counter()
            call(db)
            samples.append((time.perf_counter() - started) * 1000)
    return stats(samples)


@contextmanager
def sqlite_engine(directory: Path, name: str) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{directory / name}.db")
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
def pg_engine(name: str) -> Iterator[Engine]:
    schema = f"bench_workforce_{name}_{os.getpid()}"
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


def load(engine: Engine, scale: float) -> dict[str, Any]:
    upgrade(engine)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with factory() as db:
        run = pipeline.run(db, (TERRITORY, WORKFORCE), seed=SEED, scale=scale)
    seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: statistics, and the visibility map that
        # lets the gap computation read its covering index alone.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    with factory() as db:
        professionals = db.scalar(select(func.count(Professional.id))) or 0
        assignments = db.scalar(select(func.count(Assignment.id))) or 0
    counts = {o.name: o.counts for o in run.outcomes}
    return {
        "scale": scale,
        "professionals": professionals,
        "assignments": assignments,
        "load_s": round(seconds, 2),
        "steps": counts,
    }


def bench(engine: Engine, scale: float, rounds: int, file_rounds: int) -> dict[str, Any]:
    loaded = load(engine, scale)
    log(f"  loaded {loaded['professionals']} professionals in {loaded['load_s']} s")
    factory = make_session_factory(engine)
    with factory() as db:
        ids = list(db.scalars(select(Professional.id)))
        region = service.gap_report(db, READER)
    rng = random.Random(SEED)
    picks = iter([rng.choice(ids) for _ in range(file_rounds + 1)])
    out = {
        **loaded,
        "gap_lines": len(region.lines),
        "gaps": measure(engine, rounds, lambda db: service.gap_report(db, READER)),
        "file": measure(
            engine, file_rounds, lambda db: service.professional_file(db, READER, next(picks))
        ),
        "overview": measure(engine, max(3, rounds // 3), lambda db: service.overview(db, READER)),
    }
    for key, target in TARGETS_MS.items():
        out[key]["target_ms"] = target
        out[key]["met"] = out[key]["p95_ms"] <= target
    log(f"  gaps p95 {out['gaps']['p95_ms']} ms · file p95 {out['file']['p95_ms']} ms")
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
    parser.add_argument("--quick", action="store_true", help="demo size only, few rounds")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--file-rounds", type=int, default=200)
    args = parser.parse_args()
    sizes = {"demo": 1.0} if args.quick else {"demo": 1.0, "country": 10.0}
    rounds, file_rounds = (5, 20) if args.quick else (args.rounds, args.file_rounds)
    report: dict[str, Any] = {"machine": machine(), "sizes": sizes, "targets_ms": TARGETS_MS}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = {}
        for label, scale in sizes.items():
            log(f"sqlite, {label} (scale {scale})")
            with sqlite_engine(Path(tmp), label) as engine:
                report["sqlite"]["version"] = server_version(engine)
                report["sqlite"][label] = bench(engine, scale, rounds, file_rounds)
    reason = None if not args.no_pg else "--no-pg"
    reason = reason or pg_unreachable()
    if reason:
        report["postgresql"] = {"skipped": reason}
    else:
        report["postgresql"] = {}
        for label, scale in sizes.items():
            log(f"postgresql, {label} (scale {scale})")
            with pg_engine(label) as engine:
                report["postgresql"]["version"] = server_version(engine)
                report["postgresql"][label] = bench(engine, scale, rounds, file_rounds)
    with suppress(OSError):
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
