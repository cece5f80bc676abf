"""Use cases of the indicators: definitions, the incremental refresh, values, dashboards, exports.

The refresh reads each source context's *facts* module after that source's
watermark and adds what is new to the cells (measure × establishment × month ×
dimension member): referral events and mobility events are append-only, so
each is applied once; a hospital stay seen open is kept aside
(``indicator_open_stay``) and its length of stay counted once its discharge
shows. A full rebuild empties the cells and applies everything from id 0
through the same code, which is what makes "incremental = full" hold.

Values are computed at query time: the cells of the unit's establishments are
summed (province and region through the registry's establishment → province),
so that any unit and any month, quarter or year is read from the same cells.
States at a date (staffing against the norms, headcounts, populations, beds,
budget execution, the action programme) are not cells: they are read from
their context's facts at the period's end, and cached for a minute.
"""

from __future__ import annotations

import csv
import io
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from parcours.access import audit
from parcours.access.rules import Permission, Principal
from parcours.access.service import require
from parcours.db import lock_for_update, utcnow
from parcours.errors import Conflict, Invalid, NotFound
from parcours.finance import facts as finance_facts
from parcours.indicators import rules
from parcours.indicators.models import (
    IndicatorCell,
    IndicatorDefinition,
    IndicatorOpenStay,
    IndicatorWatermark,
)
from parcours.indicators.rules import (
    MEASURES,
    TOTAL_ROW,
    Aggregate,
    Checked,
    Definition,
    Dimension,
    Direction,
    Measure,
    Period,
    Source,
    Tally,
    Theme,
)
from parcours.pathways import facts as pathway_facts
from parcours.territory import service as territory
from parcours.workforce import facts as workforce_facts

BATCH = 20_000
PENDING_SECONDS = 600  # an id skipped under the watermark is looked for this long
PENDING_MAX = 10_000


# --- definitions ------------------------------------------------------------------------


def _to_rule(row: IndicatorDefinition) -> Definition:
    return Definition(
        code=row.code,
        name=row.name,
        definition=row.definition,
        numerator=row.numerator,
        denominator=row.denominator,
        unit=row.unit,
        scale=row.scale,
        direction=Direction(row.direction),
        theme=Theme(row.theme),
        target=row.target,
        dimensions=tuple(Dimension(d) for d in row.dimensions or []),
    )


def ensure_shipped_indicators(session: Session) -> int:
    """Insert the reform's indicators that are missing (idempotent); returns how many."""
    have = set(session.scalars(select(IndicatorDefinition.code)))
    now = utcnow()
    added = 0
    for position, d in enumerate(rules.SHIPPED):
        if d.code in have:
            continue
        rules.check_definition(d)
        session.add(_row(d, shipped=True, position=position, at=now, by="system:parcours"))
        added += 1
    session.commit()
    return added


def _row(d: Definition, *, shipped: bool, position: int, at: datetime, by: str) -> Any:
    return IndicatorDefinition(
        code=d.code,
        name=d.name.strip(),
        definition=d.definition.strip(),
        numerator=d.numerator.strip(),
        denominator=(d.denominator or "").strip() or None,
        unit=d.unit.strip(),
        scale=d.scale,
        direction=d.direction.value,
        theme=d.theme.value,
        target=d.target,
        dimensions=[dim.value for dim in d.dimensions],
        shipped=shipped,
        position=position,
        created_at=at,
        created_by=by,
    )


@dataclass(frozen=True)
class IndicatorInfo:
    checked: Checked
    shipped: bool
    created_by: str

    @property
    def d(self) -> Definition:
        return self.checked.definition


def list_indicators(session: Session, theme: Theme | None = None) -> list[IndicatorInfo]:
    rows = session.scalars(
        select(IndicatorDefinition).order_by(IndicatorDefinition.position, IndicatorDefinition.code)
    ).all()
    out = []
    for row in rows:
        if theme is not None and row.theme != theme.value:
            continue
        out.append(
            IndicatorInfo(rules.check_definition(_to_rule(row)), row.shipped, row.created_by)
        )
    return out


def get_indicator(session: Session, code: str) -> IndicatorInfo:
    row = session.get(IndicatorDefinition, code.upper())
    if row is None:
        raise NotFound("Indicateur inconnu : {value}.", code="indicator_not_found", value=code)
    return IndicatorInfo(rules.check_definition(_to_rule(row)), row.shipped, row.created_by)


def check(d: Definition) -> Checked:
    """The definition checked, or a 422 whose French message names the fault."""
    try:
        return rules.check_definition(d)
    except rules.ExpressionError as exc:
        raise Invalid(
            "Définition refusée : {detail}", code="invalid_expression", detail=exc.message
        ) from None


def create_indicator(session: Session, principal: Principal, d: Definition) -> IndicatorInfo:
    """A regional administrator adds an indicator, without code: only its expressions."""
    require(principal, Permission.INDICATORS_MANAGE)
    d = Definition(**{**d.__dict__, "code": d.code.strip().upper()})
    checked = check(d)
    if session.get(IndicatorDefinition, d.code) is not None:
        raise Conflict(
            "Un indicateur porte déjà le code {value}.", code="indicator_exists", value=d.code
        )
    position = 1000 + int(session.scalar(select(func.count(IndicatorDefinition.code))) or 0)
    session.add(_row(d, shipped=False, position=position, at=utcnow(), by=principal.username))
    audit.record(
        session,
        principal,
        "indicator.create",
        "indicator_definition",
        d.code,
        details={"numerator": d.numerator, "denominator": d.denominator},
    )
    info = IndicatorInfo(checked, False, principal.username)
    session.commit()
    return info


# --- the incremental refresh --------------------------------------------------------------

CellKey = tuple[str, str, int, str, int]


class Deltas:
    """What a batch adds to the cells, summed in memory before one upsert."""

    def __init__(self) -> None:
        self.cells: dict[CellKey, list[int]] = defaultdict(lambda: [0, 0])
        self.facts = 0

    def add(
        self,
        measure: Measure,
        establishment: str,
        month: int,
        members: dict[Dimension, str | None],
        value: int = 1,
        n: int = 1,
    ) -> None:
        """One fact: ``value`` is its duration in seconds (or 1 for a count)."""
        self.facts += 1
        dims = [""] + [
            f"{dim.value}:{member}"
            for dim, member in members.items()
            if member and dim in measure.dimensions
        ]
        for dim in dims:
            cell = self.cells[(measure.code, establishment, month, dim, TOTAL_ROW)]
            cell[0] += n
            cell[1] += value
            if measure.distribution:
                self.cells[(measure.code, establishment, month, dim, rules.bucket_of(value))][
                    0
                ] += n


def _month(at: datetime) -> int:
    return at.year * 100 + at.month


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _month_bounds(start: datetime, end: datetime) -> list[tuple[int, float, float]]:
    out = []
    y, m = start.year, start.month
    while True:
        lo = datetime(y, m, 1, tzinfo=UTC)
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        hi = datetime(ny, nm, 1, tzinfo=UTC)
        out.append((y * 100 + m, lo.timestamp(), hi.timestamp()))
        if hi >= end:
            return out
        y, m = ny, nm


def apply_referral_event(deltas: Deltas, f: pathway_facts.ReferralEventFact) -> None:
    """What one referral event adds, counted at the month its referral was sent."""
    if f.sent_at is None:
        return
    month = _month(f.sent_at)
    members: dict[Dimension, str | None] = {
        Dimension.SPECIALTY: f.specialty,
        Dimension.PRIORITY: f.priority,
    }
    m = MEASURES
    if f.to_state == "sent":
        deltas.add(m["referral_sent"], f.source, month, members)
        deltas.add(m["referral_received"], f.destination, month, members)
        if not f.redirect and f.designated_destination is not None:
            deltas.add(m["referral_judged"], f.source, month, members)
            if f.designated_destination == f.destination:
                deltas.add(m["referral_along_map"], f.source, month, members)
    if f.first_answer:
        deltas.add(m["response_delay"], f.destination, month, members, _seconds(f.sent_at, f.at))
        if f.answer_due_at is not None:
            deltas.add(m["referral_due"], f.destination, month, members)
            if f.at <= f.answer_due_at:
                deltas.add(m["referral_answered_in_time"], f.destination, month, members)
    if f.to_state == "expired" and f.answer_due_at is not None:
        deltas.add(m["referral_due"], f.destination, month, members)
    if f.first_schedule and f.appointment_at is not None:
        deltas.add(
            m["appointment_delay"],
            f.destination,
            month,
            members,
            _seconds(f.sent_at, f.appointment_at),
        )
    if f.to_state == "patient_arrived":
        deltas.add(m["referral_arrived"], f.destination, month, members)
        if f.priority == "urgent":
            deltas.add(
                m["emergency_transfer_delay"],
                f.destination,
                month,
                members,
                _seconds(f.sent_at, f.at),
            )
    if f.to_state == "completed":
        deltas.add(m["counter_referral_returned"], f.destination, month, members)


def apply_finished_stay(deltas: Deltas, e: pathway_facts.EncounterFact) -> None:
    assert e.end_at is not None
    members: dict[Dimension, str | None] = {Dimension.SPECIALTY: e.specialty}
    deltas.add(
        MEASURES["length_of_stay"],
        e.establishment,
        _month(e.end_at),
        members,
        _seconds(e.start_at, e.end_at),
    )
    start, end = e.start_at.timestamp(), e.end_at.timestamp()
    for month, seconds in rules.overlap_seconds_by_month(
        start, end, _month_bounds(e.start_at, e.end_at)
    ).items():
        deltas.add(MEASURES["bed_days"], e.establishment, month, members, seconds)


def apply_encounter(
    deltas: Deltas, e: pathway_facts.EncounterFact, opened: list[pathway_facts.EncounterFact]
) -> None:
    if e.kind not in ("emergency", "admission"):
        return
    members: dict[Dimension, str | None] = {Dimension.SPECIALTY: e.specialty}
    month = _month(e.start_at)
    deltas.add(MEASURES["arrival"], e.establishment, month, members)
    if not e.via_referral:
        deltas.add(MEASURES["arrival_unreferred"], e.establishment, month, members)
    if e.kind == "admission":
        if e.end_at is None:
            opened.append(e)
        else:
            apply_finished_stay(deltas, e)


def apply_mobility_event(deltas: Deltas, f: workforce_facts.MobilityEventFact) -> None:
    if f.decision:
        deltas.add(
            MEASURES["mobility_decision_delay"],
            f.to_establishment,
            _month(f.at),
            {},
            _seconds(f.submitted_at, f.at),
        )


def _upsert(session: Session, deltas: Deltas) -> None:
    if not deltas.cells:
        return
    rows = [
        {"measure": k[0], "establishment": k[1], "month": k[2], "dim": k[3], "bucket": k[4],
         "n": v[0], "total": v[1]}
        for k, v in deltas.cells.items()
    ]  # fmt: skip
    table = cast(Table, IndicatorCell.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for i in range(0, len(rows), 5_000):
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["measure", "dim", "establishment", "month", "bucket"],
            set_={"n": table.c.n + stmt.excluded.n, "total": table.c.total + stmt.excluded.total},
        )
        session.execute(stmt, rows[i : i + 5_000])


def _watermark(session: Session, source: Source) -> IndicatorWatermark:
    """The source's watermark, locked until commit where the database can: two refreshers
    (two server processes) then apply a batch one after the other, never the same one twice.
    On SQLite every transaction here takes the write lock at its first read already."""
    row = session.get(
        IndicatorWatermark, source.value, with_for_update=lock_for_update(session) or None
    )
    if row is None:
        row = IndicatorWatermark(
            source=source.value, last_id=0, pending=[], refreshed_at=utcnow(), facts=0
        )
        session.add(row)
    return row


def _skipped(previous: int, ids: Sequence[int], now: float) -> list[list[float]]:
    """Ids between the watermark and the batch's last id that the batch did not hold."""
    seen = set(ids)
    out: list[list[float]] = []
    for i in range(previous + 1, max(ids)):
        if i not in seen:
            out.append([i, now])
            if len(out) >= PENDING_MAX:
                break
    return out


@dataclass
class RefreshOut:
    full: bool
    facts: dict[str, int] = field(default_factory=dict)
    stays_closed: int = 0
    seconds: float = 0.0


class _SourceReader:
    def __init__(
        self,
        source: Source,
        after: Callable[[Session, int, int], Sequence[Any]],
        by_ids: Callable[[Session, Sequence[int]], Sequence[Any]],
        ident: Callable[[Any], int],
        apply: Callable[[Deltas, Any, list[Any]], None],
    ) -> None:
        self.source, self.after, self.by_ids, self.ident, self.apply = (
            source,
            after,
            by_ids,
            ident,
            apply,
        )


def _readers() -> list[_SourceReader]:
    return [
        _SourceReader(
            Source.REFERRAL_EVENTS,
            pathway_facts.referral_events_after,
            pathway_facts.referral_events_by_ids,
            lambda f: f.event_id,
            lambda d, f, _o: apply_referral_event(d, f),
        ),
        _SourceReader(
            Source.ENCOUNTERS,
            pathway_facts.encounters_after,
            pathway_facts.encounters_by_ids,
            lambda f: f.id,
            apply_encounter,
        ),
        _SourceReader(
            Source.MOBILITY_EVENTS,
            workforce_facts.mobility_events_after,
            workforce_facts.mobility_events_by_ids,
            lambda f: f.event_id,
            lambda d, f, _o: apply_mobility_event(d, f),
        ),
    ]


def _store_opened(session: Session, opened: list[pathway_facts.EncounterFact]) -> None:
    """Keep the stays seen open (one multi-row insert; one seen again is left as it is)."""
    if not opened:
        return
    table = cast(Table, IndicatorOpenStay.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {"encounter_id": e.id, "establishment": e.establishment, "specialty": e.specialty,
         "start_at": e.start_at}
        for e in opened
    ]  # fmt: skip
    for i in range(0, len(rows), 5_000):
        stmt = insert(table).on_conflict_do_nothing(index_elements=["encounter_id"])
        session.execute(stmt, rows[i : i + 5_000])


def _close_stays(session: Session, out: RefreshOut) -> None:
    """Count the stays seen open that have ended since; keep the others."""
    ids = list(session.scalars(select(IndicatorOpenStay.encounter_id)))
    if not ids:
        return
    deltas = Deltas()
    closed = []
    for e in pathway_facts.encounters_by_ids(session, ids):
        if e.end_at is not None:
            apply_finished_stay(deltas, e)
            closed.append(e.id)
    if closed:
        _upsert(session, deltas)
        for i in range(0, len(closed), 500):
            session.execute(
                delete(IndicatorOpenStay).where(
                    IndicatorOpenStay.encounter_id.in_(closed[i : i + 500])
                )
            )
        out.stays_closed += len(closed)
        session.commit()


def refresh(session: Session, *, full: bool = False, batch: int = BATCH) -> RefreshOut:
    """Apply what each source holds beyond its watermark (everything, with ``full``)."""
    started = time.perf_counter()
    out = RefreshOut(full=full)
    if full:
        session.execute(delete(IndicatorCell))
        session.execute(delete(IndicatorOpenStay))
        session.execute(delete(IndicatorWatermark))
        session.commit()
    for reader in _readers():
        applied = 0
        mark = _watermark(session, reader.source)
        now = time.time()
        pending = [p for p in (mark.pending or []) if now - float(p[1]) < PENDING_SECONDS]
        if pending:
            found = reader.by_ids(session, [int(p[0]) for p in pending])
            deltas, opened = Deltas(), list[Any]()
            for f in found:
                reader.apply(deltas, f, opened)
            seen = {reader.ident(f) for f in found}
            pending = [p for p in pending if int(p[0]) not in seen]
            _upsert(session, deltas)
            _store_opened(session, opened)
            applied += len(found)
        if mark.pending != pending:
            mark.pending = pending
        session.commit()
        while True:
            mark = _watermark(session, reader.source)
            rows = reader.after(session, mark.last_id, batch)
            if not rows:
                break
            deltas, opened = Deltas(), list[Any]()
            for f in rows:
                reader.apply(deltas, f, opened)
            ids = [reader.ident(f) for f in rows]
            if not full:
                skipped = _skipped(mark.last_id, ids, time.time())
                mark.pending = (list(mark.pending or []) + skipped)[-PENDING_MAX:]
            _upsert(session, deltas)
            _store_opened(session, opened)
            mark.last_id = max(ids)
            mark.facts = (mark.facts or 0) + len(rows)
            mark.refreshed_at = utcnow()
            applied += len(rows)
            session.commit()
            if len(rows) < batch:
                break
        out.facts[reader.source.value] = applied
    _close_stays(session, out)
    if full:
        _tidy(session)
    out.seconds = round(time.perf_counter() - started, 3)
    return out


def _tidy(session: Session) -> None:
    """After a full rebuild on PostgreSQL: the cells rewritten in key order and analysed.

    The rebuild inserts cells in the order facts come, so one unit's cells lie
    scattered over the whole heap; clustered on the key, a province's read
    touches a few pages instead of thousands (benchmarks/README.md: the
    province dashboard 555 → 215 ms at 5 M encounters). The table is locked
    while it is rewritten (seconds), which a full rebuild may afford. SQLite
    keeps its statistics without help at this size.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("CLUSTER indicator_cell USING pk_indicator_cell"))
    session.execute(text("ANALYZE indicator_cell"))
    session.commit()


def watermarks(session: Session) -> dict[str, tuple[int, datetime]]:
    return {
        w.source: (w.last_id, w.refreshed_at) for w in session.scalars(select(IndicatorWatermark))
    }


# --- organisational units ------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    level: str  # region | province | establishment
    code: str
    name: str
    establishments: frozenset[str] | None  # None: every establishment (the region)


@dataclass
class Tree:
    """The region, its provinces and establishments, as the registry has them now."""

    region_code: str
    region_name: str
    provinces: dict[str, str]  # code → name
    province_population: dict[str, int]
    establishments: dict[str, tuple[str, str]]  # code → (name, province)
    beds: dict[str, int]
    catchment: dict[str, int]
    points: dict[str, tuple[float | None, float | None]]

    def unit(self, level: str, code: str | None = None) -> Unit:
        if level == "region":
            return Unit("region", self.region_code, self.region_name, None)
        code = (code or "").upper()
        if level == "province" and code in self.provinces:
            members = frozenset(c for c, (_, p) in self.establishments.items() if p == code)
            return Unit("province", code, self.provinces[code], members)
        if level == "establishment" and code in self.establishments:
            return Unit("establishment", code, self.establishments[code][0], frozenset({code}))
        raise NotFound("Unité inconnue : {value}.", code="unit_not_found", value=code)

    def children(self, unit: Unit) -> list[Unit]:
        if unit.level == "region":
            return [self.unit("province", p) for p in self.provinces]
        if unit.level == "province":
            return [self.unit("establishment", c) for c in sorted(unit.establishments or ())]
        return []

    def parent(self, unit: Unit) -> Unit | None:
        if unit.level == "establishment":
            return self.unit("province", self.establishments[unit.code][1])
        if unit.level == "province":
            return self.unit("region")
        return None


def tree(session: Session) -> Tree:
    return territory.registry_view(session, _build_tree)


def _build_tree(session: Session) -> Tree:
    from parcours.config import get_settings

    settings = get_settings()
    provinces = territory.list_provinces(session)
    nodes = territory.network(session)
    known = {p.code for p in provinces}
    built = Tree(
        region_code=settings.gst_code,
        region_name=settings.gst_name,
        provinces={p.code: p.name for p in provinces},
        province_population={p.code: p.population_2024 for p in provinces},
        establishments={n.code: (n.name, n.province) for n in nodes if n.province in known},
        beds={n.code: sum(n.services.values()) for n in nodes if n.is_open},
        catchment={
            n.code: n.catchment_population for n in nodes if n.catchment_population is not None
        },
        points={n.code: (n.latitude, n.longitude) for n in nodes},
    )
    return built


# --- reading values -------------------------------------------------------------------------


def _dim_key(a: Aggregate) -> str:
    return f"{a.dimension.value}:{a.member}" if a.dimension and a.member else ""


class Reader:
    """Reads cells and states for one request, each (measure, filter, months, group) once.

    With a ``window`` of months (a dashboard's: its series, the before/after and
    the period), the cells of a measure are read once for the whole window,
    grouped by month, and every period inside it is summed from memory.
    """

    def __init__(
        self,
        session: Session,
        tree_: Tree,
        today: date | None = None,
        window: Sequence[int] | None = None,
    ) -> None:
        self.session = session
        self.tree = tree_
        self.today = today or utcnow().date()
        self.window = tuple(sorted(set(window))) if window else None
        self._cells: dict[Any, dict[Any, Tally]] = {}
        self._open: list[tuple[str, str | None, datetime]] | None = None
        self._open_by: dict[Any, dict[str, float]] = {}

    # cells, grouped by month or by establishment
    def cells(
        self, measure: str, dim: str, months: Sequence[int], by: str, only: frozenset[str] | None
    ) -> dict[Any, Tally]:
        key = (measure, dim, tuple(months), by, only)
        found = self._cells.get(key)
        if found is not None:
            return found
        c = IndicatorCell
        group = c.month if by == "month" else c.establishment
        query = (
            select(group, c.bucket, func.sum(c.n), func.sum(c.total))
            .where(c.measure == measure, c.dim == dim, c.month.in_(list(months)))
            .group_by(group, c.bucket)
        )
        if only is not None:
            query = query.where(c.establishment.in_(sorted(only)))
        out: dict[Any, Tally] = defaultdict(Tally)
        for g, bucket, n, total in self.session.execute(query):
            tally = out[g]
            if bucket == TOTAL_ROW:
                tally.n += int(n or 0)
                tally.total += float(total or 0)
            else:
                tally.histogram[int(bucket)] = tally.histogram.get(int(bucket), 0) + int(n or 0)
        self._cells[key] = dict(out)
        return self._cells[key]

    def open_stays(self) -> list[tuple[str, str | None, datetime]]:
        if self._open is None:
            self._open = [
                (str(e), s, start)
                for e, s, start in self.session.execute(
                    select(
                        IndicatorOpenStay.establishment,
                        IndicatorOpenStay.specialty,
                        IndicatorOpenStay.start_at,
                    )
                )
            ]
        return self._open

    def tally(self, a: Aggregate, unit: Unit, months: Sequence[int]) -> Tally:
        """The cells of a unit over months (the registry's states: their value)."""
        measure = MEASURES[a.measure]
        if not measure.incremental:
            return Tally(0, state_value(self, a.measure, unit, months))
        total = Tally()
        if self.window is not None and set(months) <= set(self.window):
            by_month = self.cells(a.measure, _dim_key(a), self.window, "month", unit.establishments)
            for m in months:
                found = by_month.get(m)
                if found is not None:
                    total.add(found)
        else:
            cells = self.cells(a.measure, _dim_key(a), months, "month", unit.establishments)
            for t in cells.values():
                total.add(t)
        if a.measure == "bed_days":
            total.total += self._open_bed_seconds(unit.establishments, months, a)
        return total

    def tally_from_establishments(self, a: Aggregate, unit: Unit, months: Sequence[int]) -> Tally:
        """Like :meth:`tally`, from the cells of every establishment read once for all units
        (the drill-down's children, the map)."""
        measure = MEASURES[a.measure]
        if not measure.incremental:
            return Tally(0, state_value(self, a.measure, unit, months))
        by = self.cells(a.measure, _dim_key(a), months, "establishment", None)
        total = Tally()
        codes = unit.establishments if unit.establishments is not None else by.keys()
        for code in codes:
            found = by.get(code)
            if found is not None:
                total.add(found)
        if a.measure == "bed_days":
            total.total += self._open_bed_seconds(unit.establishments, months, a)
        return total

    def _open_bed_seconds(
        self, only: frozenset[str] | None, months: Sequence[int], a: Aggregate
    ) -> float:
        """Bed-days of the stays still open, up to now, inside the months asked."""
        member = a.member if a.dimension is Dimension.SPECIALTY else None
        key = (tuple(months), member)
        by = self._open_by.get(key)
        if by is None:
            now = datetime.now(UTC)
            lo = datetime(months[0] // 100, months[0] % 100, 1, tzinfo=UTC)
            last = Period("month", months[-1] // 100, months[-1] % 100).end
            hi = min(now, datetime(last.year, last.month, last.day, tzinfo=UTC))
            by = defaultdict(float)
            for code, specialty, start in self.open_stays():
                if member and specialty != member:
                    continue
                by[code] += max(0.0, (hi - max(start, lo)).total_seconds())
            self._open_by[key] = by
        if only is None:
            return sum(by.values())
        return sum(by.get(code, 0.0) for code in only)


# states at a date, per measure: (session, tree, unit, day, days) → value
_STATE_CACHE: dict[Any, tuple[float, Any]] = {}
STATE_TTL = 60.0


def _cached(key: Any, compute: Callable[[], Any]) -> Any:
    hit = _STATE_CACHE.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < STATE_TTL:
        return hit[1]
    value = compute()
    if len(_STATE_CACHE) > 256:
        _STATE_CACHE.clear()
    _STATE_CACHE[key] = (now, value)
    return value


def _in_unit(code: str | None, unit: Unit, tree_: Tree) -> bool:
    if unit.establishments is None:
        return True
    return code is not None and code in unit.establishments


def state_value(reader: Reader, measure: str, unit: Unit, months: Sequence[int]) -> float:
    """A state measure of a unit at the end of the months asked (or today, if sooner)."""
    tree_, session = reader.tree, reader.session
    period_start = date(months[0] // 100, months[0] % 100, 1)
    period_end = Period("month", months[-1] // 100, months[-1] % 100).end
    day = min(period_end - timedelta(days=1), reader.today)
    db = str(session.get_bind().engine.url)
    if measure == "bed_capacity":
        days = (period_end - period_start).days
        beds = sum(b for c, b in tree_.beds.items() if _in_unit(c, unit, tree_))
        return float(beds * days * 86400)  # seconds, as the cells keep durations
    if measure == "population":
        if unit.level == "region":
            return float(sum(tree_.province_population.values()))
        if unit.level == "province":
            return float(tree_.province_population.get(unit.code, 0))
        return float(tree_.catchment.get(unit.code, 0))
    if measure in ("staff_required", "staff_present"):
        facts = _cached(("staffing", db, day), lambda: workforce_facts.staffing(session, day))
        attr = "required" if measure == "staff_required" else "present"
        return float(sum(getattr(f, attr) for f in facts if _in_unit(f.establishment, unit, tree_)))
    if measure == "health_workers":
        counts = _cached(("hw", db, day), lambda: workforce_facts.health_workers(session, day))
        return float(sum(n for c, n in counts.items() if _in_unit(c, unit, tree_)))
    if measure in ("budget_allocated", "budget_paid"):
        budget = _cached(("budget", db, day.year), lambda: _budget_facts(session, day.year))
        attr = "allocated" if measure == "budget_allocated" else "paid"
        return float(budget_sum(budget, attr, unit, tree_, day))
    if measure in ("actions_due", "actions_done"):
        actions = _cached(("actions", db), lambda: _action_facts(session))
        due, done = action_counts(actions, unit, tree_, day)
        return float(due if measure == "actions_due" else done)
    raise NotFound("Mesure inconnue : {value}.", code="measure_not_found", value=measure)


def budget_sum(
    facts: Iterable[finance_facts.BudgetExecutionFact],
    attr: str,
    unit: Unit,
    tree_: Tree,
    day: date,
) -> Decimal:
    """Allocated or paid in the unit from 1 January to the end of ``day``'s month."""
    total = Decimal(0)
    for f in facts:
        current = f.year == day.year and f.month <= day.month
        if current and _in_unit_or_seat(f.establishment_code, unit, tree_):
            total += getattr(f, attr)
    return total


def action_counts(
    actions: Iterable[finance_facts.ActionFact], unit: Unit, tree_: Tree, day: date
) -> tuple[int, int]:
    """(actions due by ``day``, not cancelled; those of them done) in the unit."""
    due = [
        a
        for a in actions
        if a.deadline <= day
        and a.status != "cancelled"
        and _in_unit_or_seat(a.establishment_code, unit, tree_)
    ]
    return len(due), sum(1 for a in due if a.status == "done")


def _in_unit_or_seat(code: str | None, unit: Unit, tree_: Tree) -> bool:
    """The GST's own lines (no establishment) count for the region only."""
    if code is None:
        return unit.level == "region"
    return _in_unit(code, unit, tree_)


def finance_available() -> bool:
    return True


def _budget_facts(session: Session, year: int) -> list[finance_facts.BudgetExecutionFact]:
    return finance_facts.budget_execution_facts(session, year=year)


def _action_facts(session: Session) -> list[finance_facts.ActionFact]:
    return finance_facts.action_facts(session)


@dataclass(frozen=True)
class Value:
    """One indicator's value for a unit and months.

    ``value`` is what the cells give (None: no data); ``shown`` is what any output
    may carry: None as well when the value rests on fewer than 5 persons.
    """

    code: str
    value: float | None
    suppressed: bool
    persons: int | None  # the smallest count of persons behind the value

    @property
    def shown(self) -> float | None:
        return None if self.suppressed else self.value


def value_of(
    reader: Reader,
    info: IndicatorInfo,
    unit: Unit,
    months: Sequence[int],
    dimension: Dimension | None = None,
    member: str | None = None,
) -> Value:
    """The indicator for a unit over the months (one filter of a dimension, optionally)."""
    checked = info.checked

    def fetch(a: Aggregate) -> Tally:
        if dimension is not None and a.dimension is None:
            a = Aggregate(a.function, a.measure, dimension, member, a.q)
        return reader.tally(a, unit, months)

    raw, persons = rules.indicator_value(checked, fetch)
    small = checked.about_persons and rules.is_small_cell(persons)
    return Value(checked.definition.code, raw, small, min(persons) if persons else None)


# --- dashboards ------------------------------------------------------------------------------


def last_complete_month(today: date | None = None) -> int:
    today = today or utcnow().date()
    first = today.replace(day=1) - timedelta(days=1)
    return first.year * 100 + first.month


def default_period(today: date | None = None) -> Period:
    m = last_complete_month(today)
    return Period("month", m // 100, m % 100)


def parse_period(text: str | None) -> Period:
    if not text:
        return default_period()
    try:
        return rules.parse_period(text)
    except ValueError as exc:
        raise Invalid(str(exc), code="invalid_period") from None


@dataclass(frozen=True)
class Row:
    info: IndicatorInfo
    value: Value
    previous: Value
    series: list[tuple[str, float | None]]


@dataclass(frozen=True)
class Comparison:
    info: IndicatorInfo
    before_months: list[int]
    after_months: list[int]
    before: Value
    after: Value

    @property
    def improved(self) -> bool | None:
        b, a = self.before.shown, self.after.shown
        if b is None or a is None or a == b:
            return None
        better_higher = self.info.d.direction is Direction.HIGHER
        return (a > b) == better_higher


@dataclass(frozen=True)
class Dashboard:
    unit: Unit
    parent: Unit | None
    period: Period
    theme: Theme | None
    rows: list[Row]
    comparison: Comparison | None
    focus: IndicatorInfo
    children: list[tuple[Unit, Value]]
    places: list[tuple[Unit, Value]]  # the focused indicator at each establishment (the map)
    finance_available: bool


def dashboard(
    session: Session,
    principal: Principal,
    *,
    level: str = "region",
    code: str | None = None,
    period: Period | None = None,
    theme: Theme | None = None,
    focus: str | None = None,
    months_in_series: int = 12,
    with_places: bool = False,
) -> Dashboard:
    """Every indicator of a unit (or a theme) for a period, its series, the before/after of
    the focused indicator and its value in each child unit (the drill-down)."""
    require(principal, Permission.AGGREGATES_READ)
    tree_ = tree(session)
    unit = tree_.unit(level, code)
    period = period or default_period()
    infos = list_indicators(session, theme)
    if not infos:
        raise NotFound("Aucun indicateur pour ce thème.", code="no_indicator")
    last = rules.month_of(period.end - timedelta(days=1))
    series_months = [
        m
        for p in rules.series(Period("month", last // 100, last % 100), months_in_series)
        for m in p.months
    ]
    before, after = rules.before_after(last)
    window = [*series_months, *period.months, *period.previous().months, *before, *after]
    reader = Reader(session, tree_, window=window)
    rows = []
    for info in infos:
        value = value_of(reader, info, unit, period.months)
        previous = value_of(reader, info, unit, period.previous().months)
        series = []
        if info.checked.measures and all(MEASURES[m].incremental for m in info.checked.measures):
            series = [
                (f"{m // 100}-{m % 100:02d}", value_of(reader, info, unit, [m]).shown)
                for m in series_months
            ]
        rows.append(Row(info, value, previous, series))
    chosen = next((i for i in infos if i.d.code == (focus or "").upper()), None)
    chosen = chosen or next((i for i in infos if i.d.code == rules.HEADLINE), infos[0])
    comparison = compare(reader, chosen, unit, last)
    children = [
        (child, _value_by_establishment(reader, chosen, child, period.months))
        for child in tree_.children(unit)
    ]
    places = []
    if with_places and unit.level != "establishment":
        codes = sorted(unit.establishments or tree_.establishments)
        for est in codes:
            place = tree_.unit("establishment", est)
            places.append((place, _value_by_establishment(reader, chosen, place, period.months)))
    return Dashboard(
        unit=unit,
        parent=tree_.parent(unit),
        period=period,
        theme=theme,
        rows=rows,
        comparison=comparison,
        focus=chosen,
        children=children,
        places=places,
        finance_available=finance_available(),
    )


def compare(reader: Reader, info: IndicatorInfo, unit: Unit, last_month: int) -> Comparison | None:
    before, after = rules.before_after(last_month)
    if not after:
        return None
    return Comparison(
        info,
        before,
        after,
        value_of(reader, info, unit, before),
        value_of(reader, info, unit, after),
    )


def establishment_values(
    session: Session, principal: Principal, code: str, period: Period
) -> list[tuple[Unit, Value]]:
    """One indicator at every establishment (the map of the region), from one read of cells."""
    require(principal, Permission.AGGREGATES_READ)
    tree_ = tree(session)
    info = get_indicator(session, code)
    reader = Reader(session, tree_)
    out = []
    for est in sorted(tree_.establishments):
        unit = tree_.unit("establishment", est)
        out.append((unit, _value_by_establishment(reader, info, unit, period.months)))
    return out


def _value_by_establishment(
    reader: Reader, info: IndicatorInfo, unit: Unit, months: Sequence[int]
) -> Value:
    """Like value_of, from the cells grouped by establishment, read once for every unit."""
    raw, persons = rules.indicator_value(
        info.checked, lambda a: reader.tally_from_establishments(a, unit, months)
    )
    small = info.checked.about_persons and rules.is_small_cell(persons)
    return Value(info.d.code, raw, small, min(persons) if persons else None)


def breakdown(
    session: Session,
    principal: Principal,
    code: str,
    *,
    level: str,
    unit_code: str | None,
    period: Period,
    dimension: Dimension,
) -> list[tuple[str, Value]]:
    """An indicator by member of one of its dimensions (specialty, priority)."""
    require(principal, Permission.AGGREGATES_READ)
    info = get_indicator(session, code)
    if dimension not in info.d.dimensions:
        raise Invalid(
            "L'indicateur {value} ne se décline pas par {dimension}.",
            code="invalid_dimension",
            value=info.d.code,
            dimension=dimension.value,
        )
    tree_ = tree(session)
    unit = tree_.unit(level, unit_code)
    reader = Reader(session, tree_)
    prefix = f"{dimension.value}:"
    members = sorted(
        d[len(prefix) :]
        for d in session.scalars(
            select(IndicatorCell.dim)
            .where(
                IndicatorCell.measure.in_(sorted(info.checked.measures)),
                IndicatorCell.dim.like(prefix + "%"),
                IndicatorCell.month.in_(period.months),
            )
            .distinct()
        )
    )
    return [(m, value_of(reader, info, unit, period.months, dimension, m)) for m in members]


# --- exports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    indicator: str
    name: str
    level: str
    unit_code: str
    unit_name: str
    period: str
    value: float | None
    suppressed: bool
    unit: str


def export_rows(
    session: Session,
    principal: Principal,
    period: Period,
    *,
    levels: Iterable[str] = ("region", "province", "establishment"),
    codes: Sequence[str] | None = None,
) -> list[ExportRow]:
    """Every indicator at every unit of the levels asked (small cells suppressed)."""
    require(principal, Permission.AGGREGATES_READ)
    tree_ = tree(session)
    infos = [i for i in list_indicators(session) if not codes or i.d.code in codes]
    reader = Reader(session, tree_)
    rows: list[ExportRow] = []
    levels = list(levels)
    units: list[Unit] = []
    if "region" in levels:
        units.append(tree_.unit("region"))
    if "province" in levels:
        units += [tree_.unit("province", p) for p in tree_.provinces]
    for info in infos:
        for unit in units:
            v = value_of(reader, info, unit, period.months)
            rows.append(_export_row(info, unit, period, v))
        if "establishment" in levels:
            for est in sorted(tree_.establishments):
                unit = tree_.unit("establishment", est)
                v = _value_by_establishment(reader, info, unit, period.months)
                if v.value is None and not v.suppressed:
                    continue  # nothing recorded there: no row rather than an empty one
                rows.append(_export_row(info, unit, period, v))
    return rows


def _export_row(info: IndicatorInfo, unit: Unit, period: Period, v: Value) -> ExportRow:
    return ExportRow(
        info.d.code,
        info.d.name,
        unit.level,
        unit.code,
        unit.name,
        period.key,
        None if v.shown is None else round(v.shown, 2),
        v.suppressed,
        info.d.unit,
    )


CSV_COLUMNS = (
    "indicateur", "nom", "niveau", "unite_code", "unite_nom", "periode", "valeur", "masque",
    "unite_mesure",
)  # fmt: skip


def _cells(r: ExportRow) -> list[Any]:
    value: Any = "" if r.value is None else r.value
    return [r.indicator, r.name, r.level, r.unit_code, r.unit_name, r.period, value,
            "oui" if r.suppressed else "", r.unit]  # fmt: skip


def to_csv(rows: Sequence[ExportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(_cells(r))
    return buffer.getvalue()


def to_xlsx(rows: Sequence[ExportRow], title: str = "Indicateurs") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(CSV_COLUMNS))
    for r in rows:
        sheet.append(_cells(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _adx_period(period: Period) -> str:
    span = {"month": "P1M", "quarter": "P3M", "year": "P1Y"}[period.kind]
    return f"{period.start.isoformat()}/{span}"


def _dhis2_period(period: Period) -> str:
    if period.kind == "month":
        return f"{period.year}{period.index:02d}"
    if period.kind == "quarter":
        return f"{period.year}Q{period.index}"
    return str(period.year)


def to_adx(rows: Sequence[ExportRow], period: Period, data_set: str) -> str:
    """ADX (IHE QRPH, urn:ihe:qrph:adx:2015): one group per unit; suppressed values left out."""
    root = ET.Element(
        "adx",
        {"xmlns": "urn:ihe:qrph:adx:2015", "exported": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    groups: dict[str, ET.Element] = {}
    for r in rows:
        if r.value is None:
            continue
        group = groups.get(r.unit_code)
        if group is None:
            group = ET.SubElement(
                root,
                "group",
                {"orgUnit": r.unit_code, "period": _adx_period(period), "dataSet": data_set},
            )
            groups[r.unit_code] = group
        ET.SubElement(group, "dataValue", {"dataElement": r.indicator, "value": f"{r.value:g}"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def to_data_value_set(rows: Sequence[ExportRow], period: Period, data_set: str) -> dict[str, Any]:
    """DHIS2's dataValueSets JSON (POST /api/dataValueSets); suppressed values left out."""
    return {
        "dataSet": data_set,
        "period": _dhis2_period(period),
        "completeDate": utcnow().date().isoformat(),
        "dataValues": [
            {
                "dataElement": r.indicator,
                "period": _dhis2_period(period),
                "orgUnit": r.unit_code,
                "value": f"{r.value:g}",
            }
            for r in rows
            if r.value is not None
        ],
    }
