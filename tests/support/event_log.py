"""synthetic logged traffic with a known truth, written straight into the event log as the worker would."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.runtime.records import Event
from app.worker.event_log import EventLog, month_of


async def seed_log(
    database_url: str, experiment_id: str, shares: list[float], rates: list[float], n: int, seed: int = 0
) -> None:
    """n exposures over the last hour, arm i served with probability shares[i] (its logged propensity) and
    converting with probability rates[i]; a conversion is a reward event with its exposure's nonce."""
    rng = np.random.default_rng(seed)
    arms = rng.choice(len(shares), size=n, p=shares)
    converted = rng.random(n) < np.asarray(rates)[arms]
    start = time.time() - 3600
    events = []
    for i, arm in enumerate(arms):
        at = start + i * 3600 / n
        nonce = f"{experiment_id[:8]}-{seed}-{i}"
        events.append(
            Event(
                kind="x", experiment=experiment_id, arm=int(arm), reward=0.0, trials=1, ts=at,
                propensity=shares[arm], nonce=nonce, issued=at,
            )
        )  # fmt: skip
        if converted[i]:
            events.append(
                Event(
                    kind="f", experiment=experiment_id, arm=int(arm), reward=1.0, trials=0, ts=at + 30,
                    propensity=shares[arm], nonce=nonce, issued=at,
                )
            )  # fmt: skip
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    log = EventLog()
    await log.ensure(sessions, {month_of(datetime.fromtimestamp(start, UTC)), month_of(datetime.now(UTC))})
    async with sessions() as session, session.begin():
        await log.append(session, events)
    await engine.dispose()
