"""HTML routes of the care pathways: refer a patient, answer, inboxes, timeline, map, beds.

Every page calls the same service function as the JSON API
(:mod:`parcours.pathways.service`), which checks permissions and scope and
writes the audit trail; the pages only turn forms into the service's inputs
and its refusals into a message on the page. They work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from parcours.access.rules import Permission, Principal, ScopeKind
from parcours.access.service import require
from parcours.config import get_settings
from parcours.errors import DomainError, Forbidden, Invalid
from parcours.pathways import charts, network, service
from parcours.pathways.encounter import (
    CensusTotal,
    DischargeMode,
    EncounterKind,
    OccupancyLevel,
    occupancy_level,
)
from parcours.pathways.pathway_map import SPECIALTY_NAMES, DesignationRule
from parcours.pathways.referral import (
    RULES,
    Action,
    DeadlineStatus,
    Input,
    Priority,
    ReferralState,
)
from parcours.pathways.routing import LevelFit, ProposalFlag
from parcours.pathways.schemas import (
    AttachmentIn,
    CensusRow,
    DischargeIn,
    EncounterIn,
    InboxPages,
    MapChangeIn,
    MapExceptionIn,
    PathwayMapOut,
    ReferralIn,
    TransitionIn,
)
from parcours.patients import service as patients
from parcours.territory import service as territory
from parcours.territory.rules import CARE_LEVEL_LABELS
from parcours.web import coast, svgmap
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import current_locale, direction
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain, pager, url_with
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)

OUT_OF_SCOPE = "out_of_scope"
LEVEL_COLOURS = charts.LEVEL_COLOURS
# arrows of referrals outside the map: apart from the levels' colours, and dashed (stylesheet)
OUTSIDE_COLOUR = "#1565c0"


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _specialties() -> list[tuple[str, str]]:
    return sorted(((c, _(n)) for c, n in SPECIALTY_NAMES.items()), key=lambda cn: cn[1])


def _vocabulary() -> dict[str, Any]:
    """Labels and colours the templates read, translated for the reader."""
    return {
        "states": {s.value: (_(s.label), s.colour) for s in ReferralState},
        "priorities": {p.value: (_(p.label), p.colour) for p in Priority},
        "deadlines": {d.value: (_(d.label), d.colour) for d in DeadlineStatus},
        "action_labels": {a.value: _(a.label) for a in Action},
        "flags": {f.value: (_(f.label), f.colour) for f in ProposalFlag},
        "fits": {f.value: _(f.label) for f in LevelFit},
        "kinds": {k.value: (_(k.label), k.colour) for k in EncounterKind},
        "modes": {m.value: _(m.label) for m in DischargeMode},
        "occupancy_levels": {o.value: (_(o.label), o.colour) for o in OccupancyLevel},
        "rules": {r.value: _(r.label) for r in DesignationRule},
        "levels": {level: _(label) for level, label in CARE_LEVEL_LABELS.items()},
        "specialty_names": {c: _(n) for c, n in SPECIALTY_NAMES.items()},
        "level_colours": LEVEL_COLOURS,
        "outside_colour": OUTSIDE_COLOUR,
        "days": _days,
        "birth": _birth,
    }


def _birth(value: str | None) -> str:
    """A birth date as precise as it was registered: 14/03/1978, 03/1978 or 1978."""
    if not value:
        return "—"
    return "/".join(reversed(value[:10].split("-")))


def _days(value: float | None) -> str:
    if value is None:
        return "—"
    return (f"{value:.1f}".replace(".", ",")) + " " + _("j")


def _home_establishments(principal: Principal, db: Session) -> list[tuple[str, str]]:
    """(code, name) of the establishments the user acts for, by name (none for GST-wide)."""
    net = network.load(db)
    if principal.scope.kind is ScopeKind.GST:
        return []
    codes = [
        c
        for c, est in net.index.by_code.items()
        if est.is_open and principal.scope.covers(c, net.provinces.get(c, ""))
    ]
    return sorted(((c, net.name(c)) for c in codes), key=lambda cn: cn[1])


def _field(form: Mapping[str, str], name: str, limit: int = 2000) -> str:
    return (form.get(name) or "").strip()[:limit]


def _local_datetime(text: str) -> datetime | None:
    """A ``datetime-local`` field, read in the region's time zone."""
    if not text:
        return None
    try:
        naive = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(
            "Date et heure illisibles : {value}.", code="invalid_datetime", value=text
        ) from exc
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=_zone()).astimezone(UTC)


def _validation_problems(exc: ValidationError) -> list[str]:
    return [
        _("« {field} » : valeur refusée.").format(field=".".join(str(p) for p in err["loc"]))
        for err in exc.errors()
    ]


# --- refer a patient ------------------------------------------------------------------------


def _default_source(homes: list[tuple[str, str]], record_sites: list[str]) -> str:
    """Where the referral starts by default: the user's establishment where the patient
    has a record, else the user's only establishment, else (GST-wide) the record's."""
    codes = [code for code, _name in homes]
    for code in record_sites:
        if code in codes:
            return code
    if len(codes) == 1:
        return codes[0]
    if not codes and record_sites:
        return record_sites[0]
    return ""


def _new_page(
    request: Request,
    db: Session,
    user: PageUser,
    values: Mapping[str, str],
    problems: list[str],
    status_code: int = 200,
) -> Response:
    principal = user.principal
    require(principal, Permission.CLINICAL_WRITE)
    homes = _home_establishments(principal, db)
    net = network.load(db)
    person_id = _field(values, "person", 12)
    patient = None
    patient_notice = ""
    if person_id:
        # the MPI's own audited, scoped read of the person, shown in brief; a person out of
        # the reader's scope is not shown here (the person page opens it for a reason)
        try:
            patient = patients.get_person(db, principal, person_id)
        except Forbidden as exc:
            db.rollback()
            if exc.code != OUT_OF_SCOPE:
                raise
            patient_notice = explain(exc)
        except DomainError as exc:
            db.rollback()
            problems.append(explain(exc))
    record_sites = [r.establishment for r in patient.records if r.establishment] if patient else []
    source = values.get("from") or _default_source(homes, record_sites)
    specialty = values.get("specialty", "")
    priority = values.get("priority") or Priority.ROUTINE.value
    routing = None
    if source and specialty:
        try:
            routing = service.route(
                db,
                principal,
                source,
                specialty,
                Priority(priority)
                if priority in Priority.__members__.values()
                else Priority.ROUTINE,
                needs_bed=values.get("bed_request") == "on" or None,
            )
        except DomainError as exc:
            problems.append(explain(exc))
    return render(
        request,
        "pathways/referral_new.html",
        _vocabulary()
        | {
            "values": values,
            "person_id": person_id,
            "patient": patient,
            "patient_notice": patient_notice,
            "record_sites": sorted({(c, net.name(c)) for c in record_sites}, key=lambda cn: cn[1]),
            "sexes": {"M": _("Homme"), "F": _("Femme")},
            "source": source,
            "specialty": specialty,
            "priority": priority,
            "homes": homes,
            "specialties": _specialties(),
            "priority_choices": list(Priority),
            "routing": routing,
            "chosen": values.get("destination") or (routing.designated if routing else ""),
            "problems": problems,
        },
        status_code=status_code,
    )


@router.get("/referrals/new")
def new_referral(request: Request, db: SessionDep, user: PageUser) -> Response:
    return _new_page(request, db, user, dict(request.query_params), [])


@router.post("/referrals/new")
def create_referral(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm
) -> Response:
    attachments = [
        AttachmentIn(name=name.strip()[:200])
        for name in _field(form, "attachments", 2000).splitlines()
        if name.strip()
    ]
    try:
        data = ReferralIn(
            person_id=_field(form, "person", 12),
            source=_field(form, "from", 40),
            destination=_field(form, "destination", 40) or None,
            specialty=_field(form, "specialty", 40),
            priority=Priority(_field(form, "priority", 10) or "routine"),
            reason=_field(form, "reason"),
            clinical_summary=_field(form, "clinical_summary", 10000) or None,
            referring_professional=_field(form, "referring_professional", 160) or None,
            attachments=attachments,
            bed_request=form.get("bed_request") == "on",
            bed_service=_field(form, "bed_service", 40) or None,
            send=form.get("draft") != "1",
        )
    except (ValidationError, ValueError) as exc:
        db.rollback()
        problems = (
            _validation_problems(exc)
            if isinstance(exc, ValidationError)
            else [_("Priorité inconnue.")]
        )
        return _new_page(request, db, user, form, problems, status_code=422)
    try:
        out = service.create_referral(db, user.principal, data)
    except DomainError as exc:
        db.rollback()
        if exc.status_code == 403:
            raise
        return _new_page(request, db, user, form, [explain(exc)], status_code=exc.status_code)
    return RedirectResponse(f"/referrals/{out.id}?done=created", status_code=303)


# --- a referral -------------------------------------------------------------------------------


def _inputs(action: str) -> list[str]:
    return sorted(i.value for i in RULES[Action(action)].requires)


@router.get("/referrals/{referral_id}")
def referral_page(request: Request, db: SessionDep, user: PageUser, referral_id: int) -> Response:
    return _referral_page(request, db, user, referral_id)


def _referral_page(
    request: Request,
    db: Session,
    user: PageUser,
    referral_id: int,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    # the registry first: the audited read commits, and nothing should be read after it
    net = network.load(db)
    referral = service.get_referral(db, user.principal, referral_id)
    return render(
        request,
        "pathways/referral.html",
        _vocabulary()
        | {
            "r": referral,
            "inputs": {a: _inputs(a) for a in referral.available_actions},
            "destinations": sorted(
                (
                    (e.code, e.name)
                    for e in net.index.offering(referral.specialty)
                    if e.code not in (referral.source, *referral.chain)
                ),
                key=lambda cn: cn[1],
            ),
            "problems": problems or [],
            "done": request.query_params.get("done"),
            "may_read_person": user.principal.can(Permission.CLINICAL_READ),
            "names": net.names,
            "input_names": {i.value for i in Input},
        },
        status_code=status_code,
    )


@router.post("/referrals/{referral_id}/act")
def act(
    request: Request, db: SessionDep, user: PageUser, referral_id: int, form: CheckedForm
) -> Response:
    try:
        expected = _field(form, "expected_version", 12)
        data = TransitionIn(
            action=Action(_field(form, "action", 20)),
            reason=_field(form, "reason") or None,
            destination=_field(form, "destination", 40) or None,
            appointment_at=_local_datetime(_field(form, "appointment_at", 30)),
            immediate=form.get("immediate") == "on",
            counter_referral=_field(form, "counter_referral", 10000) or None,
            expected_version=int(expected) if expected.isdigit() else None,
        )
        service.transition(db, user.principal, referral_id, data)
    except (ValidationError, ValueError) as exc:
        db.rollback()
        problems = (
            _validation_problems(exc)
            if isinstance(exc, ValidationError)
            else [_("Action inconnue.")]
        )
        return _referral_page(request, db, user, referral_id, problems, 422)
    except DomainError as exc:
        db.rollback()
        return _referral_page(request, db, user, referral_id, [explain(exc)], exc.status_code)
    return RedirectResponse(f"/referrals/{referral_id}?done={data.action.value}", status_code=303)


# --- inboxes --------------------------------------------------------------------------------


@router.get("/inbox")
def my_inbox(request: Request, db: SessionDep, user: PageUser) -> Response:
    require(user.principal, Permission.PATIENT_READ)
    homes = _home_establishments(user.principal, db)
    if len(homes) == 1:
        return RedirectResponse(f"/establishments/{quote(homes[0][0])}/inbox", status_code=303)
    net = network.load(db)
    if not homes:  # GST-wide: every hospital and the CHU first
        homes = sorted(
            ((c, net.name(c)) for c, e in net.index.by_code.items() if e.care_level >= 2),
            key=lambda cn: (-net.level(cn[0]), cn[1]),
        )
    return render(request, "pathways/inbox_pick.html", {"homes": homes})


_INBOX_LISTS = ("incoming", "outgoing", "counter_referrals")


@router.get("/establishments/{code}/inbox")
def inbox_page(
    request: Request,
    db: SessionDep,
    user: PageUser,
    code: str,
    pages: Annotated[InboxPages, Query()],
) -> Response:
    box = service.inbox(db, user.principal, code, pages=pages)
    path = f"/establishments/{quote(box.establishment)}/inbox"
    kept = {name: getattr(box.pages, name) for name in _INBOX_LISTS}
    totals = {
        "incoming": box.incoming_total,
        "outgoing": box.outgoing_total,
        "counter_referrals": box.counter_referrals_total,
    }
    pagers = {
        name: pager(path, kept, kept[name], box.page_size, totals[name], key=name)
        for name in _INBOX_LISTS
    }
    return render(request, "pathways/inbox.html", _vocabulary() | {"box": box, "pagers": pagers})


# --- the timeline ---------------------------------------------------------------------------


def _timeline_page(
    request: Request,
    db: Session,
    user: PageUser,
    person_id: str,
    *,
    reason: str | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    principal = user.principal
    homes = _home_establishments(principal, db)
    net = network.load(db)
    try:
        line = service.timeline(db, principal, person_id, reason=reason)
    except Forbidden as exc:
        if exc.code != OUT_OF_SCOPE:
            raise
        db.rollback()
        return render(
            request,
            "pathways/break_glass.html",
            {"person_id": person_id, "message": explain(exc), "problems": problems or []},
            status_code=403,
        )
    if not homes and principal.scope.kind is ScopeKind.GST:
        homes = [(c, net.name(c)) for c in line.establishments]
    return render(
        request,
        "pathways/timeline.html",
        _vocabulary()
        | {
            "line": line,
            "emergency": reason is not None,
            "reason": reason or "",
            "homes": homes,
            "specialties": _specialties(),
            "may_record": principal.can(Permission.PATIENT_WRITE),
            "may_code": principal.can(Permission.CLINICAL_WRITE),
            "may_refer": principal.can(Permission.CLINICAL_WRITE),
            "problems": problems or [],
            "done": request.query_params.get("done"),
            "mode_choices": list(DischargeMode),
        },
        status_code=status_code,
    )


@router.get("/persons/{person_id}/timeline")
def timeline_page(request: Request, db: SessionDep, user: PageUser, person_id: str) -> Response:
    return _timeline_page(request, db, user, person_id)


@router.post("/persons/{person_id}/timeline")
def timeline_emergency(
    request: Request, db: SessionDep, user: PageUser, person_id: str, form: CheckedForm
) -> Response:
    reason = _field(form, "reason", 500)
    if len(reason) < 3:
        return _timeline_page(
            request, db, user, person_id, problems=[_("Indiquez le motif de l'accès.")]
        )
    return _timeline_page(request, db, user, person_id, reason=reason)


def _codes(text: str) -> list[str]:
    return [c for c in text.replace(";", ",").replace(" ", ",").split(",") if c.strip()][:12]


@router.post("/persons/{person_id}/encounters")
def record_encounter(
    request: Request, db: SessionDep, user: PageUser, person_id: str, form: CheckedForm
) -> Response:
    try:
        data = EncounterIn(
            person_id=person_id,
            establishment=_field(form, "establishment", 40),
            kind=_field(form, "kind", 20),
            specialty=_field(form, "specialty", 40) or None,
            start_at=_local_datetime(_field(form, "start_at", 30)),
            bed_label=_field(form, "bed_label", 40) or None,
            diagnoses=_codes(_field(form, "diagnoses", 200)),
            overflow=form.get("overflow") == "on",
            note=_field(form, "note", 4000) or None,
        )
        service.record_encounter(db, user.principal, data)
    except ValidationError as exc:
        db.rollback()
        return _timeline_page(
            request, db, user, person_id, problems=_validation_problems(exc), status_code=422
        )
    except DomainError as exc:
        db.rollback()
        if exc.status_code == 403:
            raise
        return _timeline_page(
            request, db, user, person_id, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse(f"/persons/{quote(person_id)}/timeline?done=encounter", status_code=303)


@router.post("/encounters/{encounter_id}/discharge")
def discharge(
    request: Request, db: SessionDep, user: PageUser, encounter_id: int, form: CheckedForm
) -> Response:
    person_id = _field(form, "person", 12)
    try:
        data = DischargeIn(
            mode=DischargeMode(_field(form, "mode", 20)),
            at=_local_datetime(_field(form, "at", 30)),
            transfer_to=_field(form, "transfer_to", 40) or None,
            diagnoses=_codes(_field(form, "diagnoses", 200)),
            note=_field(form, "note", 4000) or None,
        )
        service.discharge(db, user.principal, encounter_id, data)
    except (ValidationError, ValueError) as exc:
        db.rollback()
        problems = (
            _validation_problems(exc)
            if isinstance(exc, ValidationError)
            else [_("Mode de sortie inconnu.")]
        )
        return _timeline_page(request, db, user, person_id, problems=problems, status_code=422)
    except DomainError as exc:
        db.rollback()
        if exc.status_code == 403:
            raise
        return _timeline_page(
            request, db, user, person_id, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse(f"/persons/{quote(person_id)}/timeline?done=discharge", status_code=303)


# --- the pathway map ------------------------------------------------------------------------


MAP_WIDTH = 900


def flow_map(drawn: PathwayMapOut, show_network: bool) -> Markup:
    """The region with the establishments at their coordinates and the referral volumes."""
    nodes = {n.code: n for n in drawn.nodes if n.latitude is not None and n.longitude is not None}
    if not nodes:
        return Markup("")
    lines: list[svgmap.Line] = []
    if show_network:
        for a in drawn.designated:
            s, d = nodes.get(a.source), nodes.get(a.destination)
            if s and d and s.care_level >= 2:  # the hospitals' arrows; centres' would hide all
                lines.append(
                    svgmap.Line(
                        (s.latitude or 0, s.longitude or 0),
                        (d.latitude or 0, d.longitude or 0),
                        weight=0.5,
                        colour="#90a4ae",
                        css_class="designated",
                        title=f"{s.name} → {d.name}",
                    )
                )
    for f in drawn.flows:
        s, d = nodes.get(f.source), nodes.get(f.destination)
        if not (s and d):
            continue
        outside = f.outside_map > f.along_map
        lines.append(
            svgmap.Line(
                (s.latitude or 0, s.longitude or 0),
                (d.latitude or 0, d.longitude or 0),
                weight=float(f.referrals),
                colour=OUTSIDE_COLOUR if outside else LEVEL_COLOURS.get(d.care_level, "#37474f"),
                css_class="flow outside" if outside else "flow",
                title=_("{source} → {destination} : {count} références").format(
                    source=s.name, destination=d.name, count=f.referrals
                ),
            )
        )
    points = [
        svgmap.Point(
            n.latitude or 0,
            n.longitude or 0,
            radius={1: 2.2, 2: 4.5, 3: 6.0, 4: 7.5}.get(n.care_level, 3.0),
            colour=LEVEL_COLOURS.get(n.care_level, "#607d8b") if n.offers else "#cfd8dc",
            title=n.name,
            href=f"/establishments/{quote(n.code)}",
            css_class="node offers" if n.offers else "node",
            data={"code": n.code, "level": str(n.care_level)},
        )
        for n in sorted(nodes.values(), key=lambda n: (n.offers, n.care_level))
    ]
    coords = [(n.latitude or 0, n.longitude or 0) for n in nodes.values()]
    return svgmap.render(
        points,
        lines=lines,
        shapes=[
            svgmap.Shape(coast.LAND, css_class="land"),
            svgmap.Shape(coast.COAST, css_class="coast", closed=False),
        ],
        bounds=svgmap.Bounds.around(coords, pad=0.03),
        width=MAP_WIDTH,
        css_class="region-map pathway-map",
        title=_("Références de la spécialité sur la période"),
        unit=_("km"),
        direction=direction(current_locale.get()),
    )


def _date_param(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    try:
        return datetime.fromisoformat(text[:10]).replace(tzinfo=UTC)
    except ValueError:
        return default


def _map_page(
    request: Request,
    db: Session,
    user: PageUser,
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params
    specialty = params.get("specialty") or "cardiology"
    d_start, d_end = service.default_period()
    start = _date_param(params.get("start"), d_start)
    end = _date_param(params.get("end"), d_end - timedelta(days=1)) + timedelta(days=1)
    show_network = params.get("network") == "1"
    drawn = service.draw_map(db, user.principal, specialty, start=start, end=end)
    labels = {level: _("Niveau {level}").format(level=level) for level in (1, 2, 3, 4)}
    bands = [charts.Band(lf.from_level, lf.to_level, lf.referrals) for lf in drawn.levels]
    may_manage = user.principal.can(Permission.PATHWAY_MAP_MANAGE)
    net = network.load(db)
    return render(
        request,
        "pathways/map.html",
        _vocabulary()
        | {
            "drawn": drawn,
            "map_svg": flow_map(drawn, show_network),
            "flow_svg": charts.level_flow(bands, labels, title=_("Références par niveau de soins")),
            "specialties": _specialties(),
            "start": start.date().isoformat(),
            "end": (end - timedelta(days=1)).date().isoformat(),
            "show_network": show_network,
            "names": net.names,
            "may_manage": may_manage,
            "versions": service.list_map_versions(db, user.principal) if may_manage else [],
            "establishments": sorted(net.names.items(), key=lambda cn: cn[1]),
            "network_url": url_with(
                "/pathways/map",
                dict(params),
                network=None if show_network else "1",
            ),
            "problems": problems or [],
            "done": params.get("done"),
        },
        status_code=status_code,
    )


@router.get("/pathways/map")
def map_page(request: Request, db: SessionDep, user: PageUser) -> Response:
    return _map_page(request, db, user)


@router.post("/pathways/map/versions")
def amend_map(request: Request, db: SessionDep, user: PageUser, form: CheckedForm) -> Response:
    exception = MapExceptionIn(
        source=_field(form, "source", 40) or "-",
        specialty=_field(form, "exception_specialty", 40) or None,
        destination=_field(form, "destination", 40) or "-",
        note=_field(form, "note", 300),
    )
    remove = form.get("change") == "remove"
    try:
        change = MapChangeIn(
            reason=_field(form, "reason"),
            add=[] if remove else [exception],
            remove=[exception] if remove else [],
        )
        version = service.amend_map(db, user.principal, change)
    except ValidationError as exc:
        db.rollback()
        return _map_page(request, db, user, problems=_validation_problems(exc), status_code=422)
    except DomainError as exc:
        db.rollback()
        if exc.status_code == 403:
            raise
        return _map_page(request, db, user, problems=[explain(exc)], status_code=exc.status_code)
    specialty = exception.specialty or _field(form, "specialty", 40) or "cardiology"
    return RedirectResponse(
        f"/pathways/map?specialty={quote(specialty)}&done=v{version.number}", status_code=303
    )


# --- beds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BedGroup:
    """One establishment's services in the census, with its totals."""

    code: str
    name: str
    care_level: int
    total: CensusTotal
    level: str
    rows: list[CensusRow]


def _bed_groups(rows: list[CensusRow]) -> list[BedGroup]:
    by_establishment: dict[str, list[CensusRow]] = {}
    for row in rows:
        by_establishment.setdefault(row.establishment, []).append(row)
    groups = []
    for code, items in by_establishment.items():
        total = CensusTotal(
            sum(r.declared for r in items),
            sum(r.occupied for r in items),
            sum(r.free for r in items),
        )
        groups.append(
            BedGroup(
                code,
                items[0].establishment_name,
                items[0].care_level,
                total,
                occupancy_level(total.occupancy).value,
                items,
            )
        )
    return groups


@router.get("/beds")
def beds_page(request: Request, db: SessionDep, user: PageUser) -> Response:
    params = request.query_params
    province = (params.get("province") or "").upper() or None
    specialty = params.get("specialty") or None
    level = params.get("level") or ""
    census = service.census(db, user.principal, province=province, specialty=specialty)
    rows = census.rows
    total = CensusTotal(census.declared, census.occupied, census.free)
    if level in ("1", "2", "3", "4"):  # a view of the same census: totals of what is shown
        rows = [r for r in rows if r.care_level == int(level)]
        total = CensusTotal(
            sum(r.declared for r in rows), sum(r.occupied for r in rows), sum(r.free for r in rows)
        )
    else:
        level = ""
    return render(
        request,
        "pathways/beds.html",
        _vocabulary()
        | {
            "census": census,
            "total": total,
            "total_level": occupancy_level(total.occupancy).value,
            "groups": _bed_groups(rows),
            "province": province or "",
            "specialty": specialty or "",
            "level": level,
            "provinces": [(p.code, p.name) for p in territory.list_provinces(db)],
            "specialties": _specialties(),
        },
    )
