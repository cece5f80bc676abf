"""The demo's steps, in the order they run.

A later issue adds its step here (patients, pathways, workforce, finance…),
after the ones it builds on. Steps are never reordered: a database built by an
earlier version of this list then gains only the new steps.
"""

from __future__ import annotations

from parcours.demo.pipeline import Step
from parcours.demo.steps.finance import STEP as FINANCE
from parcours.demo.steps.indicators import STEP as INDICATORS
from parcours.demo.steps.pathways import STEP as PATHWAYS
from parcours.demo.steps.patients import STEP as PATIENTS
from parcours.demo.steps.territory import STEP as TERRITORY
from parcours.demo.steps.users import STEP as USERS
from parcours.demo.steps.workforce import STEP as WORKFORCE

STEPS: tuple[Step, ...] = (
    TERRITORY,
    USERS,
    PATIENTS,
    PATHWAYS,
    WORKFORCE,
    FINANCE,
    INDICATORS,
)
