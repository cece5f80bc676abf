"""The locale of each request and the security headers of each answer.

A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
``BaseHTTPMiddleware`` runs the rest of the application in a second task and streams
the answer back through a memory channel, about a millisecond per request here, on
every page, API call and FHIR read.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parcours.web.i18n import current_locale, pick_locale

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
LOCALE_COOKIE = "parcours_lang"
LOCALE_COOKIE_AGE = 365 * 86400
# Swagger UI's page sets its own policy (it needs one inline script).
_OWN_POLICY_PATHS = frozenset({"/api/docs"})


class LocaleAndHeaders:
    """Sets the request's locale (``?lang=``, then the cookie, then Accept-Language), keeps a
    chosen ``?lang=`` in a cookie, and adds the security headers an answer does not set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        asked = request.query_params.get("lang")
        locale = pick_locale(
            asked, request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language")
        )
        own_policy = scope["path"] in _OWN_POLICY_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if not (own_policy and name == "Content-Security-Policy"):
                        headers.setdefault(name, value)
                if asked == locale:
                    headers.append(
                        "set-cookie",
                        f"{LOCALE_COOKIE}={locale}; Max-Age={LOCALE_COOKIE_AGE}; Path=/; "
                        "SameSite=lax",
                    )
            await send(message)

        token = current_locale.set(locale)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_locale.reset(token)
