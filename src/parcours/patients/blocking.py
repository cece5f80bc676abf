"""Blocking keys: which records are worth comparing with which.

Every record gets a handful of short text keys (:func:`blocking_keys`). Two
records are candidates when they share a key. The storage layer keeps the keys
in an indexed table ``(key, record_id)``, so matching one new record costs one
indexed look-up per key; the batch path (:func:`candidate_pairs`) builds the
candidate pairs of a whole file from the very same keys.

The keys, each chosen to catch a kind of error the others miss:

=========  =====================================================  ============================
prefix     value                                                   catches
=========  =====================================================  ============================
``cin``    normalised CIN                                          everything but a CIN typo
``amo``    AMO number                                              a household (capped)
``tel``    phone                                                   a household (capped)
``fy``     family skeleton + birth year                            given-name variants, dates
``gfy``    given + family skeletons + birth year                   the selective name key
``nm``     given and family skeletons, sorted (and first given     any date error, swapped
           word + family)                                          names, compound names
``gd``     given skeleton + full birth date                        family-name changes/typos
=========  =====================================================  ============================

Very common blocks ("Mohamed El Idrissi", a 1 January of 1950) are not
compared all with all: above ``cap`` records a block is sorted (by names and
birth date) and each record is compared with its ``window`` neighbours only —
the sorted-neighbourhood method inside one block. In real time the service
skips a key whose block is larger than ``cap`` (see :data:`REALTIME_CAP`):
the others, more selective, still find the person.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from parcours.patients.normalise import EMPTY, NameKeys
from parcours.patients.records import Features, IntArray, RecordTable

#: In real time, a key shared by more records than this is skipped.
REALTIME_CAP = 300
#: In batch, blocks above this size are compared by sorted neighbourhood.
BATCH_CAP = 60
WINDOW = 12


def _first_word(keys: NameKeys) -> str:
    return keys.token_skeletons[0] if len(keys.token_skeletons) > 1 else ""


def _name_keys(given: NameKeys, family: NameKeys, year: str, full: str) -> list[str]:
    keys: list[str] = []
    g = given.blocking_key if given.norm else ""
    f = family.blocking_key if family.norm else ""
    if f and year:
        keys.append(f"fy:{f}:{year}")
    if g and f:
        keys.append("nm:" + "|".join(sorted((g, f))))
        if year:
            keys.append(f"gfy:{g}|{f}:{year}")
        first = _first_word(given)
        if first:
            keys.append("nm:" + "|".join(sorted((first, f))))
        # a compound written in the family field (swapped, then shortened)
        first = _first_word(family)
        if first:
            keys.append("nm:" + "|".join(sorted((g, first))))
    if g and full:
        keys.append(f"gd:{g}:{full}")
    return keys


def blocking_keys(record: Features) -> list[str]:
    """The keys of one record, without duplicates, most selective first."""
    keys: list[str] = []
    if record.cin:
        keys.append(f"cin:{record.cin}")
    birth = record.birth
    year = str(birth.year) if birth else ""
    full = str(birth.compact) if birth else ""
    keys += _name_keys(record.given, record.family, year, full)
    # the Arabic spelling's keys, when the record has both scripts
    if record.given_alt is not EMPTY or record.family_alt is not EMPTY:
        given = record.given_alt if record.given_alt is not EMPTY else record.given
        family = record.family_alt if record.family_alt is not EMPTY else record.family
        keys += _name_keys(given, family, year, full)
    if record.amo:
        keys.append(f"amo:{record.amo}")
    if record.phone:
        keys.append(f"tel:{record.phone}")
    return list(dict.fromkeys(keys))


def _sort_rank(table: RecordTable) -> IntArray:
    """A per-record rank by (family, given, birth date) for sorted neighbourhoods."""
    names = table.names.norm_text
    labels = [
        (
            names[f] if f >= 0 else "",
            names[g] if g >= 0 else "",
            int(c),
        )
        for f, g, c in zip(
            table.family.tolist(), table.given.tolist(), table.compact.tolist(), strict=True
        )
    ]
    order = sorted(range(len(labels)), key=labels.__getitem__)
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels))
    return rank


def key_index(table: RecordTable) -> tuple[IntArray, IntArray]:
    """(key code, record index) for every key of every record of the table."""
    codes: dict[str, int] = {}
    key_col: list[int] = []
    rec_col: list[int] = []
    for index, record in enumerate(table.features):
        for key in blocking_keys(record):
            code = codes.get(key)
            if code is None:
                code = len(codes)
                codes[key] = code
            key_col.append(code)
            rec_col.append(index)
    return np.asarray(key_col, dtype=np.int64), np.asarray(rec_col, dtype=np.int64)


def _pairs_in_small_blocks(starts: IntArray, sizes: IntArray, members: IntArray) -> IntArray:
    chunks: list[IntArray] = []
    for size in np.unique(sizes).tolist():
        if size < 2:
            continue
        block_starts = starts[sizes == size]
        i, j = np.triu_indices(size, k=1)
        left = members[(block_starts[:, None] + i[None, :]).ravel()]
        right = members[(block_starts[:, None] + j[None, :]).ravel()]
        chunks.append(np.stack([left, right], axis=1))
    return np.concatenate(chunks) if chunks else np.empty((0, 2), dtype=np.int64)


def _pairs_in_large_blocks(
    block_of: IntArray, members: IntArray, rank: IntArray, window: int
) -> IntArray:
    order = np.lexsort((rank[members], block_of))
    members = members[order]
    block_of = block_of[order]
    chunks: list[IntArray] = []
    for distance in range(1, window + 1):
        same = block_of[distance:] == block_of[:-distance]
        if not same.any():
            break
        chunks.append(np.stack([members[:-distance][same], members[distance:][same]], axis=1))
    return np.concatenate(chunks) if chunks else np.empty((0, 2), dtype=np.int64)


def candidate_pairs(
    table: RecordTable,
    *,
    cap: int = BATCH_CAP,
    window: int = WINDOW,
    groups: IntArray | None = None,
) -> IntArray:
    """Distinct candidate pairs (i < j) of the table's records, as an (n, 2) array.

    With ``groups`` (one label per record), only pairs across groups are kept:
    two-file linkage.
    """
    keys, records = key_index(table)
    if len(keys) == 0:
        return np.empty((0, 2), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys, records = keys[order], records[order]
    boundaries = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], boundaries])
    sizes = np.diff(np.concatenate([starts, [len(keys)]]))
    small = sizes <= cap
    pairs = [_pairs_in_small_blocks(starts[small], sizes[small], records)]
    if (~small).any():
        large_starts, large_sizes = starts[~small], sizes[~small]
        block_of = np.repeat(np.arange(len(large_starts)), large_sizes)
        members = records[
            np.concatenate(
                [np.arange(s, s + n) for s, n in zip(large_starts, large_sizes, strict=True)]
            )
        ]
        pairs.append(_pairs_in_large_blocks(block_of, members, _sort_rank(table), window))
    return unique_pairs(np.concatenate(pairs), groups=groups)


def unique_pairs(pairs: IntArray, *, groups: IntArray | None = None) -> IntArray:
    """Pairs ordered (i < j), without self-pairs or repeats, optionally across groups."""
    if len(pairs) == 0:
        return pairs.reshape(0, 2)
    low = np.minimum(pairs[:, 0], pairs[:, 1])
    high = np.maximum(pairs[:, 0], pairs[:, 1])
    keep = low != high
    if groups is not None:
        keep &= groups[low] != groups[high]
    low, high = low[keep], high[keep]
    size = int(high.max()) + 1 if len(high) else 1
    code = np.unique(low * size + high)
    return np.stack([code // size, code % size], axis=1)


def records_sharing_keys(
    index: dict[str, list[int]], record: Features, *, cap: int = REALTIME_CAP
) -> list[int]:
    """The in-memory equivalent of the storage look-up, for tests and small sets.

    ``index`` maps a key to the records holding it; keys held by more than
    ``cap`` records are skipped.
    """
    found: dict[int, None] = {}
    for key in blocking_keys(record):
        holders = index.get(key, [])
        if len(holders) <= cap:
            found.update(dict.fromkeys(holders))
    return list(found)


def build_index(records: Iterable[Features]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for position, record in enumerate(records):
        for key in blocking_keys(record):
            index.setdefault(key, []).append(position)
    return index
