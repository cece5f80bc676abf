"""The demo's own table: the true person behind each generated source record.

Kept apart from the patients context so that the matching code can never read
it; the evaluation of the MPI against the demo (and the demo's tests) do.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base


class DemoPatientTruth(Base):
    __tablename__ = "demo_patient_truth"

    record_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    true_person: Mapped[str] = mapped_column(String(64), index=True)
