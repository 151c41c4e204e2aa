"""static files: hashed names cached for a year, plain names revalidated by etag, every page links hashed names."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import brotli
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.lib import observability
from tests.integration.conftest import Tenant
from tests.integration.pages_support import PageSession

STATIC = Path(__file__).resolve().parents[2] / "frontend" / "static"
# any static url in the page: src, href and the chart library's data-chart-src
LINKED = re.compile(r"""/static/[^"'\s<>]+""")


def hashed(name: str) -> str:
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    stem, _, suffix = name.rpartition(".")
    return f"/static/{stem}.{digest}.{suffix}"


@pytest.mark.parametrize("name", ["css/levers.css", "js/chart-4.6.1.umd.min.js", "js/levers-check.js"])
async def test_a_hashed_name_is_served_immutable_with_the_files_bytes(
    client: AsyncTestClient[Litestar], name: str
) -> None:
    response = await client.get(hashed(name), headers={"accept-encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == (STATIC / name).read_bytes()
    assert "content-encoding" not in response.headers
    assert response.headers["content-type"].startswith("text/css" if name.endswith(".css") else "text/javascript")
    # the page's security headers still come with it
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("encoding", "decode"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
async def test_hashed_files_go_out_compressed(client: AsyncTestClient[Litestar], encoding: str, decode: object) -> None:
    name = "js/chart-4.6.1.umd.min.js"
    async with client.stream("GET", hashed(name), headers={"accept-encoding": f"{encoding}, identity"}) as response:
        wire = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == encoding
    assert int(response.headers["content-length"]) == len(wire) < 80_000
    assert decode(wire) == (STATIC / name).read_bytes()  # type: ignore[operator]
    assert "accept-encoding" in response.headers["vary"].lower()


async def test_brotli_refused_by_q0_falls_back_to_gzip(client: AsyncTestClient[Litestar]) -> None:
    async with client.stream("GET", hashed("css/levers.css"), headers={"accept-encoding": "br;q=0, gzip"}) as answer:
        wire = b"".join([chunk async for chunk in answer.aiter_raw()])
    assert answer.headers["content-encoding"] == "gzip"
    assert gzip.decompress(wire) == (STATIC / "css/levers.css").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/levers.000000000000.css",  # a hash that is not the file's
        "/static/css/nothing.css",
        "/static/css/../../../pyproject.toml",
        "/static/css",
    ],
)
async def test_a_wrong_hash_or_unknown_file_is_404(client: AsyncTestClient[Litestar], path: str) -> None:
    assert (await client.get(path)).status_code == 404


async def test_static_files_answer_only_get_and_head(client: AsyncTestClient[Litestar]) -> None:
    head = await client.head(hashed("css/levers.css"))
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) > 0
    assert (await client.post("/static/css/levers.css")).status_code == 405


async def test_a_plain_name_revalidates_with_an_etag(client: AsyncTestClient[Litestar]) -> None:
    first = await client.get("/static/css/levers.css", headers={"accept-encoding": "br"})
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = await client.get("/static/css/levers.css", headers={"if-none-match": etag, "accept-encoding": "br"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    # a cache holding the uncompressed copy is answered 304 too: same bytes underneath
    plain = await client.get("/static/css/levers.css", headers={"if-none-match": etag.replace(".br", "")})
    assert plain.status_code == 304
    stale = await client.get("/static/css/levers.css", headers={"if-none-match": '"0123456789ab"'})
    assert stale.status_code == 200 and stale.content == (STATIC / "css/levers.css").read_bytes()


async def test_every_page_links_hashed_static_files(client: AsyncTestClient[Litestar], tenant: Tenant) -> None:
    experiment = await tenant.experiment()
    page = await PageSession(client).login(tenant.email)
    seen: set[str] = set()
    for path in ["/experiments", f"/experiments/{experiment['id']}", "/sites", "/team", "/api-keys", "/gates"]:
        response = await page.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        links = LINKED.findall(response.text)
        assert links, path
        for link in links:
            assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", link), (path, link)
        seen.update(links)
    client.cookies.clear()
    seen.update(LINKED.findall((await client.get("/login")).text))
    # the results page's chart library among them, and each link served immutable
    assert hashed("js/chart-4.6.1.umd.min.js") in seen and hashed("css/levers.css") in seen
    for link in sorted(seen):
        answer = await client.get(link)
        assert answer.status_code == 200 and "immutable" in answer.headers["cache-control"], link


class Recorder:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def log(self, level: int, event: str, **fields: object) -> None:
        self.paths.append(str(fields["path"]))


async def test_static_requests_stay_out_of_the_access_log(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    monkeypatch.setattr(observability, "access_log", recorder)
    assert (await client.get(hashed("css/levers.css"))).status_code == 200
    assert (await client.get("/static/css/nothing.css")).status_code == 404
    assert (await client.get("/login")).status_code == 200
    assert recorder.paths == ["/login"]
