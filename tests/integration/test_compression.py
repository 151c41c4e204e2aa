"""responses are compressed where it pays: the tag, css, js and pages; never the small hot decision answers."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import pytest

from tests.integration.conftest import Tenant
from tests.integration.test_tag_api import PLAIN, make_shop

TAG_LIMIT = 6 * 1024


async def raw(tenant: Tenant, path: str, encoding: str, **kwargs: Any) -> tuple[Any, bytes]:
    """the response and its body as it went over the wire (the client would otherwise decode it)."""
    headers = {"accept-encoding": encoding, **kwargs.pop("headers", {})}
    async with tenant.client.stream("GET", path, headers=headers, **kwargs) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize(("encoding", "decode"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
async def test_the_tag_goes_over_the_wire_compressed_under_6_kb(tenant: Tenant, encoding: str, decode: Any) -> None:
    shop = await make_shop(tenant)
    response, body = await raw(tenant, f"/t/{shop.key}.js", encoding)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == encoding
    assert int(response.headers["content-length"]) == len(body) <= TAG_LIMIT
    script = decode(body).decode()
    assert shop.key in script and len(script) > 2 * len(body)
    assert "accept-encoding" in response.headers.get("vary", "").lower()


async def test_a_client_that_accepts_nothing_gets_the_plain_tag(tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    response, body = await raw(tenant, f"/t/{shop.key}.js", "identity")
    assert "content-encoding" not in response.headers
    assert shop.key in body.decode()


@pytest.mark.parametrize("path", ["/login", "/static/css/levers.css"])
async def test_pages_and_static_files_are_compressed(tenant: Tenant, path: str) -> None:
    response, body = await raw(tenant, path, "gzip, br")
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "br"
    assert len(brotli.decompress(body)) > len(body)


async def test_hot_decision_answers_are_not_compressed(tenant: Tenant) -> None:
    shop = await make_shop(tenant)
    decided = await shop.tenant.client.post(
        f"/p/{shop.key}/d", content='{"v": "v1", "x": ["hero"]}', headers={**PLAIN, "accept-encoding": "br, gzip"}
    )
    assert decided.status_code == 200 and "content-encoding" not in decided.headers
    selected = await tenant.client.post(
        "/api/v1/select",
        json={"experiment_id": shop.experiment["id"], "context": {"id": "v1"}},
        headers={**tenant.headers, "accept-encoding": "br, gzip"},
    )
    assert selected.status_code == 200 and "content-encoding" not in selected.headers
