"""the worker's tally: every event in its exposure's period, guardrail and holdout events apart."""

from __future__ import annotations

from datetime import UTC, datetime

from app.runtime.records import Event, ExperimentConfig
from app.worker.counting import Tally, exposed_at, tally
from app.worker.streams import Entry

H = 1_800_000_000 - 1_800_000_000 % 3600  # an hour boundary


def config(status: str = "running") -> ExperimentConfig:
    return ExperimentConfig(
        id="e", organization_id="o", key="k", name="n", site_id=None, protocol="beta_ts", protocol_params={},
        context_dim=None, reward_mode="conversion", status=status, traffic_percent=100.0, control_index=0,
        winner_index=None, seed=1, attribution_window_seconds=86400, arms=[],
    )  # fmt: skip


def event(kind: str, ts: float, issued: float = 0.0, label: str = "", reward: float = 0.0) -> Event:
    return Event(kind=kind, experiment="e", arm=1, reward=reward, trials=0, ts=ts, issued=issued, label=label)


def hour(ts: float) -> datetime:
    return datetime.fromtimestamp(ts - ts % 3600, tz=UTC)


def test_a_late_conversion_is_counted_in_its_exposures_hour_and_minute() -> None:
    exposure = event("x", H + 125, issued=H + 125)
    conversion = event("f", H + 2 * 3600 + 10, issued=H + 125, reward=1.0)
    result = tally([Entry("1-0", exposure), Entry("2-0", conversion)], {"e"}, {"e": config()})
    assert dict(result.hourly) == {("e", 1, hour(H)): [1, 1, 1.0, 1.0]}
    assert dict(result.minutes) == {("e", 1, datetime.fromtimestamp(H + 120, tz=UTC)): [1, 1, 1.0, 1.0]}
    assert result.counted == 2


def test_guardrail_and_holdout_events_are_apart_and_old_events_keep_their_time() -> None:
    t = Tally()
    t.add(event("g", H + 7300, issued=H + 5, label="bounce", reward=1.0))
    t.add(event("hf", H + 7300, issued=H + 5, label="rule:x", reward=1.0))
    t.add(event("f", H + 7300, reward=1.0))  # written before tokens' times were recorded
    assert dict(t.guardrails) == {("e", 1, "bounce", hour(H)): [0, 1, 1.0, 1.0]}
    assert dict(t.holdout) == {("e", 1, "rule:x", hour(H)): [0, 1, 1.0, 1.0]}
    assert dict(t.hourly) == {("e", 1, hour(H + 7300)): [0, 1, 1.0, 1.0]}
    assert exposed_at(event("f", H + 10, issued=H + 20)) == H + 10  # never after the event itself


def test_deleted_and_completed_experiments_are_not_counted() -> None:
    entries = [Entry("1-0", event("x", H)), Entry("2-0", None)]
    assert tally(entries, set(), {"e": config()}).counted == 0
    assert tally(entries, {"e"}, {"e": config("completed")}).counted == 0
