"""the openapi document is a contract: valid 3.1, every handler described, every answer documented in its shape."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.integration.conftest import Tenant

METHODS = {"get", "put", "post", "delete", "patch"}
# json answers that are not problems by design: readiness reports its checks in both states
NOT_PROBLEMS = {("get", "/readyz", "503")}


@pytest.fixture(scope="module")
async def spec(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def problem_validator(spec: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """validates a body against the documented Problem schema, resolving its refs inside the document."""
    schema = {"$ref": "#/components/schemas/Problem", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema)


async def test_schema_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec, cls=OpenAPIV31SpecValidator)


async def test_every_route_is_in_the_schema(spec: dict[str, Any], app: Litestar) -> None:
    documented = {(method, path) for method, path, _ in operations(spec)}
    expected = set()
    for route in app.routes:
        path = route.path_format
        if path.startswith(("/api/", "/auth/", "/p/", "/t/")) or path in {"/healthz", "/readyz", "/metrics"}:
            expected |= {(m.lower(), path) for m in getattr(route, "methods", ()) if m.lower() in METHODS}
    assert expected, "no api route found: the app's routes moved"
    assert expected - documented == set()


async def test_every_operation_has_a_one_line_description(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        description = operation.get("description") or ""
        assert description.strip(), f"{method} {path} has no docstring"
        assert "\n" not in description.strip(), f"{method} {path}: the docstring is more than one line"


async def test_every_error_answer_is_a_documented_problem(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        assert "500" in responses, f"{method} {path} does not document 500"
        for status, response in responses.items():
            if status[0] not in "45" or (method, path, status) in NOT_PROBLEMS:
                continue
            content = response.get("content") or {}
            assert list(content) == ["application/problem+json"], (method, path, status, list(content))
            assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert response["description"], (method, path, status)


async def test_authenticated_operations_document_401_and_bodies_their_rejections(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, f"{method} {path} needs a credential but does not document 401"
        if "requestBody" in operation:
            missing = {"413", "422"} - set(responses)
            assert not missing, f"{method} {path} takes a body but does not document {missing}"


async def test_the_problem_schema_matches_what_the_app_answers(
    spec: dict[str, Any], client: AsyncTestClient[Litestar], tenant: Tenant
) -> None:
    validator = problem_validator(spec)
    answers = [
        await client.get("/api/v1/pools"),  # 401 from the middleware
        await tenant.get("/api/v1/pools/00000000-0000-0000-0000-000000000000"),  # 404 from a service
        await tenant.post("/api/v1/pools", {"name": "p", "arms": [{"name": "a"}, {"name": "a"}]}),  # 422, a field
        await client.post("/api/v1/pools", content=b"{", headers=tenant.headers),  # 400, not json
        await tenant.post("/api/v1/pools", {"name": 3}),  # 400, schema mismatch
    ]
    assert [a.status_code for a in answers] == [401, 404, 422, 400, 400]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")
        body = answer.json()
        errors = sorted(validator.iter_errors(body), key=str)
        assert not errors, (body, [e.message for e in errors])
        assert body["status"] == answer.status_code
    # the errors list names the field the request got wrong
    assert answers[2].json()["errors"][0]["field"] == "arms[1].name"
    assert answers[4].json()["errors"][0]["field"] == "name"


async def test_the_schema_rejects_a_problem_that_breaks_it(spec: dict[str, Any]) -> None:
    validator = problem_validator(spec)
    good = {"type": "about:blank", "title": "Invalid input", "status": 422, "detail": "x"}
    assert validator.is_valid(good)
    assert validator.is_valid({**good, "errors": [{"field": "name", "message": "too long"}]})
    assert not validator.is_valid({**good, "errors": [{"message": "no field"}]})
    assert not validator.is_valid({key: value for key, value in good.items() if key != "status"})
