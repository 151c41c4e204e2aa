"""a browser-like session on the shared test client: log in through the form, post forms with the csrf token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.db.models import ArmStatsHourly

PASSWORD = "correct horse battery"


class PageSession:
    def __init__(self, client: AsyncTestClient[Litestar]) -> None:
        self.client = client

    async def login(self, email: str, password: str = PASSWORD) -> PageSession:
        self.client.cookies.clear()
        await self.client.get("/login")
        response = await self.post("/login", {"email": email, "password": password})
        assert response.status_code in (302, 303), response.text
        return self

    @property
    def csrf(self) -> dict[str, str]:
        return {"x-csrftoken": self.client.cookies.get("csrftoken", "")}

    async def get(self, path: str) -> Any:
        return await self.client.get(path, headers={"accept": "text/html"}, follow_redirects=False)

    async def post(self, path: str, form: dict[str, str]) -> Any:
        if "csrftoken" not in self.client.cookies:
            await self.client.get("/login")
        return await self.client.post(path, data=form, headers=self.csrf, follow_redirects=False)


async def seed_rows(database_url: str, experiment_id: str, per_arm: list[tuple[int, int]], hours: int) -> datetime:
    """spreads each arm's (exposures, conversions) evenly over ``hours`` hours ending at the last full hour."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    rows = []
    for h in range(hours):
        for arm, (exposures, conversions) in enumerate(per_arm):
            n = exposures // hours + (1 if h < exposures % hours else 0)
            c = conversions // hours + (1 if h < conversions % hours else 0)
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "arm_index": arm,
                    "hour": start + timedelta(hours=h),
                    "exposures": n,
                    "feedbacks": c,
                    "reward_sum": float(c),
                    "reward_sum_sq": float(c),
                }
            )
    engine = create_async_engine(database_url)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(insert(ArmStatsHourly), rows)
    await engine.dispose()
    return start
