"""Largest-remainder apportionment: exact totals, floors, and no dependence on chance."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcours.demo.apportion import apportion


def test_textbook_example() -> None:
    # quotas 4.4 / 3.3 / 2.3 → floors 4/3/2 and the one seat left goes to the largest remainder
    assert apportion({"a": 44, "b": 33, "c": 23}, 10) == {"a": 5, "b": 3, "c": 2}


def test_floors_pin_small_keys_and_the_rest_is_reapportioned() -> None:
    result = apportion({"big": 97, "small": 3}, 10, {"small": 2})
    assert result == {"big": 8, "small": 2}


def test_floor_met_naturally_changes_nothing() -> None:
    assert apportion({"a": 50, "b": 50}, 4, {"a": 1}) == {"a": 2, "b": 2}


def test_zero_weights_share_equally() -> None:
    assert apportion({"a": 0, "b": 0, "c": 0}, 4) == {"a": 2, "b": 1, "c": 1}


def test_floors_above_total_are_refused() -> None:
    with pytest.raises(ValueError, match="floors"):
        apportion({"a": 1, "b": 1}, 1, {"a": 1, "b": 1})


@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12),
    total=st.integers(min_value=0, max_value=2000),
)
def test_sums_exactly_and_stays_within_one_of_the_quota(weights: list[int], total: int) -> None:
    keyed = {f"k{i}": w for i, w in enumerate(weights)}
    result = apportion(keyed, total)
    assert sum(result.values()) == total
    weight_sum = sum(weights) or len(weights)
    for key, w in keyed.items():
        quota = (w if sum(weights) else 1) * total / weight_sum
        assert abs(result[key] - quota) < 1 + 1e-9
