"""the decision engine: guardrails pause arms that likely harm a goal, and (when the experiment asks for it) the
winner ships when the results' rule says ship and a clearly worse arm is dropped. every decision is logged on
the experiment's audit trail. paused arms reach the hot path through the published config (app.runtime.publish).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ArmStatsHourly, AuditEntry, Experiment, ExperimentStatus, GuardrailStatsHourly
from app.domain.guardrails.editing import audit_entry
from app.domain.results.model import ResultsView
from app.domain.results.services import ResultsService
from app.stats.guardrail import GoalTotals, harmed

# an arm is dropped when it is this unlikely to be the best, after this many visitors
DROP_PROB_BEST = 0.01
DROP_MIN_VISITORS = 100


def ship_verdict(view: ResultsView) -> int | None:
    """the one place automatic shipping reads the decision rule: the results page's own recommendation
    (app.stats through build_results), so the page and the automatic decision never disagree."""
    rec = view.recommendation
    return rec.arm if rec is not None and rec.kind == "ship" else None


def paused_indices(experiment: Experiment) -> set[int]:
    return {int(p["index"]) for p in experiment.paused_arms or [] if isinstance(p, dict)}


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%".replace(".0%", "%")


class DecisionEngine:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def review(self, experiment: Experiment) -> list[AuditEntry]:
        """applies every rule that fires now; the caller commits and then publishes the experiment."""
        if experiment.status != ExperimentStatus.RUNNING:
            return []
        entries = await self.check_guardrails(experiment)
        if experiment.auto_ship or experiment.auto_drop:
            view = await ResultsService(self.session, None).results_of(experiment)
            if experiment.auto_drop:
                entries += self.drop_losers(experiment, view)
            if experiment.auto_ship:
                entries += self.ship_winner(experiment, view)
        self.session.add_all(entries)
        await self.session.flush()
        return entries

    async def goal_totals(self, experiment: Experiment) -> tuple[dict[int, int], dict[tuple[int, str], GoalTotals]]:
        """visitors per arm, and each guardrail goal's totals per arm (over those visitors)."""
        a, g = ArmStatsHourly, GuardrailStatsHourly
        visitors = {
            int(arm): int(n)
            for arm, n in await self.session.execute(
                select(a.arm_index, func.sum(a.exposures)).where(a.experiment_id == experiment.id).group_by(a.arm_index)
            )
        }
        rows = await self.session.execute(
            select(g.arm_index, g.goal, func.sum(g.reward_sum), func.sum(g.reward_sum_sq))
            .where(g.experiment_id == experiment.id)
            .group_by(g.arm_index, g.goal)
        )
        goals = {
            (int(arm), str(goal)): GoalTotals(visitors.get(int(arm), 0), float(total), float(total_sq))
            for arm, goal, total, total_sq in rows
        }
        return visitors, goals

    async def check_guardrails(self, experiment: Experiment) -> list[AuditEntry]:
        if not experiment.guardrails:
            return []
        visitors, goals = await self.goal_totals(experiment)
        control = experiment.control_index
        entries = []
        for arm in range(len(experiment.pool.arms)):
            if arm == control or arm in paused_indices(experiment):
                continue
            for guardrail in experiment.guardrails:
                goal, better = guardrail["goal"], guardrail.get("better", "higher")
                tolerance = float(guardrail.get("tolerance", 0.05))
                c = goals.get((control, goal), GoalTotals(visitors.get(control, 0), 0.0, 0.0))
                t = goals.get((arm, goal), GoalTotals(visitors.get(arm, 0), 0.0, 0.0))
                stop, p = harmed(c, t, better, float(tolerance))
                if stop:
                    direction = "lower" if better == "higher" else "higher"
                    margin = f" by more than {_percent(tolerance)}" if tolerance else ""
                    reason = (
                        f"guardrail “{goal}”: {_percent(p)} likely {direction} than the control's{margin}"
                        f" ({_percent(t.total / max(t.visitors, 1))} vs {_percent(c.total / max(c.visitors, 1))})"
                    )
                    details = {"goal": goal, "probability": p, "better": better, "tolerance": tolerance}
                    entries.append(self._pause(experiment, arm, "guardrail_pause", reason, details))
                    break
        return entries

    def drop_losers(self, experiment: Experiment, view: ResultsView) -> list[AuditEntry]:
        entries = []
        for arm in view.arms:
            if arm.is_control or arm.index in paused_indices(experiment) or arm.exposures < DROP_MIN_VISITORS:
                continue
            if arm.result.prob_best < DROP_PROB_BEST:
                reason = f"dropped: {arm.cells['prob_best']} likely to be the best after {arm.exposures:,} visitors"
                details = {"prob_best": arm.result.prob_best, "visitors": arm.exposures}
                entries.append(self._pause(experiment, arm.index, "drop", reason, details))
        return entries

    def ship_winner(self, experiment: Experiment, view: ResultsView) -> list[AuditEntry]:
        winner = ship_verdict(view)
        if winner is None or winner in paused_indices(experiment):
            return []
        experiment.status = ExperimentStatus.COMPLETED
        experiment.winner_index = winner
        text = view.recommendation.text if view.recommendation is not None else ""
        return [self._entry(experiment, winner, "ship", f"shipped {view.arms[winner].name}: {text}", {})]

    def _pause(self, experiment: Experiment, arm: int, action: str, reason: str, details: dict[str, Any]) -> AuditEntry:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        # a new list, so the json column is seen as changed
        experiment.paused_arms = [*(experiment.paused_arms or []), {"index": arm, "reason": reason, "at": at}]
        return self._entry(experiment, arm, action, reason, details)

    @staticmethod
    def _entry(
        experiment: Experiment, arm: int | None, action: str, reason: str, details: dict[str, Any]
    ) -> AuditEntry:
        entry = audit_entry(experiment, arm, action, reason, "automatic")
        entry.details = details
        return entry


async def audit_trail(session: AsyncSession, experiment: Experiment, limit: int = 50) -> list[AuditEntry]:
    """the experiment's latest decisions, newest first (the experiment is already tenant-checked)."""
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.experiment_id == experiment.id, AuditEntry.organization_id == experiment.organization_id)
        .order_by(AuditEntry.created_at.desc())
        .limit(limit)
    )
    return list(rows)
