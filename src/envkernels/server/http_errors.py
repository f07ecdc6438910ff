"""How engine errors become HTTP answers: ``{"message", "hint", "reason"}`` with 400/403/404/409/413.

Pure mapping from an exception to (status, body), so the table is tested without a server.
``reason`` is a short stable word the UI can branch on; ``message`` and ``hint`` are for people.
"""

from __future__ import annotations

from http.client import responses
from typing import Any

from tornado import web

from envkernels.errors import (
    BadInputError,
    CommandError,
    ConflictError,
    EnvKernelsError,
    NotFoundError,
    UsageError,
)
from envkernels.limits import TooLargeError
from envkernels.server.paths import OutsideRootError
from envkernels.shared import SharedEnvironmentError
from envkernels.sync.sources import SourcesNotAllowedError

# Most specific first: BadInputError is also a ValueError, NotFoundError a LookupError.
_STATUS: tuple[tuple[type[EnvKernelsError], int, str], ...] = (
    (OutsideRootError, 403, "outside-root"),
    (SourcesNotAllowedError, 403, "source-not-allowed"),
    (SharedEnvironmentError, 403, "shared-environment"),
    (NotFoundError, 404, "not-found"),
    (ConflictError, 409, "conflict"),
    (CommandError, 409, "command-failed"),
    (TooLargeError, 413, "too-large"),
    (BadInputError, 400, "bad-input"),
    (UsageError, 400, "bad-request"),
)

_HINTS = {
    400: "check the request body and query against the envkernels REST API",
    403: "send the server's token (`Authorization: token ...`) and, with cookie login, "
    "the `X-XSRFToken` header",
    404: "GET envkernels/api/environments lists what exists",
    405: "see the envkernels REST API for the methods each endpoint takes",
}


class ApiError(web.HTTPError):
    """An HTTPError that also carries a hint and a stable ``reason`` word."""

    def __init__(self, status: int, message: str, hint: str | None = None, reason: str | None = None) -> None:
        super().__init__(status, message)
        self.message = message
        self.hint = hint
        self.reason_word = reason or responses.get(status, "error").lower().replace(" ", "-")


def api_error(exc: EnvKernelsError) -> ApiError:
    """The HTTP error an engine error becomes (400 for any EnvKernelsError not listed)."""
    for cls, status, reason in _STATUS:
        if isinstance(exc, cls):
            return ApiError(status, exc.message, exc.hint, reason)
    return ApiError(400, exc.message, exc.hint, "bad-request")


def error_body(status: int, exc: BaseException | None) -> dict[str, Any]:
    """The JSON body of an error answer; never a traceback."""
    if isinstance(exc, ApiError):
        return {"message": exc.message, "hint": exc.hint, "reason": exc.reason_word}
    phrase = responses.get(status, "Unknown HTTP Error")
    reason = phrase.lower().replace(" ", "-")
    if isinstance(exc, web.HTTPError):
        getter = getattr(exc, "get_message", None)  # tornado >= 6.5 formats (and escapes) itself
        if getter is not None:
            message = getter()
        elif exc.log_message and exc.args:
            message = exc.log_message % exc.args
        else:
            message = exc.log_message
        if status == 403 and not message:
            message = "not authenticated, or not allowed to use envkernels"
        return {"message": message or phrase, "hint": _HINTS.get(status), "reason": reason}
    if status >= 500:
        return {
            "message": "envkernels failed unexpectedly" + (f": {type(exc).__name__}" if exc else ""),
            "hint": "the server log has the details; please report it",
            "reason": "internal-error",
        }
    return {"message": phrase, "hint": _HINTS.get(status), "reason": reason}
