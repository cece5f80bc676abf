from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcours.patients.compare import date_levels
from parcours.patients.dates import DateLevel, Precision, compare_dates, parse_birth_date
from parcours.patients.records import RecordTable, SourceRecord

TODAY = date(2026, 6, 1)


def test_precision_follows_what_was_written() -> None:
    assert parse_birth_date("1980-03-05", today=TODAY).precision == Precision.DAY  # type: ignore[union-attr]
    assert parse_birth_date("1980-03", today=TODAY).precision == Precision.MONTH  # type: ignore[union-attr]
    assert parse_birth_date("1980", today=TODAY).precision == Precision.YEAR  # type: ignore[union-attr]
    assert parse_birth_date("19800000", today=TODAY).precision == Precision.YEAR  # type: ignore[union-attr]
    assert parse_birth_date("05/03/1980", today=TODAY).iso() == "1980-03-05"  # type: ignore[union-attr]


def test_a_flagged_first_of_january_is_a_year_and_any_first_of_january_is_imprecise() -> None:
    flagged = parse_birth_date("1950-01-01", year_only=True, today=TODAY)
    plain = parse_birth_date("1950-01-01", today=TODAY)
    assert flagged is not None
    assert flagged.precision == Precision.YEAR
    assert plain is not None
    assert plain.precision == Precision.DAY
    assert plain.imprecise


@pytest.mark.parametrize("text", ["", "hier", "2099-01-01", "1850-05-05", "1980-13-40x"])
def test_unusable_dates_are_none(text: str) -> None:
    assert parse_birth_date(text, today=TODAY) is None


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("1980-03-05", "1980-03-05", DateLevel.EXACT),
        ("1950", "1950-07-14", DateLevel.YEAR),
        ("1950-01-01", "1950-07-14", DateLevel.YEAR),
        ("1950-01-01", "1950-01-01", DateLevel.YEAR),  # agreeing on 01/01 is a year
        ("1980-03-05", "1980-05-03", DateLevel.SWAPPED),
        ("1980-03-05", "1980-03-06", DateLevel.TYPO),
        ("1980-03-05", "1981-03-05", DateLevel.TYPO),
        ("1980-03-05", "1980-09-25", DateLevel.WITHIN_YEAR),
        ("1950", "1951-06-01", DateLevel.WITHIN_YEAR),
        ("1980-03-05", "1975-11-20", DateLevel.DISAGREE),
        ("1980-03-05", "", DateLevel.MISSING),
    ],
)
def test_levels_of_agreement(a: str, b: str, level: DateLevel) -> None:
    left = parse_birth_date(a, today=TODAY)
    right = parse_birth_date(b, today=TODAY)
    assert compare_dates(left, right) == level
    assert compare_dates(right, left) == level


dates = st.one_of(
    st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31)).map(date.isoformat),
    st.integers(1930, 2025).map(str),
    st.integers(1930, 2025).map(lambda y: f"{y}-01-01"),
    st.just(""),
)


@given(st.lists(st.tuples(dates, dates), min_size=1, max_size=20))
def test_the_array_comparison_agrees_with_the_reference(pairs: list[tuple[str, str]]) -> None:
    records = [
        SourceRecord(record_id=str(i), birth_date=text)
        for i, text in enumerate(x for pair in pairs for x in pair)
    ]
    table = RecordTable.build(records, today=TODAY)
    left = np.arange(0, len(records), 2)
    levels = date_levels(table, left, left + 1)
    expected = [
        compare_dates(parse_birth_date(a, today=TODAY), parse_birth_date(b, today=TODAY))
        for a, b in pairs
    ]
    assert levels.tolist() == [int(level) for level in expected]
