"""what a person sets about guardrails: the guardrail goals, and arms paused or resumed by hand (each on the
audit trail)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from app.db.models import AuditEntry, Experiment
from app.domain.experiments.schemas import AuditRecord, Guardrail
from app.lib.auth import Principal
from app.lib.errors import InvalidInputError


def set_paused_arms(experiment: Experiment, indices: list[int], principal: Principal) -> list[AuditEntry]:
    """pauses and resumes arms by hand; the control always stays in. returns the audit entries."""
    arms = len(experiment.pool.arms)
    for i, index in enumerate(indices):
        if not 0 <= index < arms or index == experiment.control_index:
            raise InvalidInputError(
                f"paused arms are between 0 and {arms - 1}, never the control", field=f"paused_arms[{i}]"
            )
    wanted = set(indices)
    current = {int(p["index"]): p for p in experiment.paused_arms or []}
    actor = f"user:{principal.user_id}" if principal.user_id else f"api key:{principal.api_key_id}"
    at = datetime.now(UTC).isoformat(timespec="seconds")
    entries = []
    for index in sorted(set(current) - wanted):
        entries.append(audit_entry(experiment, index, "resume", "resumed by hand", actor))
    for index in sorted(wanted - set(current)):
        entries.append(audit_entry(experiment, index, "manual_pause", "paused by hand", actor))
        current[index] = {"index": index, "reason": "paused by hand", "at": at}
    experiment.paused_arms = [current[i] for i in sorted(wanted)]
    return entries


def audit_entry(experiment: Experiment, arm: int | None, action: str, reason: str, actor: str) -> AuditEntry:
    return AuditEntry(
        organization_id=experiment.organization_id,
        experiment_id=experiment.id,
        action=action,
        arm_index=arm,
        actor=actor,
        reason=reason,
        details={},
    )


def stored_guardrails(guardrails: list[Guardrail], goal: dict[str, Any]) -> list[dict[str, Any]]:
    """the guardrails as stored; a goal named twice, or the experiment's own goal, is refused."""
    seen: set[str] = set()
    for i, guardrail in enumerate(guardrails):
        if guardrail.goal in seen or guardrail.goal == (goal or {}).get("value"):
            raise InvalidInputError(
                "a guardrail names a goal once, and not the experiment's own goal", field=f"guardrails[{i}].goal"
            )
        seen.add(guardrail.goal)
    return [msgspec.to_builtins(g) for g in guardrails]


def audit_out(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=entry.id,
        action=entry.action,
        arm_index=entry.arm_index,
        actor=entry.actor,
        reason=entry.reason,
        details=dict(entry.details or {}),
        created_at=entry.created_at,
    )
