"""Filters of the templates: numbers and dates as French readers in Morocco expect them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from parcours.web.templating import templates


def _fdate(value: object) -> str:
    return str(templates.env.filters["fdate"](value))


def test_timestamps_are_shown_in_moroccan_time() -> None:
    # Morocco keeps UTC+1 outside Ramadan: 09:30 UTC is 10:30 in Tanger.
    assert _fdate(datetime(2026, 11, 29, 9, 30, tzinfo=UTC)) == "29/11/2026 10:30"
    # During Ramadan 2026 (around 18 Feb – 19 Mar) the country goes back to UTC+0.
    assert _fdate(datetime(2026, 3, 1, 9, 30, tzinfo=UTC)) == "01/03/2026 09:30"
    # Crossing midnight changes the day too.
    assert _fdate(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == "30/11/2026 00:30"


def test_plain_dates_and_missing_values() -> None:
    assert _fdate(date(2025, 10, 1)) == "01/10/2025"
    assert _fdate(None) == "—"


def test_numbers_use_the_french_thousands_separator() -> None:
    number = templates.env.filters["number"]
    assert number(4030222) == "4\u202f030\u202f222"
    assert number(0.79) == "0,8"
    assert number(None) == "—"
