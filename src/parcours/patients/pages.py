"""HTML routes of the master patient index: the admission desk, the person, the review queue.

Every page calls the same service function as the JSON API (``service.py``),
which checks permissions and scope and writes the audit trail; the pages only
translate between forms and the service's inputs. They work without
JavaScript: the optional script (static/js/patients.js) only submits the
search as the agent types.

A person whose records all lie outside the reader's scope is not shown: the
page answers 403 with the *break-the-glass* form instead, and shows the person
only once a reason is given (the service audits that read apart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from parcours.access.rules import Permission, Principal, ScopeKind
from parcours.access.service import require
from parcours.errors import DomainError, Forbidden
from parcours.patients import service
from parcours.patients.fellegi_sunter import RULE_LABELS, Rule
from parcours.patients.identifiers import normalise_amo, normalise_cin
from parcours.patients.schemas import RecordIn
from parcours.territory import service as territory
from parcours.web.deps import CheckedForm, PageUser, SessionDep
from parcours.web.i18n import gettext_ as _
from parcours.web.pages import explain, pager
from parcours.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
OUT_OF_SCOPE = "out_of_scope"
MIN_REASON = 3


# --- what every page shows ----------------------------------------------------------


def show_birth(value: date | str | None, precision: str | None = "day") -> str:
    """A birth date as precise as it was registered: 14/03/1978, 03/1978 or 1978."""
    if value is None or value == "":
        return "—"
    text = value.isoformat() if isinstance(value, date) else str(value)
    parts = text[:10].split("-")
    if precision == "year" or len(parts) == 1:
        return parts[0]
    if precision == "month" or len(parts) == 2:
        return f"{parts[1]}/{parts[0]}"
    return f"{parts[2]}/{parts[1]}/{parts[0]}"


def PRECISION_LABELS() -> dict[str, str]:  # noqa: N802 - reads as the constant it stands for
    return {
        "day": _("date complète"),
        "month": _("mois et année"),
        "year": _("année seule"),
    }


def SEX_LABELS() -> dict[str, str]:  # noqa: N802
    return {"M": _("Homme"), "F": _("Femme")}


def DECISION_LABELS() -> dict[str, str]:  # noqa: N802
    return {
        "link": _("Rattaché à une personne existante"),
        "review": _("À revoir : rattachement proposé à la file de revue"),
        "new": _("Nouvelle personne"),
    }


def ACTION_LABELS() -> dict[str, str]:  # noqa: N802
    return {"link": _("Rattachement"), "unlink": _("Détachement")}


def RULE_NAMES() -> dict[str, str]:  # noqa: N802
    """Why a link was made, as the history tells it (the engine's rules and the hand's)."""
    names = {rule.value: _(RULE_LABELS[rule]) for rule in Rule}
    return names | {
        "new": _("nouvelle personne"),
        "batch_new": _("nouvelle personne (dédoublonnage)"),
        "review": _("décision de revue"),
        "manual": _("décision manuelle"),
        "undo": _("annulation"),
    }


def percent(probability: float | None) -> str:
    """A probability as people read it here: 98,1 %."""
    if probability is None:
        return "—"
    return f"{probability * 100:.1f}".replace(".", ",") + "\u202f%"


def signed(bits: float | None) -> str:
    if bits is None:
        return "—"
    return f"{bits:+.1f}".replace(".", ",").replace("-", "\u2212")


def REVIEW_STATUS_LABELS() -> dict[str, str]:  # noqa: N802
    return {
        "open": _("À revoir"),
        "linked": _("Rattachés"),
        "kept_apart": _("Gardés distincts"),
    }


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    province: str


def directory(db: Session, principal: Principal) -> dict[str, Site]:
    """Every establishment of the registry by code (names for the tables, choices for forms)."""
    sites: dict[str, Site] = {}
    page = 1
    while True:
        result = territory.search_establishments(
            db, principal, territory.EstablishmentFilter(), page=page, page_size=200
        )
        for e in result.items:
            sites[e.code] = Site(e.code, e.name, e.province)
        if page * result.page_size >= result.total or not result.items:
            return sites
        page += 1


def desks(principal: Principal, sites: Mapping[str, Site]) -> list[Site]:
    """The establishments where this user may register a patient, by name."""
    if not principal.can(Permission.PATIENT_WRITE):
        return []
    if principal.scope.kind is ScopeKind.ESTABLISHMENT:
        chosen = [sites[c] for c in principal.scope.values if c in sites]
    else:
        chosen = [
            s
            for s in sites.values()
            if principal.can_at(Permission.PATIENT_WRITE, s.code, s.province)
        ]
    return sorted(chosen, key=lambda s: s.name)


def _common(db: Session, principal: Principal) -> dict[str, Any]:
    sites = directory(db, principal)
    return {
        "sites": sites,
        "birth": show_birth,
        "precisions": PRECISION_LABELS(),
        "sexes": SEX_LABELS(),
        "decisions": DECISION_LABELS(),
        "actions": ACTION_LABELS(),
        "review_statuses": REVIEW_STATUS_LABELS(),
        "rules": RULE_NAMES(),
        "percent": percent,
        "signed": signed,
        "may_write": principal.can(Permission.PATIENT_WRITE),
    }


def _text(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    return (form.get(name) or "").strip()[:limit]


# --- the admission desk: search and registration -------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    q: str
    birth_date: str
    page: int

    @property
    def empty(self) -> bool:
        return not (self.q or self.birth_date)

    def criteria(self) -> dict[str, str | None]:
        """What the one box holds: a CIN, an AMO number or a name."""
        q = self.q
        criteria: dict[str, str | None] = {"birth_date": self.birth_date or None}
        if q and " " not in q.strip() and any(c.isdigit() for c in q):
            if normalise_cin(q):
                return criteria | {"cin": q}
            if normalise_amo(q):
                return criteria | {"amo_number": q}
        return criteria | {"q": q or None}


def parse_search(params: Mapping[str, str]) -> SearchQuery:
    q = (params.get("q") or "").strip()[:100]
    birth = (params.get("birth_date") or "").strip()[:10]
    try:
        page = max(int(params.get("page") or 1), 1)
    except ValueError:
        page = 1
    return SearchQuery(q, birth, page)


def BLANK_RECORD() -> dict[str, str]:  # noqa: N802
    return {
        "establishment": "",
        "local_id": "",
        "given_name": "",
        "family_name": "",
        "given_name_ar": "",
        "family_name_ar": "",
        "sex": "",
        "birth_day": "",
        "birth_month": "",
        "birth_year": "",
        "cin": "",
        "amo_number": "",
        "phone": "",
        "address": "",
        "commune": "",
    }


def birth_of(form: Mapping[str, str], problems: list[str]) -> str | None:
    """The birth date as the service reads it: YYYY-MM-DD, YYYY-MM or YYYY (year only)."""
    day, month, year = (_text(form, f"birth_{p}", 4) for p in ("day", "month", "year"))
    if not (day or month or year):
        return None
    try:
        y = int(year)
        if not 1880 <= y <= datetime.now(UTC).year:
            raise ValueError(year)
        if not month:
            if day:
                raise ValueError(day)
            return f"{y:04d}"
        m = int(month)
        if not day:
            date(y, m, 1)
            return f"{y:04d}-{m:02d}"
        return date(y, m, int(day)).isoformat()
    except ValueError:
        problems.append(
            _(
                "Date de naissance invalide : jour, mois et année, ou l'année seule si "
                "c'est tout ce qui est connu."
            )
        )
        return None


def parse_record(form: Mapping[str, str]) -> tuple[RecordIn | None, list[str]]:
    problems: list[str] = []
    if not _text(form, "establishment"):
        problems.append(_("Choisissez l'établissement où le patient est enregistré."))
    if not (_text(form, "family_name") or _text(form, "family_name_ar")):
        problems.append(_("Le nom (en lettres latines ou arabes) est obligatoire."))
    if not (_text(form, "given_name") or _text(form, "given_name_ar")):
        problems.append(_("Le prénom (en lettres latines ou arabes) est obligatoire."))
    birth = birth_of(form, problems)
    if problems:
        return None, problems

    def opt(name: str) -> str | None:
        return _text(form, name) or None

    try:
        data = RecordIn(
            establishment=_text(form, "establishment").upper(),
            local_id=opt("local_id"),
            cin=opt("cin"),
            amo_number=opt("amo_number"),
            given_name=_text(form, "given_name"),
            family_name=_text(form, "family_name"),
            given_name_ar=opt("given_name_ar"),
            family_name_ar=opt("family_name_ar"),
            sex=opt("sex"),
            birth_date=birth,
            phone=opt("phone"),
            address=opt("address"),
            commune=opt("commune"),
        )
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][-1]) if err["loc"] else ""
            problems.append(_("« {field} » : valeur refusée.").format(field=field))
        return None, problems
    return data, []


def _patients_page(
    request: Request,
    db: Session,
    user: PageUser,
    *,
    form: Mapping[str, str] | None = None,
    problems: Sequence[str] = (),
    registration: Any = None,
    status_code: int = 200,
) -> Response:
    principal = user.principal
    require(principal, Permission.PATIENT_READ)
    query = parse_search(request.query_params)
    result = None
    pages = None
    if not query.empty:
        criteria = query.criteria()
        result = service.search_persons(
            db,
            principal,
            q=criteria.get("q"),
            cin=criteria.get("cin"),
            amo_number=criteria.get("amo_number"),
            birth_date=criteria.get("birth_date"),
            page=query.page,
            page_size=PAGE_SIZE,
        )
        kept = {k: v for k, v in (("q", query.q), ("birth_date", query.birth_date)) if v}
        pages = pager("/patients", kept, query.page, PAGE_SIZE, result.total)
    common = _common(db, principal)
    choices = desks(principal, common["sites"])
    blank = BLANK_RECORD()
    if len(choices) == 1:
        blank["establishment"] = choices[0].code
    return render(
        request,
        "patients/search.html",
        common
        | {
            "query": query,
            "result": result,
            "pager": pages,
            "desks": choices,
            "form": form if form is not None else blank,
            "problems": problems,
            "registration": registration,
            "page_url": "/patients",
        },
        status_code=status_code,
    )


@router.get("/patients")
def patients_search(request: Request, db: SessionDep, user: PageUser) -> Response:
    return _patients_page(request, db, user)


@router.post("/patients/register")
def patients_register(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm
) -> Response:
    require(user.principal, Permission.PATIENT_WRITE)
    data, problems = parse_record(form)
    if data is None:
        return _patients_page(request, db, user, form=form, problems=problems, status_code=422)
    try:
        registration = service.register_record(db, user.principal, data)
    except DomainError as exc:
        db.rollback()
        return _patients_page(
            request, db, user, form=form, problems=[explain(exc)], status_code=exc.status_code
        )
    return _patients_page(request, db, user, registration=registration)


# --- the person -----------------------------------------------------------------------


def _person_page(
    request: Request,
    db: Session,
    user: PageUser,
    person_id: str,
    *,
    reason: str | None = None,
    problems: Sequence[str] = (),
    status_code: int = 200,
) -> Response:
    principal = user.principal
    try:
        person = service.get_person(db, principal, person_id, reason=reason)
    except Forbidden as exc:
        if exc.code != OUT_OF_SCOPE:
            raise
        db.rollback()
        return render(
            request,
            "patients/break_glass.html",
            {"person_id": person_id, "message": explain(exc), "problems": problems},
            status_code=403,
        )
    return render(
        request,
        "patients/person.html",
        _common(db, principal)
        | {
            "person": person,
            "emergency": reason is not None,
            "problems": problems,
            "done": request.query_params.get("done"),
            "page_url": f"/persons/{quote(person.person_id)}",
        },
        status_code=status_code,
    )


@router.get("/persons/{person_id}")
def person_detail(request: Request, db: SessionDep, user: PageUser, person_id: str) -> Response:
    return _person_page(request, db, user, person_id)


def _reason(form: Mapping[str, str], problems: list[str]) -> str:
    reason = _text(form, "reason", 500)
    if len(reason) < MIN_REASON:
        problems.append(
            _("Indiquez le motif (3 caractères au moins) : il est gardé dans l'historique.")
        )
    return reason


@router.post("/persons/{person_id}/emergency")
def person_emergency(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, person_id: str
) -> Response:
    """Break the glass: the person shown out of scope, for a stated reason (audited apart)."""
    problems: list[str] = []
    reason = _reason(form, problems)
    if problems:
        return _person_page(request, db, user, person_id, problems=problems)
    return _person_page(request, db, user, person_id, reason=reason)


def _person_action(
    request: Request,
    db: Session,
    user: PageUser,
    person_id: str,
    form: Mapping[str, str],
    act: Any,
    done: str,
) -> Response:
    problems: list[str] = []
    reason = _reason(form, problems)
    if problems:
        return _person_page(request, db, user, person_id, problems=problems, status_code=422)
    try:
        act(reason)
    except DomainError as exc:
        db.rollback()
        return _person_page(
            request, db, user, person_id, problems=[explain(exc)], status_code=exc.status_code
        )
    return RedirectResponse(
        f"/persons/{quote(person_id)}?done={done}#link-history", status_code=303
    )


@router.post("/persons/{person_id}/unlink")
def person_unlink(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, person_id: str
) -> Response:
    record_key = _text(form, "record_key", 64)
    return _person_action(
        request,
        db,
        user,
        person_id,
        form,
        lambda reason: service.unlink_record(db, user.principal, record_key, reason),
        "unlinked",
    )


@router.post("/persons/{person_id}/undo")
def person_undo(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, person_id: str
) -> Response:
    try:
        event_id = int(_text(form, "event_id", 20))
    except ValueError:
        return _person_page(
            request, db, user, person_id, problems=[_("Décision inconnue.")], status_code=422
        )
    return _person_action(
        request,
        db,
        user,
        person_id,
        form,
        lambda reason: service.undo_event(db, user.principal, event_id, reason),
        "undone",
    )


# --- the review queue -------------------------------------------------------------------


def _page_number(raw: str | None) -> int:
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


def bits_class(bits: float) -> str:
    if bits > 0.05:
        return "plus"
    if bits < -0.05:
        return "minus"
    return "nil"


@router.get("/mpi/reviews")
def review_queue(request: Request, db: SessionDep, user: PageUser) -> Response:
    principal = user.principal
    status = request.query_params.get("status") or "open"
    if status not in REVIEW_STATUS_LABELS():
        status = "open"
    page = _page_number(request.query_params.get("page"))
    result = service.list_reviews(db, principal, status=status, page=page, page_size=PAGE_SIZE)
    kept = {"status": status} if status != "open" else {}
    return render(
        request,
        "patients/reviews.html",
        _common(db, principal)
        | {
            "result": result,
            "status": status,
            "pager": pager("/mpi/reviews", kept, page, PAGE_SIZE, result.total),
            "decided": request.query_params.get("decided"),
        },
    )


def _review_page(
    request: Request,
    db: Session,
    user: PageUser,
    review_id: int,
    *,
    problems: Sequence[str] = (),
    reason: str = "",
    status_code: int = 200,
) -> Response:
    principal = user.principal
    review = service.get_review(db, principal, review_id)
    return render(
        request,
        "patients/review.html",
        _common(db, principal)
        | {
            "review": review,
            "contributions": {f.field: f for f in review.fields},
            "bits_class": bits_class,
            "problems": problems,
            "reason": reason,
            "decided": request.query_params.get("decided"),
            "page_url": f"/mpi/reviews/{review.id}",
        },
        status_code=status_code,
    )


@router.get("/mpi/reviews/{review_id}")
def review_detail(request: Request, db: SessionDep, user: PageUser, review_id: int) -> Response:
    return _review_page(request, db, user, review_id)


@router.post("/mpi/reviews/{review_id}")
def review_decide(
    request: Request, db: SessionDep, user: PageUser, form: CheckedForm, review_id: int
) -> Response:
    decision = _text(form, "decision", 20)
    problems: list[str] = []
    if decision not in ("link", "keep_apart"):
        problems.append(_("Choisissez : rattacher ou garder distincts."))
    reason = _reason(form, problems)
    if problems:
        return _review_page(
            request, db, user, review_id, problems=problems, reason=reason, status_code=422
        )
    try:
        service.decide_review(db, user.principal, review_id, decision, reason)
    except DomainError as exc:
        db.rollback()
        return _review_page(
            request,
            db,
            user,
            review_id,
            problems=[explain(exc)],
            reason=reason,
            status_code=exc.status_code,
        )
    following = service.list_reviews(db, user.principal, status="open", page=1, page_size=1)
    if following.items:
        target = f"/mpi/reviews/{following.items[0].id}?decided={review_id}"
    else:
        target = f"/mpi/reviews?decided={review_id}"
    return RedirectResponse(target, status_code=303)
