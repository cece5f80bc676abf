from __future__ import annotations

from dataclasses import replace

import numpy as np

from parcours.patients.blocking import (
    blocking_keys,
    build_index,
    candidate_pairs,
    records_sharing_keys,
)
from parcours.patients.records import RecordTable, SourceRecord, features

RECORD = SourceRecord(
    record_id="a",
    cin="K123456",
    amo_number="123456789",
    given_name="Fatima Zahra",
    family_name="El Idrissi",
    birth_date="1990-04-12",
    phone="0612345678",
)


def test_a_record_has_a_few_keys_most_selective_first() -> None:
    keys = blocking_keys(features(RECORD))
    assert keys[0] == "cin:K123456"
    prefixes = {key.split(":")[0] for key in keys}
    assert prefixes == {"cin", "fy", "nm", "gfy", "gd", "amo", "tel"}
    assert len(keys) == len(set(keys)) <= 10


def test_variants_of_one_person_share_keys() -> None:
    variants = [
        replace(RECORD, record_id="b", given_name="Fatimazahra", family_name="Idrissi", cin=""),
        replace(RECORD, record_id="c", given_name="El Idrissi", family_name="Fatima-Ezzahra"),
        replace(
            RECORD,
            record_id="d",
            given_name="",
            family_name="",
            cin="",
            phone="",
            given_name_ar="فاطمة الزهراء",
            family_name_ar="الإدريسي",
            amo_number="",
        ),
        replace(RECORD, record_id="e", given_name="Fatima", cin="", birth_date="1990-12-04"),
    ]
    mine = set(blocking_keys(features(RECORD)))
    for variant in variants:
        assert mine & set(blocking_keys(features(variant))), variant


def test_the_in_memory_index_skips_keys_that_are_too_common() -> None:
    crowd = [
        features(
            replace(
                RECORD,
                record_id=str(i),
                cin="",
                amo_number="",
                phone="",
                birth_date=f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
            )
        )
        for i in range(50)
    ]
    index = build_index(crowd)
    found = records_sharing_keys(index, features(RECORD), cap=10)
    # the name key holds 50 records: skipped; the full-date keys hold few
    assert len(found) < 10


def test_batch_candidates_come_from_the_same_keys_and_big_blocks_are_windowed() -> None:
    records = [
        replace(
            RECORD,
            record_id=f"m{i}",
            cin="",
            amo_number="",
            phone="",
            birth_date=f"{1950 + i % 30}-05-0{1 + i % 9}",
        )
        for i in range(300)
    ]
    records.append(replace(RECORD, record_id="twin", given_name="Zineb"))
    table = RecordTable.build(records)
    pairs = candidate_pairs(table, cap=20, window=5)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    # 301 records in one name block: far fewer pairs than all of them
    assert len(pairs) < 301 * 300 // 2 // 4
    groups = np.zeros(len(table), dtype=np.int64)
    groups[150:] = 1
    across = candidate_pairs(table, cap=20, window=5, groups=groups)
    assert (groups[across[:, 0]] != groups[across[:, 1]]).all()
