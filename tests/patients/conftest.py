"""A model trained once per session on a small synthetic region (no database)."""

from __future__ import annotations

import pytest

from parcours.patients.batch import TrainingSettings, train
from parcours.patients.fellegi_sunter import Model
from parcours.patients.synthetic import SyntheticData, generate


@pytest.fixture(scope="session")
def synthetic() -> SyntheticData:
    return generate(3000, seed=7)


@pytest.fixture(scope="session")
def model(synthetic: SyntheticData) -> Model:
    return train(synthetic.records, settings=TrainingSettings(u_pairs=300_000, seed=7))
