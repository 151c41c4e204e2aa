"""openapi helpers: the problem+json answers each handler declares, and bodies the handler decodes itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, RequestBody

from app.lib.errors import PROBLEM_JSON, Problem

# what each status means for any levers handler; the body is always a Problem
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "The body is not JSON, or it or a parameter does not match the schema: `errors` names the field.",
    401: "No valid `Authorization: Bearer` access token or API key.",
    403: "Your role does not allow this.",
    404: "Nothing by that id or key in your organization.",
    409: "The request conflicts with the resource's current state: `errors` names the field.",
    413: "The body is larger than this endpoint accepts.",
    422: "The body is well formed but a value is not acceptable: `errors` names the field.",
    429: "Too many requests: wait for the seconds in `Retry-After`.",
    500: "An unexpected error; it was logged with the request id.",
    503: "A store is unavailable and nothing was recorded: retry shortly.",
}

# the browser tag sends json as text/plain, so browsers send it without a cors preflight
TEXT_JSON = ("text/plain", "application/json")
# what any route can answer whatever it does: a bug, logged
ALWAYS = (500,)
# an authenticated route: a missing or revoked credential
AUTHENTICATED = (401, *ALWAYS)
# a route that takes a json body
WITH_BODY = (400, 413, 422)


def problem_responses(*statuses: int, **descriptions: str) -> dict[int, ResponseSpec]:
    """responses={...} for a handler: each status with its problem+json body. descriptions overrides the
    generic text for a status, keyed `s404="no such pool"`."""
    out: dict[int, ResponseSpec] = {}
    for status in sorted({*statuses, *ALWAYS}):
        out[status] = ResponseSpec(
            data_container=Problem,
            description=descriptions.get(f"s{status}", PROBLEM_DESCRIPTIONS[status]),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
    return out


def api_responses(*statuses: int, body: bool = False, **descriptions: str) -> dict[int, ResponseSpec]:
    """problem_responses for a bearer-authenticated json route; body adds the statuses of a json body."""
    return problem_responses(*AUTHENTICATED, *(WITH_BODY if body else ()), *statuses, **descriptions)


def inline_schema(struct: type[msgspec.Struct]) -> dict[str, Any]:
    """struct's json schema with its definitions inlined: openapi 3.1 schema objects are json schema 2020-12,
    as msgspec writes it, but litestar registers only the components it generates itself."""
    root = msgspec.json.schema(struct)
    defs: dict[str, Any] = root.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(root)


def operation(
    body: type[msgspec.Struct] | None = None,
    body_media: tuple[str, ...] = ("application/json",),
    also_answers: tuple[str, ...] = (),
) -> type[Operation]:
    """operation_class=... for what litestar can't see: the body of a handler that decodes it itself, and other
    media types its success answer can come in (with the same schema)."""
    request_body = None
    if body is not None:
        schema = inline_schema(body)
        content = {media: OpenAPIMediaType(schema=schema) for media in body_media}  # type: ignore[arg-type]
        request_body = RequestBody(content=content, required=True)

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if request_body is not None:
                self.request_body = request_body
            for status, response in (self.responses or {}).items():
                if status.startswith("2") and isinstance(response, OpenAPIResponse) and response.content:
                    first = next(iter(response.content.values()))
                    for media in also_answers:
                        response.content.setdefault(media, OpenAPIMediaType(schema=first.schema))

    return DocumentedOperation
