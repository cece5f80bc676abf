"""HTML routes of the GST's finance: the execution table (with its chart, alerts and
exports), a budget line with its ledger, the transfers, the action programmes and the
reform projects.

The pages call the same service functions as the JSON API (the export too: the file
holds what the page shows); a refused act comes back on its page with the service's own
message.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from parcours.access.rules import Permission
from parcours.errors import DomainError
from parcours.finance import api, charts, rules, service
from parcours.finance.rules import (
    ActionStatus,
    AlertKind,
    Chapter,
    MovementKind,
    ProjectStatus,
)
from parcours.finance.schemas import (
    ActionUpdate,
    CounterIn,
    DecisionIn,
    ExecutionReport,
    MovementIn,
    ProjectReportIn,
    TransferIn,
)
from parcours.territory.rules import Status
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain
from parcours.web.templating import render, templates

router = APIRouter(include_in_schema=False)


def _dh(value: Decimal | None) -> str:
    """An amount in French notation: 1 234 567,89."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    whole, _sep, cents = f"{abs(value):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + "\u202f".join(groups) + "," + cents


def _pct(value: Decimal | None) -> str:
    """A rate (0.1234) as 12,3 %."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}".replace(".", ",") + "\u00a0%"


templates.env.filters["dh"] = _dh
templates.env.filters["pct"] = _pct


def _months() -> list[str]:
    return [
        _("janv."),
        _("févr."),
        _("mars"),
        _("avr."),
        _("mai"),
        _("juin"),
        _("juil."),
        _("août"),
        _("sept."),
        _("oct."),
        _("nov."),
        _("déc."),
    ]


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _whole(text: str | None) -> int:
    """A percentage typed in a form; -1 (refused by the schema) when it is not a number."""
    value = _int(text, -1)
    return -1 if value is None else value


def _amount(text: str | None) -> Decimal:
    return rules.parse_amount(text or "")


def _year(db: SessionDep, request: Request) -> int:
    known = service.years(db)
    chosen = _int(request.query_params.get("year"))
    if chosen in known:
        return int(chosen)
    current = service.today().year
    if current in known or not known:
        return current
    return known[-1]


# --- execution ---------------------------------------------------------------------------


def _report(db: SessionDep, user: PageUser, request: Request) -> ExecutionReport:
    params = request.query_params
    return service.execution(
        db,
        user.principal,
        year=_year(db, request),
        establishment=(params.get("establishment") or "").strip() or None,
        through_month=_int(params.get("month")),
    )


@router.get("/finance")
def execution(request: Request, db: SessionDep, user: PageUser) -> Response:
    report = _report(db, user, request)
    chart = charts.execution_by_month(
        [
            charts.MonthPoint(
                m.month, m.committed, m.paid, m.cumulative_committed, m.cumulative_paid
            )
            for m in report.months
        ],
        report.total.allocated,
        title=_("Exécution par mois"),
        month_labels=_months(),
        legend=(_("Engagé"), _("Payé"), _("Crédits ouverts")),
    )
    alerts = [r for r in report.rows if r.alerts]
    units = {u.establishment: u.establishment_name for u in report.units}
    return render(
        request,
        "finance/execution.html",
        {
            "r": report,
            "chart": chart,
            "alerts": alerts,
            "years": service.years(db) or [report.year],
            "months": _months(),
            "units": units,
            "chapters": list(Chapter),
            "alert_kinds": list(AlertKind),
            "query": request.url.query,
            "may_write": user.principal.can(Permission.FINANCE_WRITE),
            "thresholds": {
                "overrun": rules.NEAR_OVERRUN_SHARE,
                "lag": rules.UNDER_EXECUTION_LAG,
            },
        },
    )


@router.get("/finance/export")
def export(request: Request, db: SessionDep, user: PageUser) -> Response:
    """The table of the page, as a file: the same report, so the same totals."""
    report = _report(db, user, request)
    fmt = request.query_params.get("format") or "xlsx"
    return api.export_response(report, "csv" if fmt == "csv" else "xlsx")


# --- a budget line -----------------------------------------------------------------------


def _line_context(db: SessionDep, user: PageUser, line_id: int, **extra: Any) -> dict[str, Any]:
    file = service.line_file(db, user.principal, line_id)
    line = file.line
    others = [
        other
        for other in service.list_lines(db, user.principal, year=line.year)
        if other.id != line.id
    ]
    return {
        "f": file,
        "kinds": [k for k in MovementKind if k in rules.DIRECT_KINDS],
        "may_write": user.principal.can(Permission.FINANCE_WRITE),
        "others": others,
        "commitment_rate": rules.rate(line.committed, line.allocated),
        "execution_rate": rules.rate(line.paid, line.allocated),
        "problems": [],
        "form": {},
        "done": None,
    } | extra


@router.get("/finance/lines/{line_id}")
def line(request: Request, db: SessionDep, user: PageUser, line_id: int) -> Response:
    done = request.query_params.get("done")
    return render(
        request,
        "finance/line.html",
        _line_context(db, user, line_id, done=done if done in {"movement", "counter"} else None),
    )


def _refused(
    request: Request, db: SessionDep, user: PageUser, line_id: int, form: dict[str, str], exc: Any
) -> Response:
    db.rollback()
    if isinstance(exc, DomainError):
        message, status = explain(exc), exc.status_code
    else:
        message, status = _("Vérifiez le type, le montant, la date et le motif."), 422
    context = _line_context(db, user, line_id, problems=[message], form=form)
    return render(request, "finance/line.html", context, status_code=status)


@router.post("/finance/lines/{line_id}/movements")
def record_movement(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, line_id: int
) -> Response:
    try:
        booked = (form.get("booked_on") or "").strip()
        data = MovementIn(
            kind=MovementKind(form.get("kind") or ""),
            amount=_amount(form.get("amount")),
            booked_on=date.fromisoformat(booked) if booked else None,
            reference=(form.get("reference") or "").strip(),
            reason=(form.get("reason") or "").strip(),
        )
        service.record_movement(db, user.principal, line_id, data)
    except (ValueError, ValidationError, DomainError) as exc:
        return _refused(request, db, user, line_id, form, exc)
    return RedirectResponse(f"/finance/lines/{line_id}?done=movement", status_code=303)


@router.post("/finance/movements/{movement_id}/counter-entry")
def counter_entry(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, movement_id: int
) -> Response:
    line_id = _int(form.get("line_id")) or 0
    try:
        out = service.counter_entry(
            db, user.principal, movement_id, CounterIn(reason=(form.get("reason") or "").strip())
        )
    except (ValueError, ValidationError, DomainError) as exc:
        return _refused(request, db, user, line_id, form, exc)
    return RedirectResponse(f"/finance/lines/{out.line_id}?done=counter", status_code=303)


# --- transfers ---------------------------------------------------------------------------


def _transfers_context(db: SessionDep, user: PageUser, **extra: Any) -> dict[str, Any]:
    return {
        "transfers": service.list_transfers(db, user.principal),
        "may_write": user.principal.can(Permission.FINANCE_WRITE),
        "me": user.principal.username,
        "problems": [],
        "done": None,
    } | extra


@router.get("/finance/transfers")
def transfers(request: Request, db: SessionDep, user: PageUser) -> Response:
    done = request.query_params.get("done")
    return render(
        request,
        "finance/transfers.html",
        _transfers_context(db, user, done=done if done in {"request", "decision"} else None),
    )


@router.post("/finance/transfers")
def request_transfer(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm
) -> Response:
    from_line = _int(form.get("from_line")) or 0
    try:
        service.request_transfer(
            db,
            user.principal,
            TransferIn(
                from_line=from_line,
                to_line=_int(form.get("to_line")) or 0,
                amount=_amount(form.get("amount")),
                reason=(form.get("reason") or "").strip(),
            ),
        )
    except (ValueError, ValidationError, DomainError) as exc:
        return _refused(request, db, user, from_line, form, exc)
    return RedirectResponse("/finance/transfers?done=request", status_code=303)


@router.post("/finance/transfers/{transfer_id}/decision")
def decide_transfer(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, transfer_id: int
) -> Response:
    try:
        service.decide_transfer(
            db,
            user.principal,
            transfer_id,
            DecisionIn(
                approve=form.get("decision") == "approve",
                reason=(form.get("reason") or "").strip(),
            ),
        )
    except (ValidationError, DomainError) as exc:
        db.rollback()
        message = (
            explain(exc)
            if isinstance(exc, DomainError)
            else _("Le motif de la décision est obligatoire.")
        )
        status = exc.status_code if isinstance(exc, DomainError) else 422
        return render(
            request,
            "finance/transfers.html",
            _transfers_context(db, user, problems=[message]),
            status_code=status,
        )
    return RedirectResponse("/finance/transfers?done=decision", status_code=303)


# --- programmes --------------------------------------------------------------------------


@router.get("/finance/programmes")
def programmes(request: Request, db: SessionDep, user: PageUser) -> Response:
    return render(
        request,
        "finance/programmes.html",
        {"s": service.programme_summary(db, user.principal)},
    )


@router.get("/finance/programmes/{code}")
def programme(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    file = service.programme_file(db, user.principal, code)
    return render(
        request,
        "finance/programme.html",
        {
            "p": file.programme,
            "actions": file.actions,
            "late_only": request.query_params.get("late") == "1",
            "line_labels": rules.SUB_LINE_LABELS,
        },
    )


def _action_context(db: SessionDep, user: PageUser, action_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "a": service.get_action(db, user.principal, action_id),
        "statuses": list(ActionStatus),
        "may_write": user.principal.can(Permission.FINANCE_WRITE),
        "line_labels": rules.SUB_LINE_LABELS,
        "problems": [],
        "done": False,
    } | extra


@router.get("/finance/actions/{action_id}")
def action(request: Request, db: SessionDep, user: PageUser, action_id: int) -> Response:
    return render(
        request,
        "finance/action.html",
        _action_context(db, user, action_id, done=request.query_params.get("done") == "1"),
    )


@router.post("/finance/actions/{action_id}")
def update_action(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, action_id: int
) -> Response:
    try:
        service.update_action(
            db,
            user.principal,
            action_id,
            ActionUpdate(
                status=ActionStatus(form.get("status") or ""),
                progress_pct=_whole(form.get("progress_pct")),
                note=(form.get("note") or "").strip(),
                expected_version=_int(form.get("expected_version")),
            ),
        )
    except (ValueError, ValidationError, DomainError) as exc:
        db.rollback()
        message = (
            explain(exc)
            if isinstance(exc, DomainError)
            else _("Vérifiez le statut, l'avancement et le commentaire.")
        )
        status = exc.status_code if isinstance(exc, DomainError) else 422
        context = _action_context(db, user, action_id, problems=[message])
        return render(request, "finance/action.html", context, status_code=status)
    return RedirectResponse(f"/finance/actions/{action_id}?done=1", status_code=303)


# --- projects ----------------------------------------------------------------------------


@router.get("/finance/projects")
def projects(request: Request, db: SessionDep, user: PageUser) -> Response:
    out = service.portfolio(db, user.principal)
    chart = charts.project_progress(
        [charts.ProjectBar(p.code, p.title, p.physical_pct, p.financial_pct) for p in out.projects],
        title=_("Avancement des projets"),
        legend=(_("Avancement physique"), _("Avancement financier")),
    )
    return render(
        request,
        "finance/projects.html",
        {"pf": out, "chart": chart, "registry_labels": {s.value: s.label for s in Status}},
    )


def _project_context(db: SessionDep, user: PageUser, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "p": service.get_project(db, user.principal, code),
        "statuses": list(ProjectStatus),
        "registry_labels": {s.value: s.label for s in Status},
        "may_write": user.principal.can(Permission.FINANCE_WRITE),
        "problems": [],
        "done": False,
    } | extra


@router.get("/finance/projects/{code}")
def project(request: Request, db: SessionDep, user: PageUser, code: str) -> Response:
    return render(
        request,
        "finance/project.html",
        _project_context(db, user, code, done=request.query_params.get("done") == "1"),
    )


@router.post("/finance/projects/{code}")
def report_project(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, code: str
) -> Response:
    try:
        forecast = (form.get("forecast_end") or "").strip()
        service.report_project(
            db,
            user.principal,
            code,
            ProjectReportIn(
                status=ProjectStatus(form.get("status") or ""),
                physical_pct=_whole(form.get("physical_pct")),
                spent=_amount(form.get("spent")),
                forecast_end=date.fromisoformat(forecast) if forecast else None,
                note=(form.get("note") or "").strip(),
                expected_version=_int(form.get("expected_version")),
            ),
        )
    except (ValueError, ValidationError, DomainError) as exc:
        db.rollback()
        message = (
            explain(exc)
            if isinstance(exc, DomainError)
            else _("Vérifiez le statut, l'avancement, les dépenses et le commentaire.")
        )
        status = exc.status_code if isinstance(exc, DomainError) else 422
        context = _project_context(db, user, code, problems=[message])
        return render(request, "finance/project.html", context, status_code=status)
    return RedirectResponse(f"/finance/projects/{code}?done=1", status_code=303)
