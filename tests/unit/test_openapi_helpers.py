from __future__ import annotations

import json

from app.domain.tag.schemas import EventsRequest
from app.lib.errors import PROBLEM_JSON, Problem
from app.lib.openapi import api_responses, inline_schema, problem_responses


def test_problem_responses_always_document_500_with_the_problem_body() -> None:
    responses = problem_responses(404, s404="no such pool")
    assert sorted(responses) == [404, 500]
    assert responses[404].description == "no such pool"
    assert all(r.data_container is Problem and r.media_type == PROBLEM_JSON for r in responses.values())


def test_api_responses_add_authentication_and_body_statuses() -> None:
    assert sorted(api_responses(404)) == [401, 404, 500]
    assert sorted(api_responses(403, body=True)) == [400, 401, 403, 413, 422, 500]


def test_inline_schema_leaves_no_reference_behind() -> None:
    schema = inline_schema(EventsRequest)
    assert "$ref" not in json.dumps(schema) and "$defs" not in schema
    event = schema["properties"]["e"]["items"]
    assert sorted(event["properties"]["k"]["enum"]) == ["c", "x"] and event["additionalProperties"] is False
