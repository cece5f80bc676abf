"""Benchmark of the establishment registry; prints JSON on stdout (progress on stderr).

On SQLite (a temporary file) and on PostgreSQL (its own schema, dropped at the
end; skipped with the reason when the server does not answer), it measures:

1. ``demo``: the time to build the demo region on an empty database —
   Alembic migration, then every step of the demo pipeline (reference data,
   318 establishments, 9 accounts with Argon2 hashes, then the steps added
   since, such as the patients' registers), each step timed — as ``make demo``
   does it;
2. ``search``: with 10,000 establishments loaded, the latency of
   ``territory.service.search_establishments`` over a realistic mix of queries
   (name substring, type, province, specialty, combinations, first and deep
   pages), each query in its own session as a web request would have it;
3. ``http``: the same mix through ``GET /api/v1/establishments`` with a bearer
   token (FastAPI TestClient: routing, token check, serialisation, no network).

The schema is the one the migrations build (indexes included, such as those of
migration 0002 for the listing order and the specialty filter); the benchmark
adds none of its own.

The 10,000 establishments are the demo planner's rows scaled up (1 CHU,
22 hospitals and 9,977 health centres spread like the demo's), written through
``territory.service.create_establishment`` — so with their services, version
rows and audit entries, as a real import would leave them — committed in
batches of 500.

    .venv/bin/python benchmarks/registry.py            # full run, a few minutes
    .venv/bin/python benchmarks/registry.py --quick    # smoke run, well under a minute
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
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import Engine

from parcours.access import service as access
from parcours.access.rules import Role, Scope, ScopeKind, system_principal
from parcours.db import make_engine, make_session_factory
from parcours.demo import pipeline
from parcours.demo.steps import STEPS
from parcours.demo.steps.territory import to_input
from parcours.demo.territory_plan import plan_territory
from parcours.migrations import upgrade
from parcours.territory import service as territory
from parcours.territory.rules import Category, EstablishmentType

PG_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SEED = 2025
BATCH = 500
READER = system_principal("bench")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the query mix ----------------------------------------------------------


@dataclass(frozen=True)
class Query:
    label: str
    params: dict[str, Any]  # API query parameters; the service filter is built from them

    def filter(self) -> territory.EstablishmentFilter:
        p = self.params
        return territory.EstablishmentFilter(
            q=p.get("q"),
            type=EstablishmentType(p["type"]) if "type" in p else None,
            category=Category(p["category"]) if "category" in p else None,
            care_level=p.get("care_level"),
            province=p.get("province"),
            specialty=p.get("specialty"),
        )

    @property
    def page(self) -> int:
        return int(self.params.get("page", 1))

    @property
    def page_size(self) -> int:
        return int(self.params.get("page_size", 50))


def query_mix(size: int) -> list[Query]:
    deep = max(2, size // 50 * 3 // 4)  # three quarters down the unfiltered list
    return [
        Query("name: 'beni makada'", {"q": "beni makada"}),
        Query("name: 'makad' (partial)", {"q": "makad"}),
        Query("name: 'ksar'", {"q": "ksar"}),
        Query("name: 'hopital'", {"q": "hopital"}),
        Query("code: exact", {"q": "CSR2-CHE-001"}),
        Query("type: csr_1", {"type": "csr_1"}),
        Query("province: CHE", {"province": "CHE"}),
        Query("specialty: cardiology", {"specialty": "cardiology"}),
        Query("specialty: dental", {"specialty": "dental"}),
        Query("type + province: csu_1 TNG", {"type": "csu_1", "province": "TNG"}),
        Query(
            "name + province + specialty",
            {"q": "rural", "province": "LAR", "specialty": "dental"},
        ),
        Query("level + specialty: 2, nephrology", {"care_level": 2, "specialty": "nephrology"}),
        Query("all, page 1", {}),
        Query(f"all, deep page {deep}", {"page": deep}),
        Query("province TNG, page 20", {"province": "TNG", "page": 20}),
    ]


# --- measuring --------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    index = max(0, math.ceil(q * len(sorted_values)) - 1)
    return sorted_values[index]


def stats(samples_ms: list[float]) -> dict[str, float | int]:
    values = sorted(samples_ms)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "max_ms": round(values[-1], 2),
    }


def run_mix(queries: list[Query], rounds: int, one: Callable[[Query], int]) -> dict[str, Any]:
    """Every query once to warm up, then ``rounds`` times in a shuffled order."""
    rng = random.Random(SEED)
    samples: dict[str, list[float]] = {q.label: [] for q in queries}
    totals = {query.label: one(query) for query in queries}  # caches, prepared plans
    for _ in range(rounds):
        order = queries[:]
        rng.shuffle(order)
        for query in order:
            started = time.perf_counter()
            one(query)
            samples[query.label].append((time.perf_counter() - started) * 1000)
    return {
        "overall": stats([v for values in samples.values() for v in values]),
        "queries": {
            label: {**stats(values), "matches": totals[label]} for label, values in samples.items()
        },
    }


# --- databases --------------------------------------------------------------


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
    schema = f"bench_registry_{name}_{os.getpid()}"
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


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return str(conn.execute(text("select sqlite_version()")).scalar())
        return str(conn.execute(text("show server_version")).scalar())


# --- the three measurements -------------------------------------------------


def bench_demo(engine: Engine) -> dict[str, Any]:
    """The whole demo, with the time of each step's build: the demo grows step by step."""
    step_s: dict[str, float] = {}

    def timed(step: pipeline.Step) -> pipeline.Step:
        def build(ctx: pipeline.DemoContext) -> pipeline.Counts:
            started = time.perf_counter()
            try:
                return step.build(ctx)
            finally:
                step_s[step.name] = round(time.perf_counter() - started, 2)

        return replace(step, build=build)

    started = time.perf_counter()
    upgrade(engine)
    migrated = time.perf_counter()
    factory = make_session_factory(engine)
    with factory() as db:
        result = pipeline.run(db, [timed(step) for step in STEPS], seed=SEED)
    done = time.perf_counter()
    with factory() as db:
        summary = territory.summary(db, READER)
    return {
        "migrate_s": round(migrated - started, 2),
        "pipeline_s": round(done - migrated, 2),
        "total_s": round(done - started, 2),
        "by_category": summary.by_category,
        "steps": {o.name: o.status for o in result.outcomes},
        "step_s": step_s,
        "step_counts": {o.name: o.counts for o in result.outcomes},
    }


def load_registry(engine: Engine, size: int) -> dict[str, Any]:
    """``size`` establishments from the scaled-up demo plan, through the use case."""
    upgrade(engine)
    factory = make_session_factory(engine)
    plan = plan_territory(pipeline.step_rng(SEED, "territory"), health_centres=size - 23)
    started = time.perf_counter()
    with factory() as db:
        territory.ensure_reference_data(db)
        for i, item in enumerate(plan.establishments, start=1):
            territory.create_establishment(db, READER, to_input(item), commit=False)
            if i % BATCH == 0:
                db.commit()
                db.expunge_all()
                log(f"    {i}/{len(plan.establishments)} établissements")
        db.commit()
    loaded = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {
        "establishments": len(plan.establishments),
        "method": "scaled-up demo plan through territory.service.create_establishment, "
        f"commit every {BATCH}, then ANALYZE",
        "load_s": round(loaded - started, 2),
        "rows_per_s": round(len(plan.establishments) / (loaded - started), 1),
    }


def bench_service(engine: Engine, queries: list[Query], rounds: int) -> dict[str, Any]:
    """The mix through the use case, on the schema as migrated."""
    factory = make_session_factory(engine)

    def one(query: Query) -> int:
        with factory() as db:
            page = territory.search_establishments(
                db, READER, query.filter(), page=query.page, page_size=query.page_size
            )
            return page.total

    return run_mix(queries, rounds, one)


def bench_http(engine: Engine, queries: list[Query], rounds: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from parcours.web.app import create_app

    factory = make_session_factory(engine)
    with factory() as db:
        access.create_user(
            db,
            READER,
            username="bench.analyst",
            password="benchmark-password",  # noqa: S106
            role=Role.ANALYST,
            scope=Scope(ScopeKind.GST),
            province_of={},
            province_codes=set(),
        )
        token = access.issue_token(db, READER, "bench.analyst", province_of={})
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(engine), base_url="http://testserver") as client:

        def one(query: Query) -> int:
            response = client.get("/api/v1/establishments", params=query.params, headers=headers)
            response.raise_for_status()
            return int(response.json()["total"])

        return run_mix(queries, rounds, one)


def bench_backend(
    kind: str, make: Callable[[str], Any], size: int, rounds: int, http_rounds: int
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    log(f"[{kind}] construction de la démo…")
    with make("demo") as engine:
        result["version"] = server_version(engine)
        result["demo"] = bench_demo(engine)
    log(f"[{kind}] chargement de {size} établissements…")
    with make("registry") as engine:
        result["registry"] = load_registry(engine, size)
        queries = query_mix(size)
        log(f"[{kind}] recherche (service), {rounds} tours de {len(queries)} requêtes…")
        result["search_service"] = bench_service(engine, queries, rounds)
        if http_rounds:
            log(f"[{kind}] recherche (HTTP), {http_rounds} tours…")
            result["search_http"] = bench_http(engine, queries, http_rounds)
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite_library": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def markdown(report: dict[str, Any]) -> str:
    """The README's tables from a JSON report (``--markdown report.json``)."""
    backends = [k for k in ("sqlite", "postgresql") if "demo" in report.get(k, {})]
    lines = ["| | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(report[b]) for b in backends) + " |")

    def overall(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda b: "{p50_ms} / {p95_ms} / {mean_ms} ({n})".format(**b[key]["overall"])

    row("version", lambda b: str(b["version"]))
    row(
        "demo build: migrate + pipeline (s)",
        lambda b: f"{b['demo']['migrate_s']} + {b['demo']['pipeline_s']} = {b['demo']['total_s']}",
    )
    row(
        "demo steps (s)",
        lambda b: ", ".join(f"{k} {v}" for k, v in b["demo"].get("step_s", {}).items()) or "—",
    )
    row(
        "load of the search set (establishments, s)",
        lambda b: f"{b['registry']['establishments']} in {b['registry']['load_s']}",
    )
    for key, label in (
        ("search_service", "search, service"),
        ("search_http", "search, HTTP + token"),
    ):
        if all(key in report[b] for b in backends):
            row(f"{label}: p50 / p95 / mean ms (n)", overall(key))
    lines += ["", "Per query, service, p50 / p95 ms (matches):", ""]
    lines += ["| query | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    labels = list(report[backends[0]]["search_service"]["queries"]) if backends else []
    for label in labels:
        cells = []
        for b in backends:
            q = report[b]["search_service"]["queries"][label]
            cells.append(f"{q['p50_ms']} / {q['p95_ms']} ({q['matches']})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000 establishments, few rounds"
    )
    parser.add_argument("--size", type=int, default=None, help="establishments for the search test")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds of the query mix (service)"
    )
    parser.add_argument(
        "--http-rounds", type=int, default=None, help="rounds through HTTP (0: skip)"
    )
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument(
        "--markdown", type=Path, default=None, help="print the README tables of a JSON report"
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return
    size = args.size or (1_000 if args.quick else 10_000)
    rounds = args.rounds or (5 if args.quick else 40)
    http_rounds = args.http_rounds if args.http_rounds is not None else (2 if args.quick else 15)
    if size < 23:
        parser.error("--size must be at least 23 (the CHU and the 22 hospitals)")

    report: dict[str, Any] = {
        "benchmark": "registry",
        "quick": args.quick,
        "machine": machine(),
        "config": {"size": size, "rounds": rounds, "http_rounds": http_rounds, "seed": SEED},
    }
    with tempfile.TemporaryDirectory(prefix="parcours-bench-") as directory:
        report["sqlite"] = bench_backend(
            "sqlite", lambda name: sqlite_engine(Path(directory), name), size, rounds, http_rounds
        )
    reason = "--no-pg" if args.no_pg else pg_unreachable()
    if reason:
        report["postgresql"] = {"skipped": reason}
    else:
        report["postgresql"] = bench_backend("postgresql", pg_engine, size, rounds, http_rounds)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
