"""FHIR R4 REST routes (``/fhir/…``): thin adapters over :mod:`parcours.fhir.service`.

Errors leave as OperationOutcome with the status the specification gives
(400 malformed, 401 no token, 403 missing scope or out of the organisational
scope, 404, 405, 409 refused by a state machine, 412 version mismatch), not as
the JSON API's ``{"error": …}``: every route of this router runs inside
:class:`FhirRoute`, which turns the exceptions into the resource.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from parcours.errors import DomainError
from parcours.fhir import resources, rules, service
from parcours.fhir.resources import FhirError
from parcours.web.deps import SessionDep, client_ip

FHIR_JSON = "application/fhir+json"


FHIR_XML = "application/fhir+xml"


def _wants_xml(request: Request | None) -> bool:
    if request is None:
        return False
    fmt = request.query_params.get("_format", "")
    if fmt:
        return fmt in ("xml", "text/xml", "application/xml", FHIR_XML)
    accept = request.headers.get("Accept", "")
    return "xml" in accept and "json" not in accept


def fhir_response(
    body: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    request: Request | None = None,
) -> Response:
    """JSON, or XML when asked (``_format=xml`` or ``Accept: application/fhir+xml``): the
    R4B model writes it, so the XML says exactly what the JSON says."""
    if _wants_xml(request):
        xml = resources.model_of(body).model_dump_xml()
        return Response(xml, status_code=status, media_type=FHIR_XML, headers=headers)
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=FHIR_JSON,
        headers=headers,
    )


def _error_response(exc: Exception, status: int) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="parcours-fhir"'} if status == 401 else None
    return fhir_response(service.outcome(exc, status), status, headers)


def _audit_refusal(request: Request, exc: DomainError) -> None:
    """A refused call is traced like a refused page: who (if known), what, why."""
    caller = getattr(request.state, "fhir_caller", None)
    # the request's own session, its refused work rolled back: on SQLite a second
    # session would wait for the write lock this one still holds
    session: Session | None = getattr(request.state, "fhir_db", None)
    if session is None:
        return
    session.rollback()
    service.audit_refusal(
        session,
        caller,
        f"fhir.{request.method.lower()}",
        request.url.path[:200],
        exc.status_code,
        exc.code,
        client_ip(request),
    )


class FhirRoute(APIRoute):
    """Every failure of a FHIR route answers an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except DomainError as exc:
                if exc.status_code in (401, 403):
                    _audit_refusal(request, exc)
                return _error_response(exc, exc.status_code)
            except RequestValidationError as exc:
                where = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
                return _error_response(FhirError(400, "Requête invalide.", where=where), 400)

        return handler


router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _caller(request: Request, db: SessionDep) -> service.Caller:
    request.state.fhir_db = db
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise FhirError(401, "Jeton d'accès requis (Authorization: Bearer …).", code="login")
    caller = service.resolve_token(db, header[7:].strip(), client_ip(request))
    request.state.fhir_caller = caller
    # nothing of this read stays open: on SQLite a transaction holds the write lock
    db.rollback()
    return caller


CallerDep = Annotated[service.Caller, Depends(_caller)]


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError as exc:
        raise FhirError(
            400, f"JSON illisible (ligne {exc.lineno}, colonne {exc.colno}).", code="structure"
        ) from exc


def _resource_headers(resource: dict[str, Any]) -> dict[str, str]:
    meta = resource.get("meta") or {}
    headers: dict[str, str] = {}
    if "versionId" in meta:
        headers["ETag"] = rules.etag(int(meta["versionId"]))
    if "lastUpdated" in meta:
        headers["Last-Modified"] = str(meta["lastUpdated"])
    return headers


def _if_match(request: Request) -> int | None:
    try:
        return rules.parse_etag(request.headers.get("If-Match"))
    except rules.SearchError as exc:
        raise FhirError(400, str(exc), where=["If-Match"]) from exc


# --- security ---------------------------------------------------------------------------


@router.post("/auth/token")
def token(
    request: Request,
    db: SessionDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form()] = None,
) -> Response:
    """OAuth2 client credentials (RFC 6749 §4.4), secret in the form or HTTP Basic."""
    if grant_type != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic ") and not client_id:
        import base64

        try:
            client_id, _, client_secret = (
                base64.b64decode(header[6:]).decode("utf-8").partition(":")
            )
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
    if not client_id or not client_secret:
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    try:
        body = service.issue_token(db, client_id, client_secret, scope, client_ip(request))
    except FhirError as exc:
        error = {401: "invalid_client", 403: "invalid_scope"}.get(exc.status_code, "invalid_scope")
        return JSONResponse(
            {"error": error, "error_description": exc.render()}, status_code=exc.status_code
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# --- the whole server -------------------------------------------------------------------


@router.get("/metadata")
def metadata(request: Request) -> Response:
    """The CapabilityStatement, built from the handlers the routes dispatch to."""
    return fhir_response(service.capability(_base(request)), request=request)


def _transaction(db: Session, caller: service.Caller, entries: list[Any], base: str) -> Response:
    """All entries in one database transaction: the services' commits become savepoints."""
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    db.close()
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            results = service.run_entries(session, caller, entries, base, transaction=True)
            body = service.bundle_response("transaction", results, base)
        except BaseException:
            session.close()
            outer.rollback()
            raise
        session.close()
        outer.commit()
    return fhir_response(body)


@router.post("")
@router.post("/")
async def bundle(request: Request, db: SessionDep, caller: CallerDep) -> Response:
    """A transaction (all or nothing) or a batch (entry by entry) Bundle."""
    body = await _body(request)
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise FhirError(400, "Un Bundle est attendu.", code="structure", where=["resourceType"])
    resources.parse(body, "Bundle")
    kind = body.get("type")
    entries = body.get("entry") or []
    base = _base(request)
    if kind == "transaction":
        return _transaction(db, caller, entries, base)
    if kind == "batch":
        results = service.run_entries(db, caller, entries, base, transaction=False)
        return fhir_response(service.bundle_response("batch", results, base))
    raise FhirError(400, "Bundle.type doit être transaction ou batch.", where=["Bundle.type"])


# --- operations -------------------------------------------------------------------------


@router.post("/Patient/$match")
async def patient_match(request: Request, db: SessionDep, caller: CallerDep) -> Response:
    parameters = resources.parse(await _body(request), "Parameters")
    return fhir_response(service.match_patient(db, caller, parameters, _base(request)))


@router.get("/Patient/{rid}/$everything")
def patient_everything(request: Request, rid: str, db: SessionDep, caller: CallerDep) -> Response:
    return fhir_response(service.everything(db, caller, rid, _base(request)), request=request)


# --- bulk export ------------------------------------------------------------------------


def _kick_off(request: Request, db: Session, caller: service.Caller, *, patients: bool) -> Response:
    if "respond-async" not in request.headers.get("Prefer", ""):
        raise FhirError(400, "$export demande l'en-tête Prefer: respond-async.", where=["Prefer"])
    job = service.start_export(
        db,
        caller,
        request.query_params.get("_type"),
        str(request.url),
        patients_only=patients,
    )
    factory = request.app.state.session_factory
    threading.Thread(
        target=service.run_export,
        args=(factory, caller, job),
        name=f"fhir-export-{job}",
        daemon=True,
    ).start()
    return Response(
        status_code=202, headers={"Content-Location": f"{_base(request)}/$export-status/{job}"}
    )


@router.get("/$export")
def export_all(request: Request, db: SessionDep, caller: CallerDep) -> Response:
    """The region's data within the client's scope, as NDJSON files (asynchronous)."""
    return _kick_off(request, db, caller, patients=False)


@router.get("/Patient/$export")
def export_patients(request: Request, db: SessionDep, caller: CallerDep) -> Response:
    return _kick_off(request, db, caller, patients=True)


@router.get("/$export-status/{job}")
def export_status(request: Request, job: str, db: SessionDep, caller: CallerDep) -> Response:
    status, manifest = service.export_status(db, caller, job, _base(request))
    if manifest is not None:
        return JSONResponse(manifest, status_code=status)
    return Response(status_code=202, headers={"X-Progress": "en cours", "Retry-After": "2"})


@router.get("/$export-file/{job}/{name}")
def export_file(job: str, name: str, db: SessionDep, caller: CallerDep) -> Response:
    return FileResponse(
        service.export_file(db, caller, job, name), media_type="application/fhir+ndjson"
    )


# --- the RESTful interactions -----------------------------------------------------------


@router.get("/{kind}")
def search_type(request: Request, kind: str, db: SessionDep, caller: CallerDep) -> Response:
    return fhir_response(service.search(db, caller, kind, request.url.query, _base(request)))


@router.post("/{kind}/_search")
async def search_post(request: Request, kind: str, db: SessionDep, caller: CallerDep) -> Response:
    form = (await request.body()).decode("utf-8")
    query = "&".join(x for x in (request.url.query, form) if x)
    return fhir_response(service.search(db, caller, kind, query, _base(request)))


@router.post("/{kind}")
async def create(request: Request, kind: str, db: SessionDep, caller: CallerDep) -> Response:
    body = await _body(request)
    status, resource = service.create(db, caller, kind, body, request.headers.get("If-None-Exist"))
    headers = _resource_headers(resource)
    if status == 201:
        version = resource.get("meta", {}).get("versionId", "1")
        headers["Location"] = f"{_base(request)}/{kind}/{resource['id']}/_history/{version}"
    return fhir_response(resource, status, headers)


@router.get("/{kind}/{rid}")
def read(request: Request, kind: str, rid: str, db: SessionDep, caller: CallerDep) -> Response:
    resource = service.read(db, caller, kind, rid)
    return fhir_response(resource, headers=_resource_headers(resource), request=request)


@router.put("/{kind}/{rid}")
async def update(
    request: Request, kind: str, rid: str, db: SessionDep, caller: CallerDep
) -> Response:
    body = await _body(request)
    resource = service.update(db, caller, kind, rid, body, _if_match(request))
    return fhir_response(resource, headers=_resource_headers(resource))


@router.get("/{kind}/{rid}/_history")
def instance_history(
    request: Request, kind: str, rid: str, db: SessionDep, caller: CallerDep
) -> Response:
    return fhir_response(service.history(db, caller, kind, rid, _base(request)))


@router.get("/{kind}/{rid}/_history/{vid}")
def vread(kind: str, rid: str, vid: str, db: SessionDep, caller: CallerDep) -> Response:
    resource = service.vread(db, caller, kind, rid, vid)
    return fhir_response(resource, headers=_resource_headers(resource))
