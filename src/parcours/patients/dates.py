"""Birth dates with their precision, and how two of them agree.

A birth date is known to the day, to the month or to the year only. Older rural
people often know only their year, and registers write it as 01/01 of that
year, so a 1 January is read as "possibly the year only" whatever the source
says: two records agreeing on 1950-01-01 agree on a year, not on a day.

Agreement levels, strongest first (see :class:`DateLevel`): exact; the year
agrees where one side is imprecise; day and month swapped (05/03 vs 03/05);
one digit differs (a typo); within a year; disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum


class Precision(IntEnum):
    YEAR = 1
    MONTH = 2
    DAY = 3


@dataclass(frozen=True, slots=True)
class BirthDate:
    year: int
    month: int = 0
    day: int = 0
    precision: Precision = Precision.DAY

    @property
    def imprecise(self) -> bool:
        """Known to the year or month only, or a 1 January (a year-only person)."""
        return self.precision < Precision.DAY or (self.month == 1 and self.day == 1)

    @property
    def ordinal(self) -> int:
        """Days since year 1 of the date's middle (1 July for a year-only date)."""
        if self.precision == Precision.YEAR:
            return date(self.year, 7, 1).toordinal()
        if self.precision == Precision.MONTH:
            return date(self.year, self.month, 15).toordinal()
        return date(self.year, self.month, self.day).toordinal()

    @property
    def compact(self) -> int:
        """YYYYMMDD as an integer (00 for unknown parts)."""
        return self.year * 10000 + self.month * 100 + self.day

    def iso(self) -> str:
        if self.precision == Precision.YEAR:
            return f"{self.year:04d}"
        if self.precision == Precision.MONTH:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_FRENCH = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def parse_birth_date(
    value: str | None, *, year_only: bool = False, today: date | None = None
) -> BirthDate | None:
    """Read YYYY-MM-DD, YYYY-MM, YYYY, YYYYMMDD or DD/MM/YYYY; None when unusable.

    ``year_only`` is a source's flag that its 01/01 dates stand for a year.
    Zeros for unknown parts (19560000, 1956-00-00) lower the precision. A date
    in the future or before 1880 is not a birth date.
    """
    if not value:
        return None
    text = value.strip()
    parts: tuple[str | None, ...]
    if match := _ISO.match(text) or _COMPACT.match(text):
        parts = match.groups()
    elif match := _FRENCH.match(text):
        day_, month_, year_ = match.groups()
        parts = (year_, month_, day_)
    else:
        return None
    year = int(parts[0] or 0)
    month = int(parts[1] or 0)
    day = int(parts[2] or 0)
    limit = (today or date.today()).year  # noqa: DTZ011 (a birth year, not an instant)
    if not 1880 <= year <= limit:
        return None
    if month == 0 or month > 12:
        return BirthDate(year, 0, 0, Precision.YEAR)
    if day == 0:
        return BirthDate(year, month, 0, Precision.MONTH)
    try:
        date(year, month, day)
    except ValueError:
        return BirthDate(year, month, 0, Precision.MONTH)
    if year_only and month == 1 and day == 1:
        return BirthDate(year, 0, 0, Precision.YEAR)
    return BirthDate(year, month, day, Precision.DAY)


class DateLevel(IntEnum):
    """Comparison levels of two birth dates; 0 means one is missing."""

    MISSING = 0
    DISAGREE = 1
    WITHIN_YEAR = 2
    TYPO = 3
    SWAPPED = 4
    YEAR = 5
    EXACT = 6


def _digit_differences(a: int, b: int) -> int:
    count = 0
    for _ in range(8):
        if a % 10 != b % 10:
            count += 1
        a //= 10
        b //= 10
    return count


def compare_dates(a: BirthDate | None, b: BirthDate | None) -> DateLevel:
    """The level of agreement of two birth dates, precision taken into account.

    This is the reference for one pair; :mod:`parcours.patients.compare`
    computes the same levels on arrays.
    """
    if a is None or b is None:
        return DateLevel.MISSING
    if a.imprecise or b.imprecise:
        if a.year == b.year:
            return DateLevel.YEAR
        if abs(a.year - b.year) <= 1:
            return DateLevel.WITHIN_YEAR
        if _digit_differences(a.compact, b.compact) == 1:
            return DateLevel.TYPO
        return DateLevel.DISAGREE
    if a.compact == b.compact:
        return DateLevel.EXACT
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return DateLevel.SWAPPED
    if _digit_differences(a.compact, b.compact) == 1:
        return DateLevel.TYPO
    if abs(a.ordinal - b.ordinal) <= 365:
        return DateLevel.WITHIN_YEAR
    return DateLevel.DISAGREE
