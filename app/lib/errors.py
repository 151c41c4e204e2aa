"""domain errors, mapped once to rfc 9457 problem details for the api and to a friendly page for people."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.lib.htmx import to_login
from app.lib.paths import NOT_PAGES

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True):
    """one input the request got wrong."""

    field: str  # a json path into the body (`arms[0].name`), a parameter's name, or `body` for the body as a whole
    message: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """rfc 9457 problem details, as every json error answer of levers carries them."""

    type: str  # always about:blank: the status and title say what happened
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []  # left out when no single input is to blame


class DomainError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    status_code = 404
    title = "Not found"


class ConflictError(DomainError):
    status_code = 409
    title = "Conflict"


class InvalidInputError(DomainError):
    status_code = 422
    title = "Invalid input"


class PermissionDeniedError(DomainError):
    status_code = 403
    title = "Forbidden"


class UnauthorizedError(DomainError):
    status_code = 401
    title = "Unauthorized"


class UnavailableError(DomainError):
    status_code = 503
    title = "Service unavailable"


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(NOT_PAGES):
        return False
    return "text/html" in request.headers.get("accept", "") or bool(request.headers.get("hx-request"))


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if _wants_html(request):
        return Template(
            template_name="errors/error.html",
            context={"status": status, "title": title, "detail": detail, "errors": errors or []},
            status_code=status,
            headers=headers,
        )
    body = Problem(
        type="about:blank",
        title=title,
        status=status,
        detail=detail,
        errors=[FieldError(field=e["field"], message=e["message"]) for e in errors or ()],
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_AT_PATH = re.compile(r"at `\$\.?([^`]*)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def field_from_message(message: str, default: str = "body") -> str:
    """the json path a msgspec validation message points at, e.g. `arms[0].name`."""
    at = _AT_PATH.search(message)
    path = at.group(1) if at else ""
    if "..." in path:  # the decoder could not tell where: the body as a whole
        path = ""
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path or default


def form_error(exc: msgspec.ValidationError, default: str) -> tuple[str, str]:
    """(field path, message) of a msgspec validation error, for a form to show beside the field.

    ``Expected `int`, got `str` - at `$.arms[0].name``` gives ``("arms[0].name", "Expected `int`, got `str`")``;
    an error that names no place gives ``default``.
    """
    text = str(exc)
    return field_from_message(text, default), text.split(" - at `")[0]


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
    return problem(request, exc.status_code, exc.title, exc.message, errors)


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            key = item.get("key")
            field = field_from_message(message, key or "body") if key in (None, "data", "body") else key
            errors.append({"field": field, "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(exc.detail)
    return problem(request, exc.status_code, "Invalid request", detail, errors or None)


def handle_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 401 and _wants_html(request):
        return to_login(request)
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        413: "Body too large",
        429: "Too many requests",
        503: "Service unavailable",
    }
    detail = str(exc.detail)
    # a body that is not json (or overflows, like 1e999) is named, as every other bad input is
    errors = [{"field": field_from_message(detail), "message": detail}] if exc.status_code in {400, 413} else None
    return problem(
        request, exc.status_code, title.get(exc.status_code, "Bad request"), detail, errors, headers=exc.headers
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path)
    return problem(
        request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "something went wrong on our side; it was logged"
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    Exception: handle_unexpected,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "ConflictError",
    "DomainError",
    "FieldError",
    "InvalidInputError",
    "MediaType",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "UnauthorizedError",
    "UnavailableError",
]
