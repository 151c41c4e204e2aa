"""helpers of the dashboard browser tests: sign up through the page, call the api, seed hourly statistics."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.models import ArmStatsHourly
from tests.conftest import run_isolated

PASSWORD = "a long enough password"


def sign_up(page: Any, base_url: str, email: str | None = None) -> str:
    from playwright.sync_api import expect

    email = email or f"marketer-{secrets.token_hex(4)}@example.com"
    page.goto(f"{base_url}/register")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # a new account and a taken email get the same answer (the login page, email filled in), then one logs in
    expect(page).to_have_url(re.compile(r"/login\?registered=1"))
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/experiments")
    return email


def api_token(base_url: str, email: str) -> dict[str, str]:
    response = httpx.post(f"{base_url}/auth/login", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def csrf_headers(context: Any) -> dict[str, str]:
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    return {"x-csrftoken": token}


def seed_hourly(database_url: str, experiment_id: str, rates: list[float], days: int = 30, seed: int = 3) -> None:
    """hourly rows of a bandit that moves traffic to the best arm over ``days`` days, ending now."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    arms = len(rates)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    tilt = np.argsort(np.argsort(rates)).astype(float)
    weights = np.exp(np.outer(np.linspace(0.0, 1.2, hours), tilt))
    visitors = rng.poisson(40 * weights / weights.sum(axis=1, keepdims=True) * arms)
    rows = []
    for h in range(hours):
        for a in range(arms):
            n = int(visitors[h, a])
            c = int(rng.binomial(n, rates[a]))
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "arm_index": a,
                    "hour": start + timedelta(hours=h),
                    "exposures": n,
                    "feedbacks": c,
                    "reward_sum": float(c),
                    "reward_sum_sq": float(c),
                }
            )

    async def write() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(insert(ArmStatsHourly), rows)
        await engine.dispose()

    run_isolated(lambda: asyncio.run(write()))
