"""the drain trains what arrived by its tick in one batch: events that come in while a batch runs wait for the
next tick instead of becoming a batch of a few dozen (each batch pays its postgres round trips)."""

from __future__ import annotations

from typing import Any

import pytest

from app.worker import drain as drain_module
from app.worker.drain import Drainer
from tests.integration.conftest import Tenant


async def _drain_leftovers(drainer: Drainer) -> None:
    # earlier tests of the session may have left events in the shared streams: the counts below are this test's
    while await drainer.tick():
        pass


async def test_events_arriving_mid_batch_wait_for_the_next_tick(
    tenant: Tenant, drainer: Drainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _drain_leftovers(drainer)
    experiment = await tenant.experiment()
    body = {"experiment_id": experiment["id"], "context": {"id": "visitor"}}
    for i in range(6):
        await tenant.post("/api/v1/select", {**body, "context": {"id": f"first-{i}"}}, 200)

    real_process = drain_module.process
    batches: list[int] = []

    async def process_while_traffic_arrives(*args: Any, **kwargs: Any) -> Any:
        entries = args[4]
        batches.append(len(entries))
        if len(batches) == 1:
            # three more visitors are selected while the first batch is being trained
            for i in range(3):
                await tenant.post("/api/v1/select", {**body, "context": {"id": f"late-{i}"}}, 200)
        return await real_process(*args, **kwargs)

    monkeypatch.setattr(drain_module, "process", process_while_traffic_arrives)
    assert await drainer.tick() == 6  # the partial batch ended the tick: the late three were not read yet
    assert await drainer.tick() == 3
    assert await drainer.tick() == 0
    assert batches == [6, 3]
    stats = (await tenant.get(f"/api/v1/experiments/{experiment['id']}/stats", 200)).json()
    assert sum(arm["exposures"] for arm in stats["arms"]) == 9


async def test_a_backlog_is_drained_in_full_batches_within_one_tick(
    tenant: Tenant, drainer: Drainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _drain_leftovers(drainer)
    experiment = await tenant.experiment()
    for i in range(7):
        await tenant.post("/api/v1/select", {"experiment_id": experiment["id"], "context": {"id": f"v{i}"}}, 200)
    monkeypatch.setattr(drainer, "batch_size", 3)
    # full batches mean a backlog: the tick reads on until a partial one says it caught up
    assert await drainer.tick() == 7
    assert await drainer.tick() == 0
