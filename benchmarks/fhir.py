"""The FHIR façade against the raw database driver, at a million Patients.

Prints JSON. For each database (SQLite file, PostgreSQL schema):

1. the MPI is bulk-loaded the way an operator does it (``patients.service.load_records``
   of a CSV, then ``dedupe``): one record per synthetic person, so that a million
   records are a million persons (FHIR Patients);
2. **creates**: transaction Bundles of 100 Patients posted to ``/fhir`` (in-process
   HTTP through the ASGI app, token, scope, matching, audit, versions, validation),
   against the same 100 rows inserted with ``executemany`` through ``sqlite3`` /
   ``psycopg`` and committed, per batch;
3. **reads**: ``GET /fhir/Patient/{id}`` of random persons against the same person's
   records read by one SQL join through the driver;
4. **search**: ``GET /fhir/Patient?family=&given=``, ``?identifier=<CIN>`` and
   ``?birthdate=`` p95 over the million;
5. the cost of validating what is returned: the R4B model check of one Patient;
6. the floor: ``/healthz`` through the same client (one session, ``SELECT 1``), what any
   request costs before its own work, and from it the best ratio a read or a validated
   Bundle could reach here (``ratio_ceiling``).

The application runs as ``parcours serve`` runs it: its lifespan (the background refreshers)
and the garbage collector tuned once it is built (``parcours.web.collector``).

The ratio façade / raw driver is the figure (targets: ≥ 0.3 for creates, ≥ 0.5 for reads).

    .venv/bin/python benchmarks/fhir.py --quick                 # 20,000 persons, a minute
    .venv/bin/python benchmarks/fhir.py --persons 1000000 --keep # the published run
    .venv/bin/python benchmarks/fhir.py --persons 1000000 --reuse # measure again
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# This script is named like the ``fhir`` package (fhir.resources): run as a script, its
# folder comes first on sys.path and would shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import psycopg  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from parcours.access.rules import Role, Scope, ScopeKind, system_principal  # noqa: E402
from parcours.config import get_settings  # noqa: E402
from parcours.db import make_engine, make_session_factory  # noqa: E402
from parcours.fhir import resources as res  # noqa: E402
from parcours.fhir import service as fhir  # noqa: E402
from parcours.migrations import upgrade  # noqa: E402
from parcours.patients import service as patients  # noqa: E402
from parcours.patients.records import CSV_COLUMNS  # noqa: E402
from parcours.patients.synthetic import _ESTABLISHMENTS, generate  # noqa: E402
from parcours.territory import service as territory  # noqa: E402
from parcours.territory.schemas import EstablishmentIn  # noqa: E402
from parcours.web import collector  # noqa: E402
from parcours.web.app import create_app  # noqa: E402

PG_URL = os.environ.get(
    "PARCOURS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PROVINCE_OF_PART = {"TNG": "TNG", "TET": "TET", "HOC": "HOC", "LAR": "LAR", "CHE": "CHE",
                    "OUZ": "OUZ", "FND": "MDF"}  # fmt: skip
TYPE_OF_PREFIX = {"CHU": "chu", "HP": "provincial_hospital", "CSU": "csu_1", "CSR": "csr_2",
                  "DR": "rural_dispensary"}  # fmt: skip
IPP = "https://parcours.sante.ma/fhir/sid/ipp/"
CIN = "https://parcours.sante.ma/fhir/sid/cin"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "max_ms": round(ordered[-1] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


# --- databases --------------------------------------------------------------------------


def _sqlite_path(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"parcours_bench_fhir_{name}.db"


def database(kind: str, name: str, *, reuse: bool) -> tuple[Engine, Callable[[], None]]:
    if kind == "sqlite":
        path = _sqlite_path(name)
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")

        def drop() -> None:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)

    else:
        schema = f"parcours_bench_fhir_{name}"
        admin = make_engine(PG_URL)
        if not reuse:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})

        def drop() -> None:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    if reuse:
        return engine, drop
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


def raw_connection(engine: Engine, kind: str, name: str) -> Any:
    if kind == "sqlite":
        conn = sqlite3.connect(_sqlite_path(name), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn
    dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, options=f"-csearch_path=parcours_bench_fhir_{name}")


# --- the load -----------------------------------------------------------------------------


def load(engine: Engine, persons: int) -> dict[str, Any]:
    """One record per synthetic person, through ``load_records`` then ``dedupe``."""
    # The generator's long tail of family names has a ceiling (about 42,000 distinct
    # forms) and loops for ever past it (1,000,000 persons ask for 83,000): the million
    # is generated in chunks of at most 400,000 persons, each with its own seed.
    chunks = -(-persons // 400_000)
    rows = []
    used: set[tuple[str, str]] = set()
    for chunk in range(chunks):
        size = min(400_000, persons - chunk * 400_000)
        log(f"  génération de {size} personnes (lot {chunk + 1}/{chunks})")
        data = generate(size, seed=8 + chunk)
        rows += _one_record_each(data, used, chunk)
        del data
    log(f"  {len(rows)} fiches, une par personne")
    return _load_rows(engine, rows)


def _one_record_each(data: Any, used: set[tuple[str, str]], chunk: int) -> list[dict[str, str]]:
    seen: set[str] = set()
    rows = []
    for r in data.records:
        person = data.person_of[r.record_id]
        if person in seen:
            continue
        seen.add(person)
        row = r.to_row()
        row["record_id"] = f"C{chunk}-{row['record_id']}"
        if row["establishment"] and row["local_id"]:
            local = (row["establishment"], row["local_id"])
            n = 1
            while local in used:
                n += 1
                local = (row["establishment"], f"{row['local_id']}-{n}")
            used.add(local)
            row["local_id"] = local[1]
        rows.append(row)
    return rows


def _load_rows(engine: Engine, rows: list[dict[str, str]]) -> dict[str, Any]:
    path = Path(tempfile.mkdtemp(prefix="parcours_fhir_")) / "load.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    out: dict[str, Any] = {"records": len(rows)}
    start = time.perf_counter()
    with make_session_factory(engine)() as db, path.open(encoding="utf-8") as handle:
        loaded = sum(1 for o in patients.load_records(db, csv.DictReader(handle)) if o.status)
        out["load_seconds"] = round(time.perf_counter() - start, 1)
        log(f"  chargé {loaded} fiches en {out['load_seconds']} s ; dédoublonnage…")
        report = patients.dedupe(db)
        out["dedupe_seconds"] = round(time.perf_counter() - start - out["load_seconds"], 1)
        out["persons"] = report.new_persons
    path.unlink(missing_ok=True)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return out


# --- the measures ---------------------------------------------------------------------------


def _client(engine: Engine) -> tuple[TestClient, dict[str, str]]:
    factory = make_session_factory(engine)
    with factory() as db:
        client_id = f"bench-{random.randrange(10**9)}"
        secret = fhir.add_client(
            db,
            system_principal("bench"),
            client_id=client_id,
            name="bench",
            role=Role.CLINICIAN,
            scope=Scope(ScopeKind.GST),
            smart_scopes="system/*.read system/*.write",
        )
    client = TestClient(create_app(engine), base_url="http://bench")
    client.__enter__()
    token = client.post(
        "/fhir/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    ).json()["access_token"]
    return client, {"Authorization": f"Bearer {token}"}


def _patients(rng: random.Random, n: int, tag: str) -> list[dict[str, Any]]:
    data = generate(n, seed=rng.randrange(10**6))
    out = []
    for i, r in enumerate(data.records[:n]):
        est = r.establishment or "CHU-TNG-01"
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": IPP + est, "value": f"{tag}-{i}"}],
            "name": [{"family": r.family_name or "X", "given": (r.given_name or "Y").split()}],
            "gender": {"M": "male", "F": "female"}.get(r.sex, "unknown"),
            "managingOrganization": {"reference": f"Organization/{est}"},
        }
        if r.birth_date and len(r.birth_date) == 10:
            resource["birthDate"] = r.birth_date
        if r.cin:
            resource["identifier"].append({"system": CIN, "value": r.cin})
        out.append(resource)
    return out


_RAW_COLUMNS = (
    "id, record_key, establishment_code, local_id, cin, given_name, family_name, sex, "
    "birth_date, registered_at, registered_by"
)


def creates(
    client: TestClient, headers: dict[str, str], raw: Any, kind: str, bundles: int
) -> dict[str, Any]:
    rng = random.Random(5)
    # identifiers new to this run, so that measuring a kept database again (--reuse)
    # creates Patients instead of being refused as repeats of the last run's
    run = time.strftime("%Y%m%d%H%M%S")
    façade: list[float] = []
    direct: list[float] = []
    failures = 0
    marker = "?" if kind == "sqlite" else "%s"
    sql = f"INSERT INTO patient_source_record ({_RAW_COLUMNS}) VALUES ({', '.join([marker] * 11)})"
    cursor = raw.cursor()
    # negative ids: the MPI reserves its ids above the highest one, the raw rows stay clear
    cursor.execute("SELECT COALESCE(MIN(id), 0) FROM patient_source_record")
    next_id = min(0, int(cursor.fetchone()[0])) - 1
    raw_ids: list[int] = []
    for b in range(bundles):
        items = _patients(rng, 100, f"B{run}{b}-{rng.randrange(10**9)}")
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"resource": p, "request": {"method": "POST", "url": "Patient"}} for p in items
            ],
        }
        start = time.perf_counter()
        answer = client.post("/fhir", json=bundle, headers=headers)
        façade.append(time.perf_counter() - start)
        if answer.status_code != 200:
            failures += 1
            façade.pop()  # a refused Bundle created nothing: its time is no create rate
            log(f"  bundle refusé : {answer.status_code} {answer.text[:300]}")
        rows = []
        for p in items:
            next_id -= 1
            raw_ids.append(next_id)
            ident = p["identifier"]
            rows.append(
                (
                    next_id,
                    f"RAW{next_id}",
                    p["managingOrganization"]["reference"].split("/")[1],
                    ident[0]["value"] + "-raw",
                    ident[1]["value"] if len(ident) > 1 else None,
                    " ".join(p["name"][0]["given"]),
                    p["name"][0]["family"],
                    {"male": "M", "female": "F"}.get(p["gender"]),
                    p.get("birthDate"),
                    "2026-12-03 08:00:00" if kind == "sqlite" else "2026-12-03T08:00:00+00:00",
                    "bench:raw",
                )
            )
        start = time.perf_counter()
        if kind == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(sql, rows)
        if kind == "sqlite":
            cursor.execute("COMMIT")
        else:
            raw.commit()
        direct.append(time.perf_counter() - start)
    # the raw rows have no person and no keys: remove them so that they skew nothing
    for i in range(0, len(raw_ids), 500):
        part = raw_ids[i : i + 500]
        cursor.execute(
            f"DELETE FROM patient_source_record WHERE id IN ({', '.join([marker] * len(part))})",
            part,
        )
    if kind != "sqlite":
        raw.commit()
    raw_per_s = 100 * bundles / sum(direct)
    per_s = 100 * len(façade) / sum(façade) if façade else None
    return {
        "bundles": bundles,
        "failed_bundles": failures,
        "bundle_latency": percentiles(façade) if façade else None,
        "fhir_patients_per_s": None if per_s is None else round(per_s, 1),
        "raw_rows_per_s": round(raw_per_s, 1),
        "ratio": None if per_s is None else round(per_s / raw_per_s, 4),
    }


def reads(
    client: TestClient, headers: dict[str, str], raw: Any, kind: str, ids: list[str]
) -> dict[str, Any]:
    marker = "?" if kind == "sqlite" else "%s"
    sql = (
        "SELECT r.* FROM patient_person p JOIN patient_record_link l ON l.person_id = p.id "
        f"JOIN patient_source_record r ON r.id = l.record_id WHERE p.public_id = {marker}"
    )
    cursor = raw.cursor()
    façade: list[float] = []
    direct: list[float] = []
    for pid in ids:
        start = time.perf_counter()
        answer = client.get(f"/fhir/Patient/{pid}", headers=headers)
        façade.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
        start = time.perf_counter()
        cursor.execute(sql, (pid,))
        cursor.fetchall()
        if kind != "sqlite":
            raw.commit()
        direct.append(time.perf_counter() - start)
    per_s = len(ids) / sum(façade)
    raw_per_s = len(ids) / sum(direct)
    floor = http_floor(client, len(ids))
    return {
        "reads": len(ids),
        "fhir_latency": percentiles(façade),
        "raw_latency": percentiles(direct),
        "fhir_reads_per_s": round(per_s, 1),
        "raw_reads_per_s": round(raw_per_s, 1),
        "ratio": round(per_s / raw_per_s, 4),
        "http_floor_latency": percentiles(floor),
        # the best ratio a read through HTTP could reach here if its handler did nothing
        "ratio_ceiling": round(len(floor) / sum(floor) / raw_per_s, 4),
    }


def http_floor(client: TestClient, n: int) -> list[float]:
    """``/healthz`` through the same client: one session, ``SELECT 1``, a small JSON answer —
    what any read through the application costs before it does its own work."""
    client.get("/healthz")
    times = []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.get("/healthz")
        times.append(time.perf_counter() - start)
        assert answer.status_code == 200, answer.text
    return times


def searches(client: TestClient, headers: dict[str, str], raw: Any, n: int) -> dict[str, Any]:
    cursor = raw.cursor()
    cursor.execute(
        "SELECT given_name, family_name, cin, birth_date FROM patient_source_record "
        "WHERE given_name IS NOT NULL AND family_name IS NOT NULL ORDER BY id LIMIT 50000"
    )
    rows = cursor.fetchall()
    rng = random.Random(3)
    sample = rng.sample(rows, min(n, len(rows)))
    out: dict[str, Any] = {}
    for label, params_of in (
        ("name", lambda r: {"family": r[1], "given": r[0]}),
        ("identifier_cin", lambda r: {"identifier": f"{CIN}|{r[2]}"} if r[2] else None),
        ("birthdate", lambda r: {"birthdate": str(r[3])[:10]} if r[3] else None),
    ):
        times: list[float] = []
        totals: list[int] = []
        for r in sample:
            params = params_of(r)
            if params is None:
                continue
            start = time.perf_counter()
            answer = client.get("/fhir/Patient", params=params | {"_count": 20}, headers=headers)
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
            totals.append(int(answer.json().get("total", 0)))
        out[label] = percentiles(times) | {
            "mean_total": round(statistics.fmean(totals), 1) if totals else 0
        }
    return out


def validation_cost(client: TestClient, headers: dict[str, str], pid: str) -> dict[str, Any]:
    resource = client.get(f"/fhir/Patient/{pid}", headers=headers).json()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        res.checked(resource)
    per = (time.perf_counter() - start) / n
    return {"patient_check_us": round(per * 1e6, 1)}


def create_ceiling(out: dict[str, Any]) -> float:
    """The best creates ratio a validated Bundle of 100 could reach here before any storage:
    one HTTP round trip (the read floor's p50) and the R4B check of the 100 Patients that
    come in and the 100 that go back, against the raw driver's rate."""
    floor_s = out["reads"]["http_floor_latency"]["p50_ms"] / 1000
    floor_s += 200 * out["validation"]["patient_check_us"] / 1e6
    return round(100 / floor_s / out["creates"]["raw_rows_per_s"], 4)


def measure(
    client: TestClient,
    headers: dict[str, str],
    engine: Engine,
    kind: str,
    name: str,
    ids: list[str],
    args: argparse.Namespace,
    out: dict[str, Any],
) -> None:
    raw = raw_connection(engine, kind, name)
    rng = random.Random(1)
    log(f"  {kind} : lectures")
    out["reads"] = reads(client, headers, raw, kind, rng.sample(ids, min(args.reads, len(ids))))
    log(f"  {kind} : {out['reads']}")
    log(f"  {kind} : recherches")
    out["search"] = searches(client, headers, raw, args.searches)
    log(f"  {kind} : {out['search']}")
    log(f"  {kind} : Bundles de création")
    out["creates"] = creates(client, headers, raw, kind, args.bundles)
    log(f"  {kind} : {out['creates']}")
    out["validation"] = validation_cost(client, headers, ids[0])
    out["creates"]["ratio_ceiling"] = create_ceiling(out)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    raw.close()
    client.__exit__(None, None, None)


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"p{args.persons}"
    try:
        engine, drop = database(kind, name, reuse=args.reuse)
    except Exception as exc:
        return {"skipped": str(exc).splitlines()[0]}
    out: dict[str, Any] = {}
    try:
        if not args.reuse:
            out["load"] = load(engine, args.persons)
        with engine.connect() as conn:
            out["patients"] = int(
                conn.execute(text("SELECT COUNT(*) FROM patient_person")).scalar_one()
            )
            ids = [
                r[0]
                for r in conn.execute(
                    text("SELECT public_id FROM patient_person ORDER BY id LIMIT 200000")
                )
            ]
        client, headers = _client(engine)
        # the collector as `parcours serve` tunes it once the application is built
        with collector.tuned(get_settings().gc_young_threshold) as tuned:
            out["gc_tuned"] = tuned
            out["gc_thresholds"] = list(gc.get_threshold())
            measure(client, headers, engine, kind, name, ids, args, out)
    finally:
        if not args.keep:
            drop()
        else:
            engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 persons, few measures")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--bundles", type=int, default=20)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the loaded databases")
    parser.add_argument("--reuse", action="store_true", help="measure kept databases again")
    args = parser.parse_args()
    if args.quick:
        args.persons, args.bundles, args.reads, args.searches = 20_000, 5, 200, 50
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
        },
        "persons": args.persons,
    }
    for kind in args.databases.split(","):
        log(f"{kind} : {args.persons} personnes")
        result[kind] = run(kind, args)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
