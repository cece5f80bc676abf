"""HTML routes of the indicators: the regional dashboard, one per province, establishment and
theme, the definitions (one click from every value), the form to add one, the exports of the
table (CSV, XLSX) and the monthly report (PDF).

Pages call the same service functions as the JSON API; small cells are
suppressed by the service, so no page can show what the API would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from starlette.responses import Response

from parcours.access.rules import Permission
from parcours.errors import DomainError
from parcours.indicators import charts, report, rules, service
from parcours.indicators.rules import Definition, Dimension, Direction, Period, Theme
from parcours.territory import service as territory
from parcours.web import coast, svgmap
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain
from parcours.web.place_names import place_name
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)

CLASS_COLOURS = ("#2e7d32", "#9ccc65", "#ffb74d", "#c62828")
NO_VALUE = "#bdbdbd"


def _legend() -> list[tuple[str, str]]:
    labels = (
        _("le meilleur quart"),
        _("mieux que la médiane"),
        _("moins bien que la médiane"),
        _("le quart le moins bon"),
    )
    return [*zip(CLASS_COLOURS, labels, strict=True), (NO_VALUE, _("sans valeur ou masqué"))]


def unit_href(unit: service.Unit, query: dict[str, str]) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    if unit.level == "region":
        return f"/indicators{suffix}"
    if unit.level == "province":
        return f"/indicators/provinces/{quote(unit.code)}{suffix}"
    return f"/indicators/establishments/{quote(unit.code)}{suffix}"


def _classes(values: Sequence[float], direction: Direction) -> list[float]:
    """Quartile limits, best first."""
    ordered = sorted(values, reverse=direction is Direction.HIGHER)
    n = len(ordered)
    return [ordered[min(n - 1, (n * k) // 4)] for k in (1, 2, 3)]


def _colour(value: float | None, limits: Sequence[float], direction: Direction) -> str:
    if value is None or not limits:
        return NO_VALUE
    for limit, colour in zip(limits, CLASS_COLOURS, strict=False):
        better = value >= limit if direction is Direction.HIGHER else value <= limit
        if better:
            return colour
    return CLASS_COLOURS[-1]


def _map(
    db: SessionDep,
    values: Sequence[tuple[service.Unit, service.Value]],
    info: service.IndicatorInfo,
    query: dict[str, str],
) -> Markup:
    tree = service.tree(db)
    shown = [v.shown for _, v in values if v.shown is not None]
    limits = _classes(shown, info.d.direction) if shown else []
    points = []
    for unit, v in values:
        lat, lon = tree.points.get(unit.code, (None, None))
        if lat is None or lon is None:
            continue
        text = charts.fr(v.shown) if not v.suppressed else _("masqué (moins de 5 personnes)")
        points.append(
            svgmap.Point(
                lat,
                lon,
                radius=4.0 if v.shown is not None else 2.5,
                colour=_colour(v.shown, limits, info.d.direction),
                title=f"{unit.name} : {text} {info.d.unit}",
                href=unit_href(unit, query),
                css_class="indicator-mark",
                data={"code": unit.code},
            )
        )
    provinces = territory.list_provinces(db)
    labels = [svgmap.Label(p.latitude, p.longitude, place_name(p.chef_lieu)) for p in provinces]
    coords = [(p.lat, p.lon) for p in points] + [(lb.lat, lb.lon) for lb in labels]
    if not coords:
        return Markup("")
    # Drawn values first, empty ones under them.
    points.sort(key=lambda p: p.colour != NO_VALUE)
    return svgmap.render(
        points,
        labels,
        shapes=[
            svgmap.Shape(coast.LAND, css_class="land"),
            svgmap.Shape(coast.COAST, css_class="coast", closed=False),
        ],
        bounds=svgmap.Bounds.around(coords, pad=0.03),
        width=760,
        margin=20,
        title=f"{info.d.name} — {_('carte de la région')}",
        css_class="region-map indicator-map",
    )


def _query(period: Period, focus: str | None) -> dict[str, str]:
    out = {"period": period.key}
    if focus:
        out["focus"] = focus
    return out


def _dashboard_page(
    request: Request,
    db: SessionDep,
    user: PageUser,
    *,
    level: str,
    code: str | None = None,
    theme: Theme | None = None,
) -> Response:
    params = request.query_params
    period = service.parse_period(params.get("period"))
    focus = params.get("focus") or None
    board = service.dashboard(
        db,
        user.principal,
        level=level,
        code=code,
        period=period,
        theme=theme,
        focus=focus,
        with_places=level in ("region", "province"),
    )
    query = _query(period, board.focus.d.code)
    series = {
        r.info.d.code: charts.line_chart(
            r.series, title=r.info.d.name, unit=r.info.d.unit, target=r.info.d.target
        )
        for r in board.rows
        if r.series
    }
    c = board.comparison
    comparison_svg = None
    if c is not None:
        comparison_svg = charts.before_after(
            c.before.shown,
            c.after.shown,
            labels=(_("avant le 1er octobre 2025"), _("depuis le 1er octobre 2025")),
            title=f"{c.info.d.name} — {_('avant et depuis le pilote')}",
            unit=c.info.d.unit,
        )
    bars = charts.bars(
        [
            charts.Bar(place_name(u.name), v.shown, unit_href(u, query), u.code)
            for u, v in board.children
        ],
        title=f"{board.focus.d.name} — {board.period.key}",
        unit=board.focus.d.unit,
        target=board.focus.d.target,
        css="bars children-bars",
    )
    map_svg = _map(db, board.places, board.focus, query) if board.places else None
    themes = list(Theme)
    trail: list[service.Unit] = []
    parent = board.parent
    while parent is not None:
        trail.insert(0, parent)
        parent = service.tree(db).parent(parent)
    return render(
        request,
        "indicators/dashboard.html",
        {
            "b": board,
            "query": query,
            "series": series,
            "comparison_svg": comparison_svg,
            "bars": bars if board.children else None,
            "map_svg": map_svg,
            "legend": _legend(),
            "themes": themes,
            "trail": trail,
            "unit_href": unit_href,
            "fr": charts.fr,
            "export_query": urlencode(
                {"level": level, "code": code or "", "period": period.key, "theme": theme or ""}
            ),
            "by_theme": _by_theme(board.rows),
            "can_manage": user.principal.can(Permission.INDICATORS_MANAGE),
        },
    )


def _by_theme(rows: Sequence[service.Row]) -> list[tuple[Theme, list[service.Row]]]:
    out: dict[Theme, list[service.Row]] = {}
    for r in rows:
        out.setdefault(r.info.d.theme, []).append(r)
    return [(t, out[t]) for t in Theme if t in out]


@router.get("/indicators")
def regional_dashboard(request: Request, db: SessionDep, user: PageUser) -> Response:
    return _dashboard_page(request, db, user, level="region")


@router.get("/indicators/provinces/{code}")
def province_dashboard(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    return _dashboard_page(request, db, user, level="province", code=code)


@router.get("/indicators/establishments/{code}")
def establishment_dashboard(
    request: Request, db: SessionDep, user: PageUser, code: str
) -> Response:
    return _dashboard_page(request, db, user, level="establishment", code=code)


@router.get("/indicators/themes/{theme}")
def theme_dashboard(request: Request, db: SessionDep, user: PageUser, theme: Theme) -> Response:
    return _dashboard_page(request, db, user, level="region", theme=theme)


# --- exports of the table, the monthly report -----------------------------------------------


def _table_rows(
    db: SessionDep, user: PageUser, request: Request
) -> tuple[list[service.ExportRow], Period, str]:
    params = request.query_params
    period = service.parse_period(params.get("period"))
    level = params.get("level") or "region"
    code = params.get("code") or None
    theme = Theme(params["theme"]) if params.get("theme") in {t.value for t in Theme} else None
    board = service.dashboard(
        db, user.principal, level=level, code=code, period=period, theme=theme
    )
    rows = [service._export_row(r.info, board.unit, period, r.value) for r in board.rows]
    for unit, value in board.children:
        rows.append(service._export_row(board.focus, unit, period, value))
    name = f"indicateurs-{board.unit.code}-{period.key}"
    return rows, period, name


@router.get("/indicators/table.csv")
def table_csv(request: Request, db: SessionDep, user: PageUser) -> Response:
    rows, _period, name = _table_rows(db, user, request)
    return Response(
        service.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/indicators/table.xlsx")
def table_xlsx(request: Request, db: SessionDep, user: PageUser) -> Response:
    rows, _period, name = _table_rows(db, user, request)
    return Response(
        service.to_xlsx(rows),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/indicators/report.pdf")
def monthly_report(request: Request, db: SessionDep, user: PageUser) -> Response:
    """The printable monthly report for the board of the GST (region and provinces)."""
    period = service.parse_period(request.query_params.get("period"))
    pdf = report.monthly_pdf(db, user.principal, period)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="rapport-{period.key}.pdf"'},
    )


# --- definitions -------------------------------------------------------------------------------


def _definitions_context(db: SessionDep, user: PageUser, **extra: Any) -> dict[str, Any]:
    return {
        "infos": service.list_indicators(db),
        "measures": list(rules.MEASURES.values()),
        "themes": list(Theme),
        "directions": list(Direction),
        "dimensions": list(Dimension),
        "can_manage": user.principal.can(Permission.INDICATORS_MANAGE),
        "form": {},
        "problems": [],
    } | extra


@router.get("/indicators/definitions")
def definitions(request: Request, db: SessionDep, user: PageUser) -> Response:
    return render(request, "indicators/definitions.html", _definitions_context(db, user))


@router.post("/indicators/definitions")
def add_definition(request: Request, db: SessionDep, user: PageUser, form: CheckedForm) -> Response:
    try:
        scale = float((form.get("scale") or "1").replace(",", "."))
        target_text = (form.get("target") or "").replace(",", ".").strip()
        target = float(target_text) if target_text else None
    except ValueError:
        context = _definitions_context(
            db, user, form=form, problems=[_("Le facteur et la cible sont des nombres.")]
        )
        return render(request, "indicators/definitions.html", context, status_code=422)
    try:
        d = Definition(
            code=form.get("code", ""),
            name=form.get("name", ""),
            definition=form.get("definition", ""),
            numerator=form.get("numerator", ""),
            denominator=form.get("denominator") or None,
            unit=form.get("unit", ""),
            scale=scale,
            direction=Direction(form.get("direction") or "higher"),
            theme=Theme(form.get("theme") or "pathways"),
            target=target,
        )
        info = service.create_indicator(db, user.principal, d)
    except DomainError as exc:
        db.rollback()
        context = _definitions_context(db, user, form=form, problems=[explain(exc)])
        return render(request, "indicators/definitions.html", context, status_code=exc.status_code)
    return RedirectResponse(f"/indicators/definitions/{quote(info.d.code)}", status_code=303)


@router.get("/indicators/definitions/{code}")
def definition(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    info = service.get_indicator(db, code)
    used = [rules.MEASURES[m] for m in sorted(info.checked.measures)]
    return render(
        request,
        "indicators/definition.html",
        {"info": info, "used": used, "period": request.query_params.get("period", "")},
    )
