"""Static assets with caching fit for a slow rural link: fetched once, kept until they change.

Pages refer to an asset through :func:`asset_url`, which appends ``?v=`` and
the first characters of a hash of the file's content. Such a URL names one
version of the file for ever, so it is served ``immutable`` for a year: a
browser never asks for it again, not even to revalidate. A new version has a
new hash, hence a new URL, and the next page loads it. A request without ``v``
(typed by hand, or from a page of an older release) gets a short lifetime and
revalidates with the ETag that Starlette already sends.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC_DIR = Path(str(resources.files("parcours.web") / "static"))
STATIC_PREFIX = "/static/"

LONG_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=3600"


@lru_cache(maxsize=256)
def asset_version(path: str) -> str:
    """A short hash of the asset's content (read once per process: assets ship with the code)."""
    digest = hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()
    return digest[:10]


def asset_url(path: str) -> str:
    """The URL of ``path`` (relative to static/) that changes whenever the file does."""
    path = path.lstrip("/")
    return f"{STATIC_PREFIX}{path}?v={asset_version(path)}"


def _has_version(scope: Scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    return any(part.split("=", 1)[0] == "v" for part in query.split("&") if part)


class CachedStaticFiles(StaticFiles):
    """StaticFiles that says how long a browser may keep what it sends."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        policy = LONG_CACHE if _has_version(scope) else SHORT_CACHE

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                headers.append((b"cache-control", policy.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_policy)
