"""HTML routes of the regional workforce: the overview, the gaps map, the professional's file,
an establishment's staff, a service's roster, the mobility inbox and each request.

The pages call the same service functions as the JSON API; a refused step comes
back on the request's page with the service's own message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from starlette.responses import Response

from parcours.access.rules import Permission
from parcours.db import utcnow
from parcours.errors import DomainError, Invalid
from parcours.territory import service as territory
from parcours.web import coast, svgmap
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import current_locale, direction
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain, pager
from parcours.web.place_names import place_name
from parcours.web.templating import render
from parcours.workforce import rules, service
from parcours.workforce.rules import (
    CATEGORY_LABELS,
    DENSITY_GROUP_LABELS,
    Category,
    DutyKind,
    Initiator,
    MobilityAction,
    MobilityKind,
    MobilityState,
    Opinion,
)
from parcours.workforce.schemas import GapReport, MobilityIn, MobilityStepIn

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Colours of an establishment on the gaps map, by the share of its norm that is staffed.
COVERAGE_COLOURS = (
    (0.5, "#b71c1c"),
    (0.8, "#ef6c00"),
    (1.0, "#f9a825"),
    (float("inf"), "#2e7d32"),
)


def _legend() -> list[tuple[str, str]]:
    labels = (
        _("moins de la moitié de la norme"),
        _("de 50 à 80 % de la norme"),
        _("de 80 à 100 % de la norme"),
        _("norme atteinte"),
    )
    return [
        (colour, label) for (_limit, colour), label in zip(COVERAGE_COLOURS, labels, strict=True)
    ]


def _colour(coverage: float | None) -> str:
    if coverage is None:
        return "#2e7d32"
    return next(colour for limit, colour in COVERAGE_COLOURS if coverage < limit)


def _specialties(db: SessionDep) -> dict[str, str]:
    return territory.specialty_names(db)


# --- overview --------------------------------------------------------------------------


@router.get("/workforce")
def overview(request: Request, db: SessionDep, user: PageUser) -> Response:
    out = service.overview(db, user.principal)
    provinces = territory.list_provinces(db)
    region = out.density[-1]
    return render(
        request,
        "workforce/overview.html",
        {
            "o": out,
            "provinces": provinces,
            "categories": list(Category),
            "region": region,
            "density_rows": out.density[:-1],
            "groups": DENSITY_GROUP_LABELS,
            "hr": user.principal.can(Permission.WORKFORCE_READ),
        },
    )


# --- gaps ------------------------------------------------------------------------------


def _gap_map(report: GapReport, db: SessionDep) -> Markup:
    nodes = {n.code: n for n in territory.network(db)}
    points = []
    for e in sorted(report.establishments, key=lambda e: -e.required):
        node = nodes.get(e.establishment)
        if node is None or node.latitude is None or node.longitude is None or not e.required:
            continue
        coverage = e.present / e.required if e.required else None
        points.append(
            svgmap.Point(
                node.latitude,
                node.longitude,
                radius=3.0 + min(9.0, e.required**0.5),
                colour=_colour(coverage),
                title=f"{e.name} : {_('présents')} {e.present:g} / {_('norme')} {e.required:g}",
                href=f"/workforce/establishments/{quote(e.establishment)}",
                css_class="gap-mark",
                data={"code": e.establishment, "deficit": f"{e.deficit:g}"},
            )
        )
    provinces = territory.list_provinces(db)
    labels = [svgmap.Label(p.latitude, p.longitude, place_name(p.chef_lieu)) for p in provinces]
    coords = [(p.lat, p.lon) for p in points] + [(lb.lat, lb.lon) for lb in labels]
    if not coords:
        return Markup("")
    return svgmap.render(
        points,
        labels,
        shapes=[
            svgmap.Shape(coast.LAND, css_class="land"),
            svgmap.Shape(coast.COAST, css_class="coast", closed=False),
        ],
        bounds=svgmap.Bounds.around(coords, pad=0.03),
        width=900,
        margin=24,
        css_class="region-map gaps-map",
        title=_("Carte des écarts à la norme"),
        unit=_("km"),
        direction=direction(current_locale.get()),
    )


def _choice(params: Mapping[str, str], name: str, known: set[str]) -> str:
    value = (params.get(name) or "").strip()
    return value if value in known else ""


@router.get("/workforce/gaps")
def gaps(request: Request, db: SessionDep, user: PageUser) -> Response:
    params = request.query_params
    specialties = _specialties(db)
    provinces = territory.list_provinces(db)
    versions = service.list_norm_versions(db, user.principal)
    specialty = _choice(params, "specialty", set(specialties))
    category = _choice(params, "category", {c.value for c in Category})
    province = _choice(params, "province", {p.code for p in provinces})
    version = _choice(params, "version", {str(v.number) for v in versions})
    report = None
    if versions:
        report = service.gap_report(
            db,
            user.principal,
            version=int(version) if version else None,
            service=specialty or None,
            category=Category(category) if category else None,
            province=province or None,
        )
    names = {n.code: n.name for n in territory.network(db)}
    return render(
        request,
        "workforce/gaps.html",
        {
            "report": report,
            "map": _gap_map(report, db) if report else Markup(""),
            "values": {
                "specialty": specialty,
                "category": category,
                "province": province,
                "version": version,
            },
            "specialties": specialties,
            "categories": list(Category),
            "provinces": provinces,
            "province_names": {p.code: p.name for p in provinces},
            "versions": versions,
            "names": names,
            "below": [e for e in report.establishments if e.deficit > 0] if report else [],
            "lines": sorted(
                (line for line in report.lines if line.gap < 0),
                key=lambda line: (line.gap, line.establishment),
            )[:200]
            if report
            else [],
            "legend": _legend(),
        },
    )


# --- professionals ---------------------------------------------------------------------


@router.get("/workforce/professionals")
def professionals(request: Request, db: SessionDep, user: PageUser) -> Response:
    params = request.query_params
    specialties = _specialties(db)
    provinces = territory.list_provinces(db)
    q = (params.get("q") or "").strip()[:100]
    category = _choice(params, "category", {c.value for c in Category})
    specialty = _choice(params, "specialty", set(specialties))
    province = _choice(params, "province", {p.code for p in provinces})
    establishment = (params.get("establishment") or "").strip().upper()[:40]
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        page = 1
    result = service.search_professionals(
        db,
        user.principal,
        service.ProfessionalFilter(
            q or None,
            Category(category) if category else None,
            specialty or None,
            establishment or None,
            province or None,
        ),
        page,
        PAGE_SIZE,
    )
    values = {
        "q": q,
        "category": category,
        "specialty": specialty,
        "province": province,
        "establishment": establishment,
    }
    kept = {k: v for k, v in values.items() if v}
    return render(
        request,
        "workforce/professionals.html",
        {
            "result": result,
            "values": values,
            "pager": pager("/workforce/professionals", kept, result.page, PAGE_SIZE, result.total),
            "categories": list(Category),
            "specialties": specialties,
            "provinces": provinces,
        },
    )


def _file_context(
    db: SessionDep, user: PageUser, professional_id: int, **extra: Any
) -> dict[str, Any]:
    file = service.professional_file(db, user.principal, professional_id)
    nodes = sorted(
        (
            n
            for n in territory.network(db)
            if n.is_open and n.type.category.value != "health_centre"
        ),
        key=lambda n: (n.province, n.name),
    )
    return {
        "f": file,
        "specialties": _specialties(db),
        "may_write": user.principal.can(Permission.WORKFORCE_WRITE),
        "targets": [(n.code, n.name) for n in nodes],
        "kinds": list(MobilityKind),
        "initiators": list(Initiator),
        "form": {},
        "problems": [],
    } | extra


@router.get("/workforce/professionals/{professional_id}")
def professional(
    request: Request, db: SessionDep, user: PageUser, professional_id: int
) -> Response:
    return render(request, "workforce/professional.html", _file_context(db, user, professional_id))


@router.post("/workforce/professionals/{professional_id}/mobility")
def request_mobility(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, professional_id: int
) -> Response:
    try:
        data = MobilityIn(
            professional_id=professional_id,
            kind=MobilityKind(form.get("kind") or "transfer"),
            initiator=Initiator(form.get("initiator") or "establishment"),
            to_establishment=(form.get("to_establishment") or "").strip(),
            to_service=(form.get("to_service") or "").strip(),
            share=int(form.get("share") or 100),
            motive=(form.get("motive") or "").strip(),
        )
        out = service.submit_mobility(db, user.principal, data)
    except (ValueError, ValidationError):
        db.rollback()
        context = _file_context(
            db,
            user,
            professional_id,
            form=form,
            problems=[_("Indiquez l'établissement d'accueil et le motif de la demande.")],
        )
        return render(request, "workforce/professional.html", context, status_code=422)
    except DomainError as exc:
        db.rollback()
        context = _file_context(db, user, professional_id, form=form, problems=[explain(exc)])
        return render(request, "workforce/professional.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/workforce/mobility/{out.id}?done=submit", status_code=303)


# --- an establishment's staff, a service's roster --------------------------------------


@router.get("/workforce/establishments/{code}")
def establishment(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    est = territory.get_establishment(db, user.principal, code)
    staff = service.establishment_staff(db, user.principal, est.code)
    report = (
        service.gap_report(db, user.principal)
        if service.list_norm_versions(db, user.principal)
        else None
    )
    lines = [line for line in report.lines if line.establishment == est.code] if report else []
    by_service: dict[str, list[service.StaffLine]] = {}
    for line in staff:
        by_service.setdefault(line.assignment.service, []).append(line)
    return render(
        request,
        "workforce/establishment.html",
        {
            "est": est,
            "by_service": by_service,
            "lines": lines,
            "specialties": _specialties(db),
            "total_fte": sum(line.assignment.share for line in staff) / 100,
            "count": len({line.professional.id for line in staff}),
            "month": service.today().isoformat()[:7],
        },
    )


@router.get("/workforce/rosters/{code}/{specialty}")
def roster(request: Request, db: SessionDep, user: PageUser, code: str, specialty: str) -> Response:
    month = request.query_params.get("month") or None
    try:
        out = service.roster(db, user.principal, code, specialty, month)
    except Invalid:
        out = service.roster(db, user.principal, code, specialty, None)
    first, nxt = service.parse_month(out.month)
    days: dict[date, list[Any]] = {}
    for s in out.shifts:
        days.setdefault(service.local(s.starts_at).date(), []).append(s)
    previous = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return render(
        request,
        "workforce/roster.html",
        {
            "r": out,
            "days": sorted(days.items()),
            "previous": previous.isoformat()[:7],
            "next": nxt.isoformat()[:7],
            "local": service.local,
            "kinds": {k.value: k.label for k in DutyKind},
            "nights": sum(1 for s in out.shifts if s.is_night),
        },
    )


# --- mobility ------------------------------------------------------------------------


@router.get("/workforce/mobility")
def mobility_inbox(request: Request, db: SessionDep, user: PageUser) -> Response:
    view = request.query_params.get("view") or "mine"
    state_text = request.query_params.get("state") or ""
    state = MobilityState(state_text) if state_text in {s.value for s in MobilityState} else None
    mine = view == "mine" and state is None
    items = service.mobility_inbox(db, user.principal, state=state, mine=mine)
    return render(
        request,
        "workforce/mobility_inbox.html",
        {
            "items": items,
            "view": "mine" if mine else "all",
            "state": state_text if state else "",
            "states": list(MobilityState),
            "delays": service.mobility_delays(db, user.principal),
            "now": utcnow(),
        },
    )


def _request_context(
    db: SessionDep, user: PageUser, request_id: int, **extra: Any
) -> dict[str, Any]:
    r = service.get_mobility(db, user.principal, request_id)
    return {
        "r": r,
        "specialties": _specialties(db),
        "opinions": list(Opinion),
        "today": service.today(),
        "problems": [],
        "done": None,
        "action_labels": {a.value: a.label for a in MobilityAction},
    } | extra


@router.get("/workforce/mobility/{request_id}")
def mobility_request(request: Request, db: SessionDep, user: PageUser, request_id: int) -> Response:
    done = request.query_params.get("done")
    return render(
        request,
        "workforce/mobility.html",
        _request_context(
            db, user, request_id, done=done if done in {a.value for a in MobilityAction} else None
        ),
    )


@router.post("/workforce/mobility/{request_id}/steps")
def mobility_step(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, request_id: int
) -> Response:
    try:
        effective = (form.get("effective_on") or "").strip()
        data = MobilityStepIn(
            action=MobilityAction(form.get("action") or ""),
            opinion=Opinion(form["opinion"]) if form.get("opinion") else None,
            effective_on=date.fromisoformat(effective) if effective else None,
            reason=(form.get("reason") or "").strip() or None,
            expected_version=int(form["expected_version"])
            if form.get("expected_version")
            else None,
        )
        service.mobility_step(db, user.principal, request_id, data)
    except (ValueError, ValidationError):
        db.rollback()
        context = _request_context(
            db, user, request_id, problems=[_("Vérifiez l'avis et la date d'effet.")]
        )
        return render(request, "workforce/mobility.html", context, status_code=422)
    except DomainError as exc:
        db.rollback()
        context = _request_context(db, user, request_id, problems=[explain(exc)])
        return render(request, "workforce/mobility.html", context, status_code=exc.status_code)
    query = urlencode({"done": data.action.value})
    return RedirectResponse(f"/workforce/mobility/{request_id}?{query}", status_code=303)


# --- norms -----------------------------------------------------------------------------


@router.get("/workforce/norms")
def norms(request: Request, db: SessionDep, user: PageUser) -> Response:
    versions = service.list_norm_versions(db, user.principal)
    chosen = request.query_params.get("version") or ""
    number = (
        int(chosen) if chosen.isdigit() and any(v.number == int(chosen) for v in versions) else None
    )
    lines: list[rules.NormLine] = []
    if versions:
        number, lines = service.norm_lines(db, user.principal, number)
    return render(
        request,
        "workforce/norms.html",
        {
            "versions": versions,
            "number": number,
            "lines": lines,
            "specialties": _specialties(db),
            "category_labels": CATEGORY_LABELS,
        },
    )
