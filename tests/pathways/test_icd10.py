"""ICD-10: the compact list, the format validator, chapters and search."""

from __future__ import annotations

import pytest

from parcours.pathways.icd10 import (
    CODE_PATTERN,
    COMPACT_LIST,
    CodeStatus,
    chapter,
    check_code,
    label,
    normalise,
    search,
)


def test_the_compact_list_is_compact_and_well_formed() -> None:
    assert 150 <= len(COMPACT_LIST) <= 300
    for code, text in COMPACT_LIST.items():
        assert CODE_PATTERN.match(code), code
        assert normalise(code) == code
        assert text.strip() == text
        assert text
        assert chapter(code) is not None, code


def test_the_list_covers_what_a_moroccan_region_sees() -> None:
    for code in (
        "J06.9",
        "A09.9",
        "I10",
        "E11.9",
        "O80",
        "Z34.9",
        "A15.0",
        "B67.0",
        "B55.1",
        "T63.2",
        "T58",
        "F12.2",
        "K35.8",
        "S72.0",
        "C50.9",
        "U07.1",
    ):
        assert code in COMPACT_LIST, code


@pytest.mark.parametrize(
    ("text", "code", "status"),
    [
        ("K35.8", "K35.8", CodeStatus.KNOWN),
        (" k358 ", "K35.8", CodeStatus.KNOWN),
        ("i10", "I10", CodeStatus.KNOWN),
        ("U07.1", "U07.1", CodeStatus.KNOWN),
        ("H36.0*", "H36.0", CodeStatus.KNOWN),  # asterisk code of the dagger system
        ("A17.0†", "A17.0", CodeStatus.NOT_IN_LIST),
        ("I10.0", "I10.0", CodeStatus.NOT_IN_LIST),
        ("Q99.9", "Q99.9", CodeStatus.NOT_IN_LIST),
        ("S72.00", "S72.00", CodeStatus.NOT_IN_LIST),  # national two-digit extension
        ("U99", "U99", CodeStatus.NOT_IN_LIST),  # valid format outside WHO's U ranges
        ("K3", None, CodeStatus.INVALID),
        ("358", None, CodeStatus.INVALID),
        ("KK35", None, CodeStatus.INVALID),
        ("K35.123", None, CodeStatus.INVALID),
        ("K35-8", None, CodeStatus.INVALID),
        ("", None, CodeStatus.INVALID),
        ("diabète", None, CodeStatus.INVALID),
    ],
)
def test_check_code(text: str, code: str | None, status: CodeStatus) -> None:
    check = check_code(text)
    assert check.code == code
    assert check.status is status
    assert check.valid == (status is not CodeStatus.INVALID)
    assert check.known == (status is CodeStatus.KNOWN)
    assert check.message
    if status is CodeStatus.NOT_IN_LIST:
        assert check.message.startswith("format valide, code absent de la liste abrégée")
    assert status.label


def test_a_subdivision_of_a_listed_category_says_what_it_is_about() -> None:
    assert "Hypertension essentielle" in check_code("I10.9").message


def test_label_and_chapter() -> None:
    assert label("e11.9") == "Diabète sucré de type 2, sans complication"
    assert label("nonsense") is None
    assert chapter("O80") == "Grossesse, accouchement et puerpéralité"
    assert chapter("T63.2") == chapter("S72.0")
    assert chapter("V89.2") == "Causes externes de morbidité et de mortalité"
    assert chapter("D50.9") != chapter("D25.9")
    assert chapter("U90") is None


def test_search_by_code_or_by_accent_free_words() -> None:
    found = search("diabete type 2")
    assert found
    assert all("type 2" in text for _, text in found)
    assert search("K35")[0][0].startswith("K35")
    assert search("hydatique")[0][0] == "B67.0"
    assert len(search("a", limit=5)) == 5
    assert search("   ") == []
