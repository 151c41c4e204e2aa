"""an experiment's life after creation: undo a stop or a winner, archive and restore, duplicate.

archiving keeps every row (results, decisions, gate) but withdraws the experiment from the hot path
(app.runtime.publish): the tag then leaves the page as it is, and the rest api's select answers 404.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db.models import Arm, Experiment, ExperimentStatus, FeatureGate, Pool
from app.lib.auth import Principal
from app.lib.errors import ConflictError

# how long "undo" stays on offer after a stop or a declared winner
UNDO_SECONDS = 600

# settings a copy takes over as they are; status, dates, winner, paused arms and history start afresh
COPIED = (
    "site_id",
    "protocol",
    "protocol_params",
    "context_dim",
    "reward_mode",
    "traffic_percent",
    "control_index",
    "goal",
    "attribution_window_seconds",
    "exploration_floor",
    "reward_max",
    "decision_prob_best",
    "decision_max_expected_loss",
    "decision_min_trials_per_arm",
    "decision_practical_difference",
    "prior_alpha",
    "prior_beta",
    "guardrails",
    "auto_ship",
    "auto_drop",
    "allocation",
    "weights",
    "split_ranges",
    "results_view",
)


def record_change(experiment: Experiment, before: ExperimentStatus, winner_before: int | None, by: str) -> None:
    """remembers a move to completed (stop or winner) so it can be taken back for UNDO_SECONDS."""
    if experiment.status != ExperimentStatus.COMPLETED or before == ExperimentStatus.COMPLETED:
        return
    experiment.last_change = {
        "action": "winner" if experiment.winner_index is not None else "stop",
        "at": datetime.now(UTC).isoformat(),
        "status": before.value,
        "winner_index": winner_before,
        "by": by,
    }


def undo_until(experiment: Experiment, now: datetime | None = None) -> datetime | None:
    """until when the last stop or winner can be undone; none when there is nothing to undo."""
    change = experiment.last_change
    if not change or experiment.status != ExperimentStatus.COMPLETED or experiment.archived_at is not None:
        return None
    until = datetime.fromisoformat(change["at"]) + timedelta(seconds=UNDO_SECONDS)
    return until if until > (now or datetime.now(UTC)) else None


def undo(experiment: Experiment) -> None:
    """puts a stopped experiment (or one whose winner was declared) back as it was: running or paused."""
    if undo_until(experiment) is None:
        raise ConflictError(
            f"nothing to undo: only a stop or a declared winner can be undone, within {UNDO_SECONDS // 60} minutes",
            field="status",
        )
    change = experiment.last_change or {}
    experiment.status = ExperimentStatus(change["status"])
    experiment.winner_index = change.get("winner_index")
    experiment.last_change = None


def archive(experiment: Experiment) -> None:
    if experiment.status == ExperimentStatus.RUNNING:
        raise ConflictError("pause or stop the experiment before archiving it", field="status")
    if experiment.archived_at is None:
        experiment.archived_at = datetime.now(UTC)
    experiment.last_change = None


def restore(experiment: Experiment) -> None:
    experiment.archived_at = None


def copy_name(name: str) -> str:
    return f"Copy of {name}"[:200]


def duplicate(
    experiment: Experiment, gate: FeatureGate | None, principal: Principal, key: str
) -> tuple[Experiment, FeatureGate | None]:
    """a draft with the same arms, settings and targeting (its gate, for the copy to attach), no traffic."""
    pool = Pool(
        organization_id=principal.organization_id,
        name=copy_name(experiment.pool.name),
        arms=[
            Arm(index=a.index, name=a.name, arm_metadata=dict(a.arm_metadata or {}), payload=dict(a.payload or {}))
            for a in experiment.pool.arms
        ],
    )
    fields: dict[str, Any] = {name: _copy(getattr(experiment, name)) for name in COPIED}
    copy = Experiment(
        organization_id=principal.organization_id,
        key=key,
        name=copy_name(experiment.name),
        status=ExperimentStatus.DRAFT,
        seed=secrets.randbelow(2**31),
        paused_arms=[],
        allocation_history=[
            {"at": datetime.now(UTC).isoformat(), "allocation": experiment.allocation, "weights": experiment.weights}
        ],
        **fields,
    )
    copy.pool = pool
    if gate is None:
        return copy, None
    return copy, FeatureGate(
        organization_id=principal.organization_id,
        name=gate.name,
        enabled=gate.enabled,
        rollout_percent=gate.rollout_percent,
        default_arm=gate.default_arm,
        salt=secrets.token_hex(8),
        schedule=_copy(gate.schedule),
        rules=_copy(gate.rules),
    )


def _copy(value: Any) -> Any:
    # json columns: a copy must not share nested lists and dicts with the original
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
