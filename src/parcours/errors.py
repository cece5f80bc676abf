"""Errors raised by use cases and turned into 4xx answers by the web layer.

Each carries a stable machine code (for systems) and a French message (for
people, translated at rendering time), so that a service function never needs
to know whether it was called from a page, the JSON API or the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params

    def render(self) -> str:
        return self.message.format(**self.params) if self.params else self.message


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class Problem:
    """One thing a context's rules found wrong: a machine code and a French message.

    Rules return every problem they find rather than stop at the first, so that a form
    or an import row is told everything that is wrong with it at once.
    """

    code: str
    message: str


def refuse(
    problems: Sequence[Problem], kind: type[DomainError] = Invalid, *, separator: str = " "
) -> None:
    """Raise ``kind`` if there is any problem: the first one's code, all the messages."""
    if problems:
        raise kind(
            "{problems}",
            code=problems[0].code,
            problems=separator.join(p.message for p in problems),
        )
