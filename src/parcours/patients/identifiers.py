"""National identifiers and phone numbers, validated and put in one spelling.

The three carry different weights as evidence. A valid **CIN** belongs to one
adult: two records with the same CIN are the same person (if the names roughly
agree, which catches a CIN typed in the wrong record), and two different valid
CINs are strong evidence of two persons. An **AMO number** is a household's:
the insured person's dependants are covered under it, so an agreeing AMO
number says "same family" and needs the given name and the birth date to say
"same person". A **phone** is often a relative's, shared the same way.
"""

from __future__ import annotations

import re

_CIN = re.compile(r"^([A-Z]{1,2})0*(\d{1,7})$")
_SEPARATORS = re.compile(r"[\s.\-_/]+")


def normalise_cin(value: str | None) -> str | None:
    """Upper case, no spaces or separators, no leading zeros in the number.

    Returns None when the value is not a CIN: one or two letters then digits
    (K123456, AB12345). "k 123 456", "K-123456" and "K0123456" all give
    "K123456"; a CIN padded with zeros by one system and not by another is the
    same card.
    """
    if not value:
        return None
    compact = _SEPARATORS.sub("", value).upper()
    match = _CIN.match(compact)
    if not match:
        return None
    letters, digits = match.groups()
    if len(digits) < 3:
        return None
    return letters + digits


def is_valid_cin(value: str | None) -> bool:
    return normalise_cin(value) is not None


_AMO = re.compile(r"^[A-Z0-9]{5,16}$")


def normalise_amo(value: str | None) -> str | None:
    """Digits and letters only, upper case; None when too short to identify anyone.

    The number identifies the insured person's household (see the module
    docstring), so agreement is weighed by the model, never a link by itself.
    """
    if not value:
        return None
    compact = _SEPARATORS.sub("", value).upper()
    if not _AMO.match(compact) or sum(c.isdigit() for c in compact) < 4:
        return None
    if set(compact) <= {"0"}:
        return None
    return compact


_PHONE_DIGITS = re.compile(r"\D+")


def normalise_phone(value: str | None) -> str | None:
    """A Moroccan number in international form (+212 then 9 digits), else None.

    Accepts 06 12 34 56 78, 0612345678, +212 6 12 34 56 78, 00212612345678,
    212612345678 and +212 (0)6…: mobile 06/07, fixed 05, and 08 numbers.
    """
    if not value:
        return None
    digits = _PHONE_DIGITS.sub("", value)
    if digits.startswith("00212"):
        digits = digits[5:]
    elif digits.startswith("212") and len(digits) >= 12:
        digits = digits[3:]
    if len(digits) == 10 and digits.startswith("0"):
        digits = digits[1:]
    if len(digits) != 9 or digits[0] not in "5678":
        return None
    if len(set(digits[1:])) == 1:  # 0600000000 and the like: a placeholder
        return None
    return "+212" + digits
