"""Benchmark of the care pathways at a region's scale; prints JSON on stdout (progress on stderr).

On SQLite (a temporary file) and on PostgreSQL (its own schema, dropped at the
end; skipped with the reason when the server does not answer):

1. ``build``: the demo region's territory (the demo's ``territory`` step: the
   CHU, 22 hospitals, 295 health centres with their services and beds), then
   the registers of ~150,000 persons placed as the demo places them
   (``demo.patients_plan``) loaded, trained and deduplicated through the MPI
   (``patients.service.load_records``, ``train``, ``dedupe``), then eighteen
   months of activity planned by the demo's planner (``demo.pathways_plan``) at
   1,000,000 encounters and 200,000 referrals and written by
   ``pathways.bulk.load`` (histories played by the state machine, arrivals,
   census). Each phase timed. No ``ANALYZE`` of the benchmark's own: the
   loaders refresh PostgreSQL's statistics as they do in production.
2. ``measures``: each call in its own session, as a web request has it, the
   latency of ``service.inbox`` (the busiest hospital's and the busiest health
   centre's, by their users), ``service.timeline`` (random persons, a GST-wide
   clinician), ``service.route`` (random source and specialty),
   ``service.transition`` (accepting referrals waiting for an answer, by the
   destination's clinician, then scheduling them, by its admission desk) —
   target p95 ≤ 100 ms each — and ``service.draw_map`` for a specialty over
   the last twelve months (target ≤ 1 s). p50 / p95 are nearest-rank.

    .venv/bin/python benchmarks/pathways.py --quick     # smoke run, under a minute
    .venv/bin/python benchmarks/pathways.py > pathways.json   # the published run
    .venv/bin/python benchmarks/pathways.py --markdown pathways.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.access.rules import Principal, Role, parse_scope
from parcours.config import get_settings
from parcours.db import make_engine, make_session_factory
from parcours.demo import pipeline
from parcours.demo.pathways_plan import SPECIALTY_BY_CODE, RecordRef, plan_activity
from parcours.demo.patients_plan import plan_patients
from parcours.demo.steps.pathways import focus
from parcours.demo.steps.territory import STEP as TERRITORY
from parcours.migrations import upgrade
from parcours.pathways import bulk, network, service
from parcours.pathways.models import Referral
from parcours.pathways.referral import Action, Priority, ReferralState
from parcours.pathways.schemas import TransitionIn
from parcours.patients import service as patients
from parcours.web import collector

sys.path.insert(0, str(Path(__file__).parent))
from registry import PG_URL, machine, percentile, pg_unreachable, server_version

SEED = 2025
TARGET_MS = 100.0
MAP_TARGET_S = 1.0
MAP_SPECIALTY = "cardiology"
HALF_PAGE = service.INBOX_LIMIT // 2


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stats(samples_ms: list[float]) -> dict[str, float | int]:
    values = sorted(samples_ms)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "mean_ms": round(statistics.fmean(values), 2),
        "max_ms": round(values[-1], 2),
    }


def clinician(code: str, role: Role = Role.CLINICIAN) -> Principal:
    return Principal(0, f"bench.{code.lower()}", role, parse_scope(f"establishment:{code}"), "web")


GST_CLINICIAN = Principal(0, "bench.gst", Role.CLINICIAN, parse_scope("gst"), "web")
ANALYST = Principal(0, "bench.analyst", Role.ANALYST, parse_scope("gst"), "web")


# --- databases ------------------------------------------------------------------------------


@contextmanager
def sqlite_engine(directory: Path) -> Iterator[Engine]:
    path = directory if directory.suffix == ".db" else directory / "pathways.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def pg_engine(kept: Path) -> Iterator[Engine]:
    """A schema of its own, dropped at the end — unless named (``--pg-schema``): then kept."""
    keep = kept.suffix == ".db"
    schema = kept.stem if keep else f"bench_pathways_{os.getpid()}"
    admin = make_engine(PG_URL)
    if not keep:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def pg_schema_exists(schema: str) -> bool:
    admin = make_engine(PG_URL)
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM information_schema.tables WHERE table_schema = :s LIMIT 1"),
                {"s": schema},
            ).first()
        return found is not None
    finally:
        admin.dispose()


# --- building the region -------------------------------------------------------------------


def build(engine: Engine, persons: int, encounters: int, referrals: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    factory = make_session_factory(engine)
    started = time.perf_counter()
    upgrade(engine)
    with factory() as db:
        run = pipeline.run(db, [TERRITORY], seed=SEED)
        establishments = run.context.establishments
        out["territory_s"] = round(time.perf_counter() - started, 1)

        log(f"  registres de {persons} personnes (MPI : chargement, modèle, dédoublonnage)…")
        t = time.perf_counter()
        plan = plan_patients(establishments, persons, SEED)
        rows = (r.record.to_row() for r in plan.registrations)
        loaded = sum(1 for o in patients.load_records(db, rows) if o.status == "created")
        out["records"] = loaded
        out["records_load_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        patients.train(db)
        report = patients.dedupe(db)
        out["persons"] = report.new_persons
        out["train_dedupe_s"] = round(time.perf_counter() - t, 1)

        log(f"  activité : {encounters} rencontres, {referrals} références (plan)…")
        t = time.perf_counter()
        net = network.load(db)
        until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        refs = [
            RecordRef(e.record_id, e.establishment_code, e.person_id, e.sex, e.birth_year)
            for e in patients.record_directory(db)
        ]
        activity = plan_activity(
            net.index.by_code.values(),
            refs,
            version=service.current_map(db),
            seed=SEED,
            until=until,
            encounters=encounters,
            referrals=referrals,
            focus=focus(run.context, net),
            deadlines=service.deadlines(),
        )
        db.commit()
        out["plan_s"] = round(time.perf_counter() - t, 1)
        log("  activité : écriture (bulk.load)…")
        t = time.perf_counter()
        done = [0]
        total = len(activity.referrals) + len(activity.encounters)

        def progress(n: int) -> None:
            done[0] += n
            if done[0] // 100_000 != (done[0] - n) // 100_000:
                log(f"    {done[0]}/{total}")

        loaded_report = bulk.load(db, activity.encounters, activity.referrals, progress=progress)
        out["activity_load_s"] = round(time.perf_counter() - t, 1)
        out["activity"] = {
            "encounters": loaded_report.encounters,
            "arrivals": loaded_report.arrivals,
            "diagnoses": loaded_report.diagnoses,
            "referrals": loaded_report.referrals,
            "redirects": loaded_report.redirects,
            "events": loaded_report.events,
            "open_stays": loaded_report.census,
            "by_state": loaded_report.by_state,
            "by_kind": loaded_report.by_kind,
        }
    out["total_s"] = round(time.perf_counter() - started, 1)
    return out


# --- the measures -----------------------------------------------------------------------


def timed(calls: list[Callable[[Session], object]], factory: Any) -> list[float]:
    samples = []
    for call in calls:
        with factory() as db:
            started = time.perf_counter()
            call(db)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def busiest(db: Session, column: Any, states: list[str], levels: tuple[int, ...]) -> str:
    """The establishment of ``levels`` with the most open referrals at ``column``."""
    net = network.load(db)
    rows = db.execute(
        select(column, func.count())
        .where(Referral.state.in_(states))
        .group_by(column)
        .order_by(func.count().desc())
    ).all()
    return next(code for code, _ in rows if net.level(code) in levels)


def measures(engine: Engine, rounds: int, map_rounds: int) -> dict[str, Any]:
    factory = make_session_factory(engine)
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    open_states = [
        s.value for s in ReferralState if not s.is_terminal and s is not ReferralState.DRAFT
    ]
    with factory() as db:
        net = network.load(db)
        hospital = busiest(db, Referral.destination, open_states, (2, 3))
        chu = busiest(db, Referral.destination, open_states, (4,))
        centre = busiest(db, Referral.source, [*open_states, "draft"], (1,))
        persons = sorted({e.person_id for e in patients.record_directory(db)})
        pending = list(
            db.execute(
                select(Referral.id, Referral.destination).where(
                    Referral.state.in_([ReferralState.SENT.value, ReferralState.RECEIVED.value])
                )
            ).all()
        )
        sources = sorted(c for c, e in net.index.by_code.items() if e.is_open)
        specialties = sorted(SPECIALTY_BY_CODE)
        counts = {
            "encounters": db.scalar(text("SELECT count(*) FROM encounter")),
            "referrals": db.scalar(text("SELECT count(*) FROM referral")),
            "pending": len(pending),
        }
        db.commit()
    rng.shuffle(pending)
    out: dict[str, Any] = {
        "sites": {"hospital": hospital, "chu": chu, "centre": centre},
        "counts": counts,
    }

    def inbox_calls(
        code: str, limit: int = service.INBOX_LIMIT
    ) -> list[Callable[[Session], object]]:
        who = clinician(code)
        return [
            lambda db, c=code: service.inbox(db, who, c, now=now, limit=limit)
            for _ in range(rounds)
        ]

    def warm(calls: list[Callable[[Session], object]]) -> list[Callable[[Session], object]]:
        with factory() as db:
            calls[0](db)  # the network cache, prepared plans
        return calls

    for label, code in (("inbox_chu", chu), ("inbox_hospital", hospital), ("inbox_centre", centre)):
        log(f"  {label} ({code}), {rounds} appels…")
        calls = warm(inbox_calls(code))
        out[label] = stats(timed(calls, factory))
        with factory() as db:
            box = service.inbox(db, clinician(code), code, now=now)
            out[label]["rows"] = {
                "incoming_total": box.incoming_total,
                "outgoing_total": box.outgoing_total,
                "overdue": box.overdue,
                "shown": len(box.incoming) + len(box.outgoing) + len(box.counter_referrals),
            }
        # the same lists cut at half the page (what the row count costs)
        out[f"{label}_limit{HALF_PAGE}"] = stats(timed(warm(inbox_calls(code, HALF_PAGE)), factory))

    log(f"  timeline, {rounds} personnes…")
    chosen = rng.sample(persons, min(rounds + 1, len(persons)))
    calls = warm([lambda db, p=p: service.timeline(db, GST_CLINICIAN, p, now=now) for p in chosen])
    sizes = []
    samples = []
    for call in calls[1:]:
        with factory() as db:
            started = time.perf_counter()
            line = call(db)
            samples.append((time.perf_counter() - started) * 1000)
            sizes.append(len(line.items))  # type: ignore[attr-defined]
    out["timeline"] = {**stats(samples), "items_p50": sorted(sizes)[len(sizes) // 2]}

    log(f"  route, {rounds} appels…")

    def route_call() -> Callable[[Session], object]:
        source, specialty = rng.choice(sources), rng.choice(specialties)
        priority = rng.choice(list(Priority))
        return lambda db: service.route(db, GST_CLINICIAN, source, specialty, priority, now=now)

    route_calls = [route_call() for _ in range(rounds + 1)]
    out["route"] = stats(timed(warm(route_calls)[1:], factory))

    take = min(rounds + 1, len(pending))
    log(f"  transitions : accept puis schedule, {take} références…")
    accepted = pending[:take]
    accept_calls = [
        lambda db, rid=rid, dest=dest: service.transition(
            db, clinician(dest), rid, TransitionIn(action=Action.ACCEPT)
        )
        for rid, dest in accepted
    ]
    schedule_calls = [
        lambda db, rid=rid, dest=dest: service.transition(
            db,
            clinician(dest, Role.ADMISSION_AGENT),
            rid,
            TransitionIn(action=Action.SCHEDULE, appointment_at=now + timedelta(days=7)),
        )
        for rid, dest in accepted
    ]
    if take > 1:
        out["transition_accept"] = stats(timed(warm(accept_calls)[1:], factory))
        out["transition_schedule"] = stats(timed(warm(schedule_calls)[1:], factory))

    log(f"  carte sanitaire ({MAP_SPECIALTY}, douze mois), {map_rounds} tracés…")
    map_samples = []
    flows = 0
    for i in range(map_rounds + 1):
        with factory() as db:
            started = time.perf_counter()
            drawn = service.draw_map(db, ANALYST, MAP_SPECIALTY)
            elapsed = (time.perf_counter() - started) * 1000
        if i:
            map_samples.append(elapsed)
        flows = sum(f.referrals for f in drawn.flows)
    out["draw_map"] = {**stats(map_samples), "referrals_drawn": flows}
    return out


def verdict(result: dict[str, Any]) -> dict[str, bool]:
    m = result["measures"]
    out = {
        k: m[k]["p95_ms"] <= TARGET_MS
        for k in (
            "inbox_chu",
            "inbox_hospital",
            "inbox_centre",
            "timeline",
            "route",
            "transition_accept",
            "transition_schedule",
        )
        if k in m
    }
    out["draw_map"] = m["draw_map"]["p95_ms"] <= MAP_TARGET_S * 1000
    return out


class LoadSampler:
    """The 1-minute load average every 10 s while a phase runs (the machine may be shared)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(10):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        return {
            "start": round(self.samples[0], 2),
            "max": round(max(self.samples), 2),
            "mean": round(statistics.fmean(self.samples), 2),
            "end": round(self.samples[-1], 2),
        }


def bench_backend(
    kind: str,
    make: Callable[[Path], Any],
    directory: Path,
    sizes: dict[str, int],
    rounds: int,
    map_rounds: int,
    gc_tuned: bool = False,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if kind == "postgresql":
        kept = directory.suffix == ".db" and pg_schema_exists(directory.stem)
    else:
        kept = directory.suffix == ".db" and directory.exists()
    with make(directory) as engine:
        result["version"] = server_version(engine)
        if not kept:
            log(f"[{kind}] construction…")
            result["build"] = build(
                engine, sizes["persons"], sizes["encounters"], sizes["referrals"]
            )
        log(f"[{kind}] mesures…")
        # what `parcours serve` does once the application is built
        young = get_settings().gc_young_threshold if gc_tuned else 0
        with collector.tuned(young):
            with LoadSampler() as load:
                result["measures"] = measures(engine, rounds, map_rounds)
            result["gc"] = {"tuned": gc_tuned, "thresholds": list(gc.get_threshold())}
        result["load_average_during_measures"] = load.summary()
        result["targets_met"] = verdict(result)
    return result


def markdown(report: dict[str, Any]) -> str:
    backends = [k for k in ("sqlite", "postgresql") if "measures" in report.get(k, {})]
    lines = ["| | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(report[b]) for b in backends) + " |")

    row("version", lambda b: str(b["version"]))
    backends_built = all("build" in report[b] for b in backends)
    for key, label in (
        ("territory_s", "territory step (s)"),
        ("records_load_s", "MPI load of the registers (s)"),
        ("train_dedupe_s", "MPI train + dedupe (s)"),
        ("plan_s", "activity plan (s)"),
        ("activity_load_s", "activity bulk load (s)"),
        ("total_s", "build, total (s)"),
    ):
        if backends_built:
            row(label, lambda b, k=key: str(b["build"][k]))
    if backends_built:
        row("records / persons", lambda b: f"{b['build']['records']} / {b['build']['persons']}")
        row(
            "encounters / referrals (rows) / events",
            lambda b: "{encounters} / {referrals} / {events}".format(**b["build"]["activity"]),
        )
        row("open stays (census)", lambda b: str(b["build"]["activity"]["open_stays"]))
    for key, label in (
        ("inbox_chu", "inbox, CHU"),
        ("inbox_hospital", "inbox, busiest hospital"),
        ("inbox_centre", "inbox, busiest health centre"),
        (f"inbox_chu_limit{HALF_PAGE}", f"inbox, CHU, lists of {HALF_PAGE}"),
        (f"inbox_hospital_limit{HALF_PAGE}", f"inbox, busiest hospital, lists of {HALF_PAGE}"),
        (f"inbox_centre_limit{HALF_PAGE}", f"inbox, busiest centre, lists of {HALF_PAGE}"),
        ("timeline", "timeline"),
        ("route", "route"),
        ("transition_accept", "transition: accept"),
        ("transition_schedule", "transition: schedule"),
        ("draw_map", f"draw_map ({MAP_SPECIALTY}, 12 months)"),
    ):
        if all(key in report[b]["measures"] for b in backends):
            row(
                f"{label}: p50 / p95 / max ms (n)",
                lambda b, k=key: "{p50_ms} / {p95_ms} / {max_ms} ({n})".format(**b["measures"][k]),
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--encounters", type=int, default=None)
    parser.add_argument("--referrals", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None, help="calls per measure")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        default=None,
        help="SQLite database to build and keep (…/name.db); if it exists, only measure",
    )
    parser.add_argument(
        "--pg-schema", default=None, help="PostgreSQL schema to build and keep, or only measure"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--gc-tuned",
        action="store_true",
        help="measure with the start-up objects frozen and a higher young-generation threshold",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="README table of a report")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text(encoding="utf-8"))))
        return
    sizes = {
        "persons": args.persons or (1_500 if args.quick else 150_000),
        "encounters": args.encounters or (15_000 if args.quick else 1_000_000),
        "referrals": args.referrals or (1_500 if args.quick else 200_000),
    }
    rounds = args.rounds or (20 if args.quick else 200)
    map_rounds = 3 if args.quick else 10
    report: dict[str, Any] = {
        "benchmark": "pathways",
        "quick": args.quick,
        "machine": machine(),
        "config": {
            **sizes,
            "rounds": rounds,
            "map_rounds": map_rounds,
            "seed": SEED,
            "gc_tuned": args.gc_tuned,
        },
        "targets": {"p95_ms": TARGET_MS, "draw_map_s": MAP_TARGET_S},
    }
    if args.no_sqlite:
        report["sqlite"] = {"skipped": "--no-sqlite"}
    elif args.sqlite_file:  # built once, kept: later runs only measure
        report["sqlite"] = bench_backend(
            "sqlite", sqlite_engine, args.sqlite_file, sizes, rounds, map_rounds, args.gc_tuned
        )
    else:
        with tempfile.TemporaryDirectory(prefix="parcours-bench-pathways-") as directory:
            report["sqlite"] = bench_backend(
                "sqlite", sqlite_engine, Path(directory), sizes, rounds, map_rounds, args.gc_tuned
            )
    reason = "--no-pg" if args.no_pg else pg_unreachable()
    if reason:
        report["postgresql"] = {"skipped": reason}
    else:
        schema = Path(f"{args.pg_schema}.db") if args.pg_schema else Path(".")
        report["postgresql"] = bench_backend(
            "postgresql", pg_engine, schema, sizes, rounds, map_rounds, args.gc_tuned
        )
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
