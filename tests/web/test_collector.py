"""The served process's collector tuning: frozen start-up objects, a raised young threshold."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from parcours.config import Settings
from parcours.web import collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_exists_and_raises_the_young_threshold() -> None:
    survivor = [object() for _ in range(10)]
    assert collector.tune(Settings().gc_young_threshold)
    assert gc.get_threshold() == (50_000, *collector.OLDER_THRESHOLDS)
    assert gc.get_freeze_count() >= len(survivor)


@pytest.mark.usefixtures("restored_collector")
def test_a_threshold_of_zero_leaves_the_collector_alone() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    assert not collector.tune(0)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_tuned_stretch_puts_the_collector_back_even_when_it_fails() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    seen: list[tuple[bool, tuple[int, int, int]]] = []

    def fail_while_tuned() -> None:
        with collector.tuned(50_000) as tuned:
            seen.append((tuned, gc.get_threshold()))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_while_tuned()
    assert seen == [(True, (50_000, *collector.OLDER_THRESHOLDS))]
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
