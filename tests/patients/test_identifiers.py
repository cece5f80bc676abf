from __future__ import annotations

import pytest

from parcours.patients.identifiers import (
    is_valid_cin,
    normalise_amo,
    normalise_cin,
    normalise_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("K123456", "K123456"),
        ("k 123 456", "K123456"),
        ("K-123456", "K123456"),
        ("K0123456", "K123456"),
        ("ab12345", "AB12345"),
        (" BK 654321 ", "BK654321"),
    ],
)
def test_cin_is_upper_case_without_separators_or_padding(raw: str, expected: str) -> None:
    assert normalise_cin(raw) == expected


@pytest.mark.parametrize("raw", ["", None, "123456", "ABC12345", "K12", "K12345678", "K12A45"])
def test_what_is_not_a_cin_is_refused(raw: str | None) -> None:
    assert normalise_cin(raw) is None
    assert not is_valid_cin(raw)


def test_amo_number_keeps_digits_and_letters_only() -> None:
    assert normalise_amo("123 456 789") == "123456789"
    assert normalise_amo("123.456-789") == "123456789"
    assert normalise_amo("12") is None
    assert normalise_amo("000000000") is None
    assert normalise_amo("ABCDEFG") is None


@pytest.mark.parametrize(
    "raw",
    [
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "+212612345678",
        "+212 6 12 34 56 78",
        "00212612345678",
        "212612345678",
        "+212 (0)6 12 34 56 78",
    ],
)
def test_moroccan_mobile_spellings_give_one_number(raw: str) -> None:
    assert normalise_phone(raw) == "+212612345678"


def test_fixed_lines_and_07_numbers_are_phones_placeholders_are_not() -> None:
    assert normalise_phone("0539 12 34 56") == "+212539123456"
    assert normalise_phone("0712345678") == "+212712345678"
    assert normalise_phone("0600000000") is None
    assert normalise_phone("12345") is None
    assert normalise_phone("0412345678") is None
