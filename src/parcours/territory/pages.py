"""HTML routes of the establishment registry: the regional overview, the list, one establishment.

The pages call the same service functions as the JSON API and only translate
between forms and the service's inputs: a refused change comes back on the same
page with the user's input kept and the service's own message, so that a desk
agent on a slow link never retypes a form.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from parcours.access.rules import Permission, Principal
from parcours.access.service import require
from parcours.errors import DomainError
from parcours.territory import service
from parcours.territory.models import Commune, Province, Specialty
from parcours.territory.rules import (
    CARE_LEVEL_LABELS,
    Category,
    EstablishmentType,
    Status,
    can_move,
)
from parcours.territory.schemas import (
    CloseIn,
    EstablishmentIn,
    EstablishmentOut,
    EstablishmentUpdate,
    ServiceIn,
)
from parcours.web import coast, svgmap
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import current_locale, direction
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain, pager
from parcours.web.place_names import place_name
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)

LOCAL_TIME = ZoneInfo("Africa/Casablanca")

PAGE_SIZE = 50
FILTER_FIELDS = ("q", "type", "category", "province", "specialty", "status", "care_level")


def _today() -> date:
    """The date on the region's calendar (a close at 00:30 belongs to the new day there)."""
    return datetime.now(LOCAL_TIME).date()


# --- the maps --------------------------------------------------------------


@dataclass(frozen=True)
class MarkSizes:
    """Radii of the marks of one map, in its units: (visible, hit) by category."""

    health_centre: tuple[float, float]
    hospital: tuple[float, float]
    chu: tuple[float, float]

    def of(self, category: Category) -> tuple[float, float]:
        return {
            Category.HEALTH_CENTRE: self.health_centre,
            Category.HOSPITAL: self.hospital,
            Category.CHU: self.chu,
        }[category]


# Hospitals stand out from the hundreds of centres drawn under them; every mark takes
# taps a little beyond its edge (the stylesheet enlarges marks on small screens).
REGION_MARKS = MarkSizes(health_centre=(2.6, 5.0), hospital=(5.0, 7.0), chu=(7.0, 9.0))
ZOOM_MARKS = MarkSizes(health_centre=(4.0, 7.0), hospital=(6.5, 9.0), chu=(8.5, 11.0))
# Z-order: centres first, then hospitals, the CHU last (on top, always clickable).
DRAW_ORDER = {Category.HEALTH_CENTRE: 0, Category.HOSPITAL: 1, Category.CHU: 2}

# The dense urban north-west, drawn again at about 3.5 times the scale of the region.
ZOOM_BOUNDS = svgmap.Bounds(south=35.52, west=-5.95, north=35.92, east=-5.22)
ZOOM_MIN_MARKS = 20  # fewer (a user who sees one province elsewhere): no zoom map


def _symbols(prefix: str, sizes: MarkSizes) -> dict[str, svgmap.Symbol]:
    """One symbol per type (its colour, its category's size), keyed ``prefix`` + index."""
    symbols = {}
    for index, t in enumerate(EstablishmentType):
        radius, hit = sizes.of(t.category)
        symbols[f"{prefix}{index}"] = svgmap.Symbol(radius, t.info.colour, hit)
    return symbols


def _symbol_of(prefix: str, etype: EstablishmentType) -> str:
    return f"{prefix}{list(EstablishmentType).index(etype)}"


def _coast_shapes() -> list[svgmap.Shape]:
    return [
        svgmap.Shape(coast.LAND, css_class="land"),
        svgmap.Shape(coast.COAST, css_class="coast", closed=False),
    ]


def _province_labels(provinces: Sequence[Province]) -> list[svgmap.Label]:
    return [svgmap.Label(p.latitude, p.longitude, place_name(p.chef_lieu)) for p in provinces]


def _in(bounds: svgmap.Bounds, lat: float, lon: float) -> bool:
    return bounds.south <= lat <= bounds.north and bounds.west <= lon <= bounds.east


REGION_WIDTH = 900
REGION_MARGIN = 24


def _region_bounds(
    points: Sequence[service.MapPoint], provinces: Sequence[Province]
) -> svgmap.Bounds | None:
    coords = [(p.latitude, p.longitude) for p in points]
    coords += [(p.latitude, p.longitude) for p in provinces]
    return svgmap.Bounds.around(coords, pad=0.03) if coords else None


def region_map(points: Sequence[service.MapPoint], provinces: Sequence[Province]) -> Markup:
    """Every open establishment placed by its coordinates, on land, the chefs-lieux named.

    Each mark is a link to its establishment with the hooks that tests and the zoom
    map's script find it by: ``.establishment[data-code][data-type]``. Centres are
    drawn first, hospitals over them, the CHU last.
    """
    bounds = _region_bounds(points, provinces)
    if bounds is None:
        return Markup("")
    ordered = sorted(points, key=lambda p: DRAW_ORDER[p.type.category])
    marks = [
        svgmap.Point(
            p.latitude,
            p.longitude,
            title=p.name,
            href=f"/establishments/{quote(p.code)}",
            css_class="establishment",
            data={"code": p.code, "type": p.type.value},
            symbol=_symbol_of("m", p.type),
        )
        for p in ordered
    ]
    return svgmap.render(
        marks,
        _province_labels(provinces),
        shapes=_coast_shapes(),
        symbols=_symbols("m", REGION_MARKS),
        bounds=bounds,
        width=REGION_WIDTH,
        margin=REGION_MARGIN,
        css_class="region-map",
        title=_("Carte des établissements en service"),
        unit=_("km"),
        direction=direction(current_locale.get()),
    )


def zoom_map(
    points: Sequence[service.MapPoint],
    provinces: Sequence[Province],
    communes: Sequence[Commune],
) -> Markup:
    """Tanger and Tétouan at about 3.5 times the scale, where the region map piles marks up.

    The page carries this drawing without its marks: the browser copies them from
    the region map (static/js/parcours.js), moved by the affine map in
    ``data-affine`` and drawn with this map's larger symbols, since each mark
    would otherwise weigh twice in a page read over slow links. Drawn only when
    the reader sees enough of the area to need it.
    """
    bounds = _region_bounds(points, provinces)
    inside = [p for p in points if _in(ZOOM_BOUNDS, p.latitude, p.longitude)]
    if bounds is None or len(inside) < ZOOM_MIN_MARKS:
        return Markup("")
    names: dict[str, tuple[float, float]] = {}
    for p in provinces:
        names.setdefault(p.chef_lieu, (p.latitude, p.longitude))
    for c in communes:
        names.setdefault(c.name, (c.latitude, c.longitude))
    labels = [
        svgmap.Label(lat, lon, place_name(name))
        for name, (lat, lon) in names.items()
        if _in(ZOOM_BOUNDS, lat, lon)
    ]
    source = svgmap.Projection(bounds, REGION_WIDTH, None, REGION_MARGIN)
    target = svgmap.Projection(ZOOM_BOUNDS, REGION_WIDTH, None, REGION_MARGIN)
    ax, bx, ay, by = svgmap.affine(source, target)
    return svgmap.render(
        (),
        labels,
        shapes=_coast_shapes(),
        symbols=_symbols("z", ZOOM_MARKS),
        bounds=ZOOM_BOUNDS,
        width=REGION_WIDTH,
        margin=REGION_MARGIN,
        css_class="zoom-map",
        title=_("Agrandissement : Tanger et Tétouan"),
        unit=_("km"),
        direction=direction(current_locale.get()),
        graticule=0.1,
        avoid=[
            svgmap.Point(p.latitude, p.longitude, symbol=_symbol_of("z", p.type)) for p in inside
        ],
        attrs={
            "data-zoom-of": "region-map",
            "data-affine": f"{ax:.5f} {bx:.3f} {ay:.5f} {by:.3f}",
            "data-symbols": "m z",
        },
    )


def locator_map(est: EstablishmentOut, provinces: Sequence[Province]) -> Markup:
    """Where one establishment lies in the region."""
    if est.latitude is None or est.longitude is None:
        return Markup("")
    etype = EstablishmentType(est.type)
    here = svgmap.Point(
        est.latitude,
        est.longitude,
        radius=8,
        colour=etype.info.colour,
        title=est.name,
        css_class="establishment here",
        data={"code": est.code, "type": etype.value},
    )
    labels = _province_labels(provinces)
    coords = [(here.lat, here.lon)] + [(lb.lat, lb.lon) for lb in labels]
    return svgmap.render(
        [here],
        labels,
        shapes=_coast_shapes(),
        bounds=svgmap.Bounds.around(coords, pad=0.08),
        width=480,
        margin=14,
        css_class="locator-map",
        title=_("Situation de l'établissement dans la région"),
        unit=_("km"),
        direction=direction(current_locale.get()),
        graticule=None,
    )


def _per_10k(count: int, population: int) -> str:
    """Establishments per 10,000 inhabitants, two decimals (the figures are below one)."""
    if not population:
        return "—"
    return f"{count * 10_000 / population:.2f}".replace(".", ",")


# --- overview --------------------------------------------------------------


@router.get("/overview")
def overview(request: Request, db: SessionDep, user: PageUser) -> Response:
    principal = user.principal
    summary = service.summary(db, principal)
    provinces = service.list_provinces(db)
    points = service.map_points(db, principal)
    on_map = Counter(p.type for p in points)
    province_rows = [
        {
            "province": p,
            "count": summary.by_province.get(p.code, 0),
            "per_10k": _per_10k(summary.by_province.get(p.code, 0), p.population_2024),
        }
        for p in provinces
    ]
    return render(
        request,
        "territory/overview.html",
        {
            "summary": summary,
            "types": list(EstablishmentType),
            "care_levels": CARE_LEVEL_LABELS,
            "province_rows": province_rows,
            "region_per_10k": _per_10k(summary.total, summary.population),
            "map": region_map(points, provinces),
            "zoom": zoom_map(points, provinces, service.list_communes(db)),
            "legend": [(t, on_map[t]) for t in EstablishmentType if on_map[t]],
            "placed": len(points),
            "today": _today(),
        },
    )


# --- the list --------------------------------------------------------------

E = TypeVar("E")


def _choice(raw: str | None, parse: Callable[[str], E]) -> tuple[E | None, str]:
    """A filter value and its echo, or nothing when absent or not one of the choices."""
    raw = (raw or "").strip()
    if not raw:
        return None, ""
    try:
        return parse(raw), raw
    except (ValueError, KeyError):
        return None, ""


@dataclass(frozen=True)
class ListQuery:
    filters: service.EstablishmentFilter
    values: dict[str, str]  # the accepted values, echoed in the form and kept by page links
    page: int


def parse_list_query(
    params: Mapping[str, str], provinces: set[str], specialties: set[str]
) -> ListQuery:
    """Read the filters of the list; a value that is not one of the choices is ignored."""

    def member(known: set[str]) -> Callable[[str], str]:
        def check(value: str) -> str:
            if value not in known:
                raise ValueError(value)
            return value

        return check

    def level(value: str) -> int:
        number = int(value)
        if number not in CARE_LEVEL_LABELS:
            raise ValueError(value)
        return number

    q = (params.get("q") or "").strip()[:100]
    type_, type_raw = _choice(params.get("type"), EstablishmentType)
    category, category_raw = _choice(params.get("category"), Category)
    province, province_raw = _choice((params.get("province") or "").upper(), member(provinces))
    specialty, specialty_raw = _choice(params.get("specialty"), member(specialties))
    status, status_raw = _choice(params.get("status"), Status)
    care_level, care_level_raw = _choice(params.get("care_level"), level)
    page, _raw = _choice(params.get("page"), int)
    return ListQuery(
        filters=service.EstablishmentFilter(
            q=q or None,
            type=type_,
            category=category,
            care_level=care_level,
            province=province,
            specialty=specialty,
            status=status,
        ),
        values={
            "q": q,
            "type": type_raw,
            "category": category_raw,
            "province": province_raw,
            "specialty": specialty_raw,
            "status": status_raw,
            "care_level": care_level_raw,
        },
        page=max(page or 1, 1),
    )


@router.get("/establishments")
def establishment_list(request: Request, db: SessionDep, user: PageUser) -> Response:
    provinces = service.list_provinces(db)
    specialties = service.list_specialties(db)
    query = parse_list_query(
        request.query_params, {p.code for p in provinces}, {s.code for s in specialties}
    )
    result = service.search_establishments(db, user.principal, query.filters, query.page, PAGE_SIZE)
    kept = {k: v for k, v in query.values.items() if v}
    return render(
        request,
        "territory/establishments.html",
        {
            "result": result,
            "values": query.values,
            "filtered": bool(kept),
            "pager": pager("/establishments", kept, result.page, result.page_size, result.total),
            "types": list(EstablishmentType),
            "categories": list(Category),
            "statuses": list(Status),
            "care_levels": CARE_LEVEL_LABELS,
            "provinces": provinces,
            "province_names": {p.code: p.name for p in provinces},
            "specialties": specialties,
            "can_create": user.principal.can(Permission.ESTABLISHMENT_CREATE),
        },
    )


# --- forms -----------------------------------------------------------------


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _optional(
    form: Mapping[str, str], name: str, label: str, parse: Callable[[str], E], problems: list[str]
) -> E | None:
    raw = _text(form, name).replace(",", ".") if parse is float else _text(form, name)
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        problems.append(
            _("« {field} » : valeur invalide ({value}).").format(field=label, value=raw)
        )
        return None


def _services(
    form: Mapping[str, str], specialties: Sequence[Specialty], problems: list[str]
) -> list[ServiceIn]:
    lines: list[ServiceIn] = []
    for spec in specialties:
        if not form.get(f"svc_{spec.code}"):
            continue
        beds = _optional(form, f"beds_{spec.code}", _(spec.name), int, problems) or 0
        if beds < 0:
            problems.append(
                _("« {field} » : le nombre de lits ne peut être négatif.").format(
                    field=_(spec.name)
                )
            )
            beds = 0
        lines.append(ServiceIn(specialty=spec.code, beds=min(beds, 5000)))
    return lines


def _validated(model: type[BaseModel], data: dict[str, Any], problems: list[str]) -> Any:
    """The model built from ``data``, or None with the reasons added to ``problems``."""
    try:
        return model(**data)
    except ValidationError as exc:
        for err in exc.errors():
            field = FIELD_LABELS().get(str(err["loc"][0]), str(err["loc"][0])) if err["loc"] else ""
            problems.append(_("« {field} » : valeur refusée.").format(field=field))
        return None


def _reason(form: Mapping[str, str], problems: list[str]) -> str:
    reason = _text(form, "reason")
    if len(reason) < 3:
        problems.append(
            _("Indiquez le motif (3 caractères au moins) : il est gardé dans l'historique.")
        )
    return reason


def parse_update(
    form: Mapping[str, str],
    current: EstablishmentOut,
    specialties: Sequence[Specialty],
    may_reclassify: bool,
) -> tuple[EstablishmentUpdate | None, list[str]]:
    """The change a submitted edit form asks for, or what is wrong with it."""
    problems: list[str] = []
    labels = FIELD_LABELS()
    name = _text(form, "name")
    if not name:
        problems.append(_("Le nom est obligatoire."))
    data: dict[str, Any] = {
        "name": name or current.name,
        "name_ar": _text(form, "name_ar") or None,
        "town": _text(form, "town"),
        "phone": _text(form, "phone"),
        "address": _text(form, "address"),
        "latitude": _optional(form, "latitude", labels["latitude"], float, problems),
        "longitude": _optional(form, "longitude", labels["longitude"], float, problems),
        "services": _services(form, specialties, problems),
    }
    population = _optional(
        form, "catchment_population", labels["catchment_population"], int, problems
    )
    if population is not None:
        data["catchment_population"] = population
    status = _optional(form, "status", labels["status"], Status, problems)
    if status is not None and status != current.status:
        data["status"] = status
    opened_on = _optional(form, "opened_on", labels["opened_on"], date.fromisoformat, problems)
    if opened_on is not None and opened_on != current.opened_on:
        data["opened_on"] = opened_on
    if may_reclassify:
        etype = _optional(form, "type", labels["type"], EstablishmentType, problems)
        if etype is not None and etype != current.type:
            data["type"] = etype
        province = _text(form, "province").upper()
        if province and province != current.province:
            data["province"] = province
    data["reason"] = _reason(form, problems)
    update = _validated(EstablishmentUpdate, data, problems)
    return (None, problems) if problems else (update, [])


def parse_create(
    form: Mapping[str, str], specialties: Sequence[Specialty]
) -> tuple[EstablishmentIn | None, list[str]]:
    problems: list[str] = []
    labels = FIELD_LABELS()
    for required in ("code", "name", "type", "province"):
        if not _text(form, required):
            problems.append(_("« {field} » est obligatoire.").format(field=labels[required]))
    data: dict[str, Any] = {
        "code": _text(form, "code").upper(),
        "name": _text(form, "name"),
        "name_ar": _text(form, "name_ar") or None,
        "type": _optional(form, "type", labels["type"], EstablishmentType, problems),
        "province": _text(form, "province").upper(),
        "town": _text(form, "town"),
        "address": _text(form, "address"),
        "phone": _text(form, "phone"),
        "latitude": _optional(form, "latitude", labels["latitude"], float, problems),
        "longitude": _optional(form, "longitude", labels["longitude"], float, problems),
        "catchment_population": _optional(
            form, "catchment_population", labels["catchment_population"], int, problems
        ),
        "status": _optional(form, "status", labels["status"], Status, problems) or Status.OPEN,
        "opened_on": _optional(
            form, "opened_on", labels["opened_on"], date.fromisoformat, problems
        ),
        "planned_opening_on": _optional(
            form,
            "planned_opening_on",
            labels["planned_opening_on"],
            date.fromisoformat,
            problems,
        ),
        "services": _services(form, specialties, problems),
    }
    if problems:
        return None, problems
    created = _validated(EstablishmentIn, data, problems)
    return (None, problems) if problems else (created, [])


def parse_close(form: Mapping[str, str]) -> tuple[CloseIn | None, list[str]]:
    problems: list[str] = []
    closed_on = _optional(
        form, "closed_on", FIELD_LABELS()["closed_on"], date.fromisoformat, problems
    )
    if closed_on is None and not problems:
        problems.append(_("Indiquez la date de fermeture."))
    reason = _reason(form, problems)
    if problems:
        return None, problems
    return _validated(CloseIn, {"closed_on": closed_on, "reason": reason}, problems), problems


def form_from(est: EstablishmentOut) -> dict[str, str]:
    """The edit form filled with what the registry holds."""
    form = {
        "name": est.name,
        "name_ar": est.name_ar or "",
        "type": est.type.value,
        "province": est.province,
        "town": est.town,
        "phone": est.phone,
        "address": est.address,
        "latitude": "" if est.latitude is None else f"{est.latitude:.5f}",
        "longitude": "" if est.longitude is None else f"{est.longitude:.5f}",
        "catchment_population": ""
        if est.catchment_population is None
        else str(est.catchment_population),
        "status": est.status.value,
        "opened_on": est.opened_on.isoformat() if est.opened_on else "",
        "reason": "",
    }
    for line in est.services:
        form[f"svc_{line.specialty}"] = "on"
        form[f"beds_{line.specialty}"] = str(line.beds)
    return form


# --- history ---------------------------------------------------------------


def FIELD_LABELS() -> dict[str, str]:  # noqa: N802 - reads as the constant it stands for
    """Field names as people call them, in the reader's language (hence a function)."""
    return {
        "code": _("Code"),
        "name": _("Nom"),
        "name_ar": _("Nom en arabe"),
        "type": _("Type"),
        "province": _("Province ou préfecture"),
        "town": _("Localité"),
        "address": _("Adresse"),
        "phone": _("Téléphone"),
        "latitude": _("Latitude"),
        "longitude": _("Longitude"),
        "catchment_population": _("Population desservie"),
        "status": _("Statut"),
        "opened_on": _("Date d'ouverture"),
        "closed_on": _("Date de fermeture"),
        "planned_opening_on": _("Ouverture prévue"),
        "services": _("Services"),
        "reason": _("Motif"),
    }


def _shown(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "status":
        return _(Status(value).label) if value in Status._value2member_map_ else str(value)
    if key == "type":
        known = EstablishmentType._value2member_map_
        return _(EstablishmentType(value).label) if value in known else str(value)
    if key.endswith("_on"):
        try:
            return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
        except ValueError:
            return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "\u202f")
    return str(value)


def describe_changes(changes: Mapping[str, Sequence[Any]], names: Mapping[str, str]) -> list[str]:
    """One line per changed field (one per service for the services), for the history."""
    labels = FIELD_LABELS()
    lines: list[str] = []
    for key, (before, after) in changes.items():
        if key == "services":
            old: Mapping[str, int] = before or {}
            new: Mapping[str, int] = after or {}
            for code in sorted(set(old) | set(new), key=lambda c: _(names.get(c, c))):
                label = _(names.get(code, code))
                if code not in old:
                    lines.append(
                        _("Service ajouté : {service} ({beds} lits)").format(
                            service=label, beds=new[code]
                        )
                    )
                elif code not in new:
                    lines.append(_("Service retiré : {service}").format(service=label))
                elif old[code] != new[code]:
                    lines.append(
                        _("{service} : lits {before} → {after}").format(
                            service=label, before=old[code], after=new[code]
                        )
                    )
            continue
        lines.append(
            _("{field} : {before} → {after}").format(
                field=labels.get(key, key), before=_shown(key, before), after=_shown(key, after)
            )
        )
    return lines


def CHANGE_LABELS() -> dict[str, str]:  # noqa: N802
    return {
        "create": _("Création"),
        "update": _("Modification"),
        "close": _("Fermeture"),
    }


# --- one establishment -----------------------------------------------------


def _may_edit(principal: Principal, est: EstablishmentOut) -> bool:
    return principal.can_at(Permission.ESTABLISHMENT_UPDATE, est.code, est.province)


def _status_choices(current: Status) -> list[Status]:
    """The current status and where the edit form may move it; closing has its own form."""
    return [s for s in Status if s is current or (s is not Status.CLOSED and can_move(current, s))]


def _establishment_page(
    request: Request,
    db: Session,
    user: PageUser,
    code: str,
    *,
    form: Mapping[str, str] | None = None,
    problems: Sequence[str] = (),
    close_form: Mapping[str, str] | None = None,
    close_problems: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    principal = user.principal
    est = service.get_establishment(db, principal, code)
    names = service.specialty_names(db)
    provinces = service.list_provinces(db)
    versions = [
        {
            "version": v,
            "label": CHANGE_LABELS().get(v.change, v.change),
            "lines": [] if v.change == "create" else describe_changes(v.changes, names),
        }
        for v in reversed(service.history(db, principal, est.code))
    ]
    return render(
        request,
        "territory/establishment.html",
        {
            "est": est,
            "etype": EstablishmentType(est.type),
            "province": next((p for p in provinces if p.code == est.province), None),
            "provinces": provinces,
            "care_level_label": CARE_LEVEL_LABELS.get(est.care_level, ""),
            "locator": locator_map(est, provinces),
            "versions": versions,
            "can_edit": _may_edit(principal, est),
            "may_reclassify": principal.can(Permission.ESTABLISHMENT_CREATE),
            "can_close": _may_edit(principal, est) and est.status is not Status.CLOSED,
            "form": form if form is not None else form_from(est),
            "problems": problems,
            "close_form": close_form or {"closed_on": _today().isoformat(), "reason": ""},
            "close_problems": close_problems,
            "specialties": service.list_specialties(db),
            "types": list(EstablishmentType),
            "status_choices": _status_choices(est.status),
            "saved": request.query_params.get("saved"),
            "page_url": f"/establishments/{quote(est.code)}",
        },
        status_code=status_code,
    )


@router.get("/establishments/new")
def establishment_new(request: Request, db: SessionDep, user: PageUser) -> Response:
    require(user.principal, Permission.ESTABLISHMENT_CREATE)
    return _new_page(request, db, {"status": Status.OPEN.value}, [])


def _new_page(
    request: Request,
    db: Session,
    form: Mapping[str, str],
    problems: Sequence[str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "territory/establishment_new.html",
        {
            "form": form,
            "problems": problems,
            "types": list(EstablishmentType),
            "statuses": [s for s in Status if s is not Status.CLOSED],
            "provinces": service.list_provinces(db),
            "specialties": service.list_specialties(db),
            "page_url": "/establishments/new",
        },
        status_code=status_code,
    )


@router.post("/establishments/new")
def establishment_create(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm
) -> Response:
    require(user.principal, Permission.ESTABLISHMENT_CREATE)
    data, problems = parse_create(form, service.list_specialties(db))
    if data is None:
        return _new_page(request, db, form, problems, 422)
    try:
        est = service.create_establishment(db, user.principal, data)
    except DomainError as exc:
        db.rollback()
        return _new_page(request, db, form, [explain(exc)], exc.status_code)
    return RedirectResponse(f"/establishments/{quote(est.code)}?saved=created", status_code=303)


@router.get("/establishments/{code}")
def establishment_detail(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    return _establishment_page(request, db, user, code)


@router.post("/establishments/{code}/edit")
def establishment_edit(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, code: str
) -> Response:
    current = service.get_establishment(db, user.principal, code)
    update, problems = parse_update(
        form,
        current,
        service.list_specialties(db),
        may_reclassify=user.principal.can(Permission.ESTABLISHMENT_CREATE),
    )
    if update is None:
        return _establishment_page(
            request, db, user, code, form=form, problems=problems, status_code=422
        )
    try:
        service.update_establishment(db, user.principal, current.code, update)
    except DomainError as exc:
        db.rollback()
        return _establishment_page(
            request, db, user, code, form=form, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse(
        f"/establishments/{quote(current.code)}?saved=updated#history", status_code=303
    )


@router.post("/establishments/{code}/close")
def establishment_close(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, code: str
) -> Response:
    current = service.get_establishment(db, user.principal, code)
    data, problems = parse_close(form)
    if data is None:
        return _establishment_page(
            request, db, user, code, close_form=form, close_problems=problems, status_code=422
        )
    try:
        service.close_establishment(db, user.principal, current.code, data)
    except DomainError as exc:
        db.rollback()
        return _establishment_page(
            request,
            db,
            user,
            code,
            close_form=form,
            close_problems=[explain(exc)],
            status_code=exc.status_code,
        )
    return RedirectResponse(
        f"/establishments/{quote(current.code)}?saved=closed#history", status_code=303
    )
