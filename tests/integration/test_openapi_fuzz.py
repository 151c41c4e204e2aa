"""a bounded property-based run over the openapi document (schemathesis), against a real server on real postgres
and redis, as the owner (access token), an api key (editor) and nobody: no answer is a 5xx, and every answer is
documented (status, media type, body). valid and invalid requests, real ids and tokens at times, and a NUL in one
string at times. derandomized, so a failure replays; FUZZ_EXAMPLES=150 searches longer (5 min here, 0 failures).

16 examples per operation keep the run about a minute (under two on a loaded box) and still find the nul 500s
of sites and api keys when app/lib/request_guard.py's gate is switched off.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.asgi import create_app
from app.settings import Settings
from tests.conftest import scoped
from tests.support.processes import free_port, process_env, start, stop, wait_http

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "16"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class World:
    """a live server and an organization with one of everything, whose ids replace generated ones at times."""

    url: str
    session: requests.Session
    credentials: dict[str, dict[str, str]]  # the owner's access token, an api key (editor), nothing
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def live_url(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`levers serve` in its own process, as deployed."""
    port = free_port()
    log = tmp_path_factory.mktemp("levers-fuzz") / "web.log"
    web = start(["serve", "--port", str(port)], process_env(scoped(settings, "fuzz"), PORT=str(port)), log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(web)


@pytest.fixture(scope="module")
def world(live_url: str) -> Iterator[World]:
    session = requests.Session()

    def call(method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = session.request(method, live_url + path, timeout=30, **kwargs)
        assert response.status_code == expect, response.text
        return response.json()

    email = f"fuzz-{random.randrange(10**9)}@example.com"
    call("POST", "/auth/register", 201, json={"email": email, "password": "correct horse battery"})
    token = call("POST", "/auth/login", 200, json={"email": email, "password": "correct horse battery"})
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    me = call("GET", "/auth/me", 200, headers=headers)
    site = call("POST", "/api/v1/sites", 201, headers=headers, json={"name": "s", "allowed_origins": []})
    pool = call(
        "POST", "/api/v1/pools", 201, headers=headers, json={"name": "p", "arms": [{"name": "a"}, {"name": "b"}]}
    )
    experiment = call(
        "POST",
        "/api/v1/experiments",
        201,
        headers=headers,
        json={"name": "e", "pool_id": pool["id"], "key": "fuzz", "site_id": site["id"]},
    )
    gate = call("POST", "/api/v1/gates", 201, headers=headers, json={"experiment_id": experiment["id"]})
    key = call("POST", "/auth/api-keys", 201, headers=headers, json={"name": "k"})
    invitation = call("POST", "/api/v1/team/invitations", 201, headers=headers, json={"role": "viewer"})
    members = call("GET", "/api/v1/team/members", 200, headers=headers)
    selected = call("POST", "/api/v1/select", 200, headers=headers, json={"experiment_id": experiment["id"]})
    ids = {
        "pool_id": pool["id"],
        "experiment_id": experiment["id"],
        "site_id": site["id"],
        "gate_id": gate["id"],
        "key_id": key["id"],
        "invitation_id": invitation["id"],
        "member_id": next(m["id"] for m in members if m["user_id"] == me["id"]),
        "site_key": site["public_key"],
        "site_file": f"{site['public_key']}.js",
        "selection_token": selected["selection_token"],
    }
    credentials = {"token": headers, "api key": {"Authorization": f"Bearer {key['key']}"}, "none": {}}
    yield World(url=live_url, session=session, credentials=credentials, ids=ids)
    session.close()


def _operations() -> list[Any]:
    # the document as the app serves it, built without a server so each operation is its own test
    dummy = Settings(env="test", database_url="postgresql://x@127.0.0.1/x", redis_url="redis://127.0.0.1:6379/0")
    spec = create_app(dummy).openapi_schema.to_schema()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]

    # what destroys the fixtures (deletes, revoking the api key) runs last, so the rest can reach them; logging out
    # everywhere ends the owner's access token, so it runs after everything else
    def order(op: Any) -> int:
        if op.path.endswith("/logout-everywhere"):
            return 2
        return int(op.method.upper() == "DELETE" or op.path.endswith("/revoke"))

    return sorted(operations, key=order)


OPERATIONS = _operations()


def _with_known_ids(case: Any, world: World, use: list[bool]) -> None:
    """real ids, keys and tokens at times, so the run reaches past 404 into the services."""
    for name in list(case.path_parameters or {}):
        if name in world.ids and use[0]:
            case.path_parameters[name] = world.ids[name]
    if isinstance(case.body, dict) and use[1]:
        for name in ("experiment_id", "pool_id", "site_id", "selection_token"):
            if name in case.body:
                case.body[name] = world.ids[name]


def _string_leaves(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every string in a json value."""
    leaves: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(item, str):
            leaves.append((value, key))
        else:
            leaves.extend(_string_leaves(item))
    return leaves


def _with_nul(case: Any, pick: int | None) -> None:
    """a NUL in one string of the body or query at times: generated strings seldom hold one, and each used to
    be a 500 from postgres."""
    if pick is None:
        return
    leaves = _string_leaves(case.body) + _string_leaves(case.query or {})
    if leaves:
        container, key = leaves[pick % len(leaves)]
        container[key] += "\x00"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_operation_answers_as_documented(operation: Any, world: World) -> None:
    statuses: list[int] = []
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    # two valid requests for one invalid: valid ones reach the services and the stores
    strategy = st.one_of(positive, positive, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report shows the case and its curl
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=strategy,
        credential=st.sampled_from(["token", "token", "api key", "none"]),
        use=st.lists(st.booleans(), min_size=2, max_size=2),
        nul=st.sampled_from([None, *range(16)]),
    )
    def run(case: Any, credential: str, use: list[bool], nul: int | None) -> None:
        _with_known_ids(case, world, use)
        _with_nul(case, nul)
        headers = world.credentials[credential]
        response = case.call(base_url=world.url, session=world.session, headers=headers, timeout=30)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    # the run got past authentication: a run that only ever met 401 would prove nothing
    assert any(status != 401 for status in statuses), statuses
