"""Pages that belong to no context (the home redirect, the health probe), and what
every context's pages share: the wording of a refused action and page links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from sqlalchemy import text

from parcours.errors import DomainError
from parcours.web.deps import SessionDep
from parcours.web.i18n import gettext_

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=303)


@router.get("/healthz", include_in_schema=False)
def health(db: SessionDep) -> dict[str, str]:
    db.execute(text("SELECT 1"))
    return {"status": "ok"}


def explain(exc: DomainError) -> str:
    """A use case's refusal in the reader's language, as the error page words it."""
    message = gettext_(exc.message)
    return message.format(**exc.params) if exc.params else message


def url_with(path: str, params: Mapping[str, str | int], **changes: str | int | None) -> str:
    """``path`` with the query ``params``, some changed or removed (None); empty ones dropped."""
    merged: dict[str, str | int | None] = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class PageLink:
    number: int | None  # None: a gap ("…")
    url: str
    current: bool = False


@dataclass(frozen=True)
class Pager:
    total: int
    page: int
    pages: int
    first_item: int
    last_item: int
    previous: str | None
    next: str | None
    links: list[PageLink]


def pager(
    path: str,
    params: Mapping[str, str | int],
    page: int,
    page_size: int,
    total: int,
    *,
    key: str = "page",
) -> Pager:
    """Links to the pages of a result, keeping the filters; a few numbers around the current.

    ``key`` names the page's query parameter, so that one page can hold several lists.
    """
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[PageLink] = []
    previous_number = 0
    for number in wanted:
        if number > previous_number + 1:
            links.append(PageLink(None, ""))
        links.append(PageLink(number, url_with(path, params, **{key: number}), number == page))
        previous_number = number
    return Pager(
        total=total,
        page=page,
        pages=pages,
        first_item=0 if total == 0 else (page - 1) * page_size + 1,
        last_item=min(total, page * page_size),
        previous=url_with(path, params, **{key: page - 1}) if page > 1 else None,
        next=url_with(path, params, **{key: page + 1}) if page < pages else None,
        links=links,
    )
