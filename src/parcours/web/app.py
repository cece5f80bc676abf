"""The application factory: one FastAPI app with the JSON API, the pages and the assets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from parcours import __version__
from parcours.config import get_settings
from parcours.db import make_engine, make_session_factory
from parcours.errors import DomainError
from parcours.web.deps import LoginRequired
from parcours.web.headers import LocaleAndHeaders
from parcours.web.i18n import gettext_
from parcours.web.static_files import STATIC_DIR, CachedStaticFiles, asset_url
from parcours.web.templating import render

# Swagger UI is vendored under /static (no CDN at run time). Its page needs one inline
# script, so it gets its own policy: inline script allowed, every fetch kept on this host.
SWAGGER_ASSETS = "vendor/swagger-ui"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'"
)


def _install_docs(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        response = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/api/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=asset_url(f"{SWAGGER_ASSETS}/swagger-ui-bundle.js"),
            swagger_css_url=asset_url(f"{SWAGGER_ASSETS}/swagger-ui.css"),
            swagger_favicon_url=asset_url(f"{SWAGGER_ASSETS}/favicon-32x32.png"),
            # The default validator badge would call validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
        response.headers["Content-Security-Policy"] = DOCS_CSP
        return response


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/fhir/"))


def error_body(code: str, message: str, details: object | None = None) -> dict[str, object]:
    body: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        message = gettext_(exc.message)
        message = message.format(**exc.params) if exc.params else message
        if _wants_json(request):
            return JSONResponse(error_body(exc.code, message), status_code=exc.status_code)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": message, "code": exc.code},
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in exc.errors()
        ]
        message = gettext_("Requête invalide : vérifiez les champs indiqués.")
        if _wants_json(request):
            return JSONResponse(error_body("validation_error", message, details), status_code=422)
        return render(
            request,
            "error.html",
            {"status": 422, "message": message, "code": "validation_error", "details": details},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        message = gettext_("Page introuvable.") if exc.status_code == 404 else str(exc.detail)
        if _wants_json(request):
            return JSONResponse(error_body(code, message), status_code=exc.status_code)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": message, "code": code},
            status_code=exc.status_code,
        )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        reason = f"&reason={exc.reason}" if exc.reason else ""
        return RedirectResponse(f"/login?next={quote(target)}{reason}", status_code=303)


def create_app(engine: Engine | None = None) -> FastAPI:
    settings = get_settings()
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from parcours.pathways import sweeper

        task = None
        if settings.expiry_sweep_minutes > 0:
            task = asyncio.create_task(
                sweeper.run(app.state.session_factory, settings.expiry_sweep_minutes)
            )
        from parcours.indicators import refresher

        every = refresher.period_seconds()
        aggregates = (
            asyncio.create_task(refresher.run(app.state.session_factory, every))
            if every > 0
            else None
        )
        yield
        for running in (task, aggregates):
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    app = FastAPI(
        lifespan=lifespan,
        title="Parcours",
        version=__version__,
        description="Système d'information régional unifié du GST",
        docs_url=None,  # served by _install_docs from vendored assets
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)

    app.add_middleware(LocaleAndHeaders)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    _install_error_handlers(app)
    # Long-lived caching of versioned asset URLs: see parcours.web.static_files.
    app.mount("/static", CachedStaticFiles(directory=STATIC_DIR), name="static")

    from parcours.web.routes import include_routers

    include_routers(app)
    _install_docs(app)
    return app
