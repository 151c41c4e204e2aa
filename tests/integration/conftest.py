from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.asgi import create_app
from app.settings import Settings
from app.worker.drain import Drainer


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


class Tenant:
    """a freshly registered organization, with helpers that call the api as its owner."""

    def __init__(self, client: AsyncTestClient[Litestar], email: str, token: str) -> None:
        self.client = client
        self.email = email
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(self, path: str, json: Any, expect: int | None = None) -> Any:
        response = await self.client.post(path, json=json, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    async def get(self, path: str, expect: int | None = None) -> Any:
        response = await self.client.get(path, headers=self.headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    async def pool(self, arms: int = 2) -> dict[str, Any]:
        body = {"name": "buttons", "arms": [{"name": f"arm-{i}", "metadata": {"i": i}} for i in range(arms)]}
        return (await self.post("/api/v1/pools", body, 201)).json()

    async def experiment(self, **fields: Any) -> dict[str, Any]:
        if "pool_id" not in fields:
            fields["pool_id"] = (await self.pool(fields.pop("arms", 2)))["id"]
        body = {"name": "exp", "protocol": "beta_ts", **fields}
        return (await self.post("/api/v1/experiments", body, 201)).json()


async def register(client: AsyncTestClient[Litestar]) -> Tenant:
    email = f"user-{secrets.token_hex(4)}@example.com"
    password = "correct horse battery"
    response = await client.post("/auth/register", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return Tenant(client, email, response.json()["access_token"])


@pytest.fixture
async def tenant(client: AsyncTestClient[Litestar]) -> Tenant:
    return await register(client)


@pytest.fixture
async def other_tenant(client: AsyncTestClient[Litestar]) -> Tenant:
    return await register(client)


@pytest.fixture
async def drainer(app: Litestar, settings: Settings, redis: Redis) -> AsyncIterator[Drainer]:
    """the worker's stream drain on the test app's redis prefix and database, ticked by hand with drain()."""
    engine = create_async_engine(settings.async_database_url)
    drainer = Drainer(redis, app.state.redis_keys, async_sessionmaker(engine, expire_on_commit=False), lease_seconds=30)
    yield drainer
    await drainer.release()
    await engine.dispose()


async def drain(drainer: Drainer) -> None:
    """ticks until the streams hold nothing new."""
    while await drainer.tick():
        pass
