"""Largest-remainder apportionment, the method behind every "in proportion to" of the demo.

Hospitals, health centres, beds and catchment populations are all whole
numbers that must add up exactly to a total while following weights; rounding
each share on its own does not add up, the largest-remainder (Hamilton) method
does, and it is the one a planner would explain on paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction


def apportion(
    weights: Mapping[str, float | int],
    total: int,
    minimum: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Split ``total`` over the keys of ``weights`` in proportion, exactly.

    ``minimum`` gives keys a floor (a province that must have its hospital,
    the real hospitals a province already has). A key whose proportional share
    falls below its floor is pinned at the floor and the rest is apportioned
    again among the others, until every key meets its floor. Ties are broken
    by key order, so the result depends only on the inputs.
    """
    if total < 0:
        raise ValueError("total must be >= 0")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be >= 0")
    floors = {k: (minimum or {}).get(k, 0) for k in weights}
    if sum(floors.values()) > total:
        raise ValueError(f"the floors ({sum(floors.values())}) exceed the total ({total})")
    pinned: dict[str, int] = {}
    while True:
        free = [k for k in weights if k not in pinned]
        shares = _largest_remainder({k: weights[k] for k in free}, total - sum(pinned.values()))
        below = [k for k in free if shares[k] < floors[k]]
        if not below:
            return {k: pinned.get(k, shares.get(k, 0)) for k in weights}
        for k in below:
            pinned[k] = floors[k]


def _largest_remainder(weights: Mapping[str, float | int], total: int) -> dict[str, int]:
    keys = list(weights)
    if not keys:
        return {}
    # Exact arithmetic: float quotas can swap two nearly equal remainders.
    exact = {k: Fraction(weights[k]) for k in keys}
    weight_sum = sum(exact.values(), Fraction(0))
    if weight_sum == 0:
        exact = {k: Fraction(1) for k in keys}
        weight_sum = Fraction(len(keys))
    quotas = {k: exact[k] * total / weight_sum for k in keys}
    result = {k: int(quotas[k]) for k in keys}
    left = total - sum(result.values())
    order = sorted(keys, key=lambda k: (-(quotas[k] - result[k]), keys.index(k)))
    for k in order[:left]:
        result[k] += 1
    return result
