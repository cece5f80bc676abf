"""Tables of the indicators context: definitions, aggregate cells, watermarks, open stays.

Cells hold sums only (counts, totals, histogram buckets), so that adding the
facts that arrived since a source's watermark is exact: a cell is never
recomputed, only increased. Province and region values are summed from the
establishments' cells at query time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from parcours.db import Base, UtcDateTime


class IndicatorDefinition(Base):
    """An indicator as data: its expressions over the catalogue of measures (rules.MEASURES)."""

    __tablename__ = "indicator_definition"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)
    numerator: Mapped[str] = mapped_column(String(500))
    denominator: Mapped[str | None] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(30))
    scale: Mapped[float] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(10))
    theme: Mapped[str] = mapped_column(String(20))
    target: Mapped[float | None] = mapped_column(Float)
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class IndicatorCell(Base):
    """Sum of one measure's facts at one establishment, month and dimension member.

    ``dim`` is ``""`` for all facts, ``specialty:<code>`` or ``priority:<code>``
    for one member; ``bucket`` is -1 for the count-and-total row, else a
    histogram bucket (hours, see rules.bucket_of) holding only ``n``.
    """

    __tablename__ = "indicator_cell"
    __table_args__ = (Index("ix_indicator_cell_month", "measure", "dim", "month"),)

    # Key order: a unit's query (one measure, all facts or one member, some establishments,
    # some months) reads one tight range of the key per establishment.
    measure: Mapped[str] = mapped_column(String(40), primary_key=True)
    dim: Mapped[str] = mapped_column(String(60), primary_key=True)
    establishment: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class IndicatorWatermark(Base):
    """How far a source has been applied: the last id read, and the ids skipped below it.

    ``pending`` lists ids under the watermark not seen yet (a transaction that
    took its id earlier but committed later, on PostgreSQL): they are looked
    for again at each refresh and forgotten after a while.
    """

    __tablename__ = "indicator_watermark"

    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    pending: Mapped[list[Any]] = mapped_column(JSON, default=list)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    facts: Mapped[int] = mapped_column(BigInteger, default=0)


class IndicatorOpenStay(Base):
    """A hospital stay seen while still open: its length of stay counts once it ends."""

    __tablename__ = "indicator_open_stay"

    encounter_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    establishment: Mapped[str] = mapped_column(String(40))
    specialty: Mapped[str | None] = mapped_column(String(40))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime)
