"""speed of the results-page analytics: ``uv run python bench/analytics.py [--repeat 200]``.

prints the median and p95 wall time of each measurement. one function per measurement builds its
inputs once and returns a zero-argument callable; ``MEASUREMENTS`` lists them with their targets,
so a new measurement (e.g. rendering the whole results page) is one more function and entry.
targets: ``analyze`` <= 20 ms for up to 10 arms; the results page (10 arms, 90 days of hourly
statistics: the model from ``app.domain.results`` plus the html) <= 150 ms. with ``--database-url``
(an admin url: a ``levers_bench_*`` database is created, migrated and dropped) the page is also timed
from postgres: the bucketing query over 21,600 hourly rows, the analysis and the html.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.stats import ArmTotals, DecisionThresholds, analyze, density_curves, time_series
from app.stats.running import running_estimate

ROOT = Path(__file__).resolve().parents[1]

HOURS = 90 * 24
Call = Callable[[], Any]


@dataclass(frozen=True)
class Measurement:
    label: str
    setup: Callable[[], Call]
    target_ms: float | None = None
    repeat_scale: float = 1.0


def binary_arms(arms: int, trials: int = 20_000, seed: int = 7) -> list[ArmTotals]:
    """close conversion rates, so the verdict is keep_running and the projection runs too."""
    rng = np.random.default_rng(seed)
    rates = 0.05 * (1.0 + 0.02 * np.arange(arms))
    return [ArmTotals(f"arm{i}", trials, float(rng.binomial(trials, p))) for i, p in enumerate(rates)]


def continuous_arms(arms: int, trials: int = 20_000, seed: int = 7) -> list[ArmTotals]:
    """revenue per visitor: 5% buy, gamma baskets around 40."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(arms):
        rewards = np.where(rng.random(trials) < 0.05, rng.gamma(2.0, 20.0 * (1 + 0.02 * i), trials), 0.0)
        out.append(ArmTotals(f"arm{i}", trials, float(rewards.sum()), float((rewards**2).sum())))
    return out


def hourly(arms: int, hours: int = HOURS, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """per-hour exposures, conversions and squared rewards of a bandit that slowly favours the best arm."""
    rng = np.random.default_rng(seed)
    weights = np.linspace(1.0, 3.0, arms)[None, :] ** np.linspace(0.0, 2.0, hours)[:, None]
    trials = rng.poisson(500 * weights / weights.sum(axis=1, keepdims=True)).astype(float)
    successes = rng.binomial(trials.astype(np.int64), 0.05 * (1.0 + 0.03 * np.arange(arms))).astype(float)
    return trials, successes, successes * 3.0


def measure_analyze(arms: int, kind: str) -> Call:
    totals = binary_arms(arms) if kind == "binary" else continuous_arms(arms)
    return lambda: analyze(totals, kind)  # type: ignore[arg-type]


def measure_density_curves(arms: int) -> Call:
    totals = binary_arms(arms)
    return lambda: density_curves(totals, "binary")


def measure_time_series(arms: int, kind: str) -> Call:
    trials, successes, squares = hourly(arms)
    if kind == "binary":
        return lambda: time_series(trials, successes, "binary")
    return lambda: time_series(trials, successes, "continuous", sum_sq=squares)


def measure_running_estimate(arms: int, points: int = 100) -> Call:
    """the rate chart's line and band: the table's estimate at each of the chart's (at most 100) points."""
    trials, successes, _ = hourly(arms, hours=points)
    return lambda: running_estimate(trials, successes, "binary")


def page_experiment(arms: int) -> Any:
    """a transient experiment with its pool, as the page handler has it after its query."""
    from app.db.models import Arm, Experiment, ExperimentStatus, Pool, RewardMode

    pool = Pool(name="bench", arms=[Arm(index=i, name=f"arm{i}", payload={"text": f"Buy {i}"}) for i in range(arms)])
    return Experiment(
        id=uuid.uuid4(), key="bench", name="Bench", protocol="beta_ts", protocol_params={},
        reward_mode=RewardMode.CONVERSION, status=ExperimentStatus.RUNNING, traffic_percent=100.0, control_index=0,
        winner_index=None, goal={"type": "event"}, seed=1, pool=pool, decision_prob_best=0.95,
        decision_max_expected_loss=0.005, decision_min_trials_per_arm=100, decision_practical_difference=0.02,
        prior_alpha=1.0, prior_beta=1.0, allocation="bandit", allocation_history=[], weights=None,
        archived_at=None,
    )  # fmt: skip


def render_page(experiment: Any, view: Any) -> str:
    import jinja2
    import msgspec

    from app.db.models import Role
    from app.lib.auth import Principal

    env = _jinja()
    from app.domain.experiments.lifecycle import UNDO_SECONDS, undo_until
    from app.domain.experiments.targeting import summary
    from app.domain.experiments.targeting import values_of as targeting_values
    from app.domain.experiments.targeting_pages import builder_context
    from app.domain.whatif.pages import whatif_context

    principal = Principal(organization_id=experiment.id, role=Role.OWNER)
    # what the page's handler adds from postgres (segments, holdout, audit, ...) is left empty here: this times
    # the template over the results view, the part that grows with arms and hours
    context = {
        **whatif_context(experiment, principal),
        "targeting": summary(experiment, None),
        "builder": builder_context(experiment, None, targeting_values(None), {}),
        "strategy": "",
        "undo_until": undo_until(experiment),
        "undo_minutes": UNDO_SECONDS // 60,
        "done": "",
        "segments": None,
        "holdout": None,
        "audit": [],
        "classic": None,
        "set_aside": 0,
        "editor_page": "",
        "reward_max": None,
        "experiment": experiment,
        "results": view,
        "charts_json": msgspec.json.encode(view.charts).decode().replace("</", "<\\/"),
        "principal": principal,
        "polling": True,
        "site": None,
        "csrf_input": "",
        "csrf_token": lambda: "",
    }
    html = env.get_template("experiments/detail.html").render(context)
    assert isinstance(env, jinja2.Environment) and "data-recommendation" in html
    return html


_ENV: list[Any] = []


def _jinja() -> Any:
    import jinja2

    from app.lib.static_assets import StaticAssets

    if not _ENV:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "frontend" / "templates"), autoescape=True)
        # what the app's template engine is given (app.asgi): hashed static urls
        env.globals["static_url"] = StaticAssets(ROOT / "frontend" / "static").url
        _ENV.append(env)
    return _ENV[0]


def measure_results_page(arms: int) -> Call:
    """hourly counters in, html out: what the handler does after its (bucketing) query."""
    from app.domain.results.model import Counters, bucket_hours, build_results, downsample

    trials, successes, _ = hourly(arms)
    experiment = page_experiment(arms)
    start = datetime(2026, 8, 1, tzinfo=UTC)

    def call() -> str:
        size = bucket_hours(trials.shape[0])
        counts = [downsample(m, size) for m in (trials, successes)]
        counters = Counters(start, size, counts[0], counts[1], counts[1], counts[1])
        view = build_results(
            names=[a.name for a in experiment.pool.arms], payloads=[a.payload for a in experiment.pool.arms],
            control=0, winner=None, conversion=True, counters=counters, thresholds=DecisionThresholds(),
            traffic_now=[1.0 / arms] * arms,
        )  # fmt: skip
        return render_page(experiment, view)

    return call


def measure_results_page_from_postgres(admin_url: str, arms: int) -> tuple[Call, Callable[[], None]]:
    """the same page, with the statistics read and bucketed by postgres (rows inserted once)."""
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from app.db.models import ArmStatsHourly, Organization
    from app.domain.results.services import ResultsService
    from app.lib.migrations import upgrade

    base = admin_url.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
        "postgres://", "postgresql+asyncpg://", 1
    )
    database = f"levers_bench_{secrets.token_hex(4)}"
    url = base.rsplit("/", 1)[0] + f"/{database}"
    loop = asyncio.new_event_loop()

    async def admin(sql: str) -> None:
        engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    loop.run_until_complete(admin(f'create database "{database}"'))
    upgrade(url)
    engine = create_async_engine(url)
    trials, successes, _ = hourly(arms)
    experiment = page_experiment(arms)
    experiment_id = experiment.id
    organization_id: list[uuid.UUID] = []

    async def seed() -> None:
        start = datetime(2026, 8, 1, tzinfo=UTC)
        async with AsyncSession(engine) as session, session.begin():
            organization = Organization(name="bench")
            session.add(organization)
            await session.flush()
            organization_id.append(organization.id)
            experiment.organization_id = organization.id
            experiment.pool.organization_id = organization.id
            session.add(experiment)
            await session.flush()
            rows = [
                {
                    "experiment_id": experiment.id, "arm_index": a, "hour": start + timedelta(hours=h),
                    "exposures": int(trials[h, a]), "feedbacks": int(successes[h, a]),
                    "reward_sum": float(successes[h, a]), "reward_sum_sq": float(successes[h, a]),
                }
                for h in range(trials.shape[0])
                for a in range(arms)
            ]  # fmt: skip
            await session.execute(insert(ArmStatsHourly), rows)

    loop.run_until_complete(seed())

    async def page() -> str:
        from app.db.models import Role
        from app.lib.auth import Principal

        async with AsyncSession(engine) as session:
            service = ResultsService(session, None)
            principal = Principal(organization_id=organization_id[0], role=Role.OWNER)
            loaded = await service.experiment(principal, experiment_id)
            view = await service.results_of(loaded)
            return render_page(loaded, view)

    def cleanup() -> None:
        loop.run_until_complete(engine.dispose())
        loop.run_until_complete(admin(f'drop database if exists "{database}" with (force)'))
        loop.close()

    return lambda: loop.run_until_complete(page()), cleanup


MEASUREMENTS = [
    *(Measurement(f"analyze binary, {k} arms", lambda k=k: measure_analyze(k, "binary"), 20.0) for k in (2, 5, 10)),
    *(
        Measurement(f"analyze continuous, {k} arms", lambda k=k: measure_analyze(k, "continuous"), 20.0)
        for k in (2, 5, 10)
    ),
    Measurement("density_curves, 10 arms x 200 points", lambda: measure_density_curves(10)),
    Measurement(f"time_series binary, 10 arms x {HOURS} h", lambda: measure_time_series(10, "binary"), None, 0.1),
    Measurement(
        f"time_series continuous, 10 arms x {HOURS} h", lambda: measure_time_series(10, "continuous"), None, 0.1
    ),
    *(
        Measurement(f"running_estimate binary, {k} arms x 100", lambda k=k: measure_running_estimate(k), None, 0.1)
        for k in (10, 20, 50)
    ),
    Measurement(f"results page html, 10 arms x {HOURS} h", lambda: measure_results_page(10), 150.0, 0.25),
]


def timings(call: Call, repeat: int) -> np.ndarray:
    """seconds of each of ``repeat`` calls, after one warm-up call."""
    call()
    out = np.empty(repeat)
    for i in range(repeat):
        started = time.perf_counter()
        call()
        out[i] = time.perf_counter() - started
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per measurement (time series: a tenth)")
    parser.add_argument("--database-url", default="", help="admin postgres url: also time the page from postgres")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, {args.repeat} calls per measurement")
    print(f"{'measurement':44s} {'median ms':>10s} {'p95 ms':>10s} {'target':>8s}")
    for m in MEASUREMENTS:
        samples = timings(m.setup(), max(3, round(args.repeat * m.repeat_scale))) * 1e3
        median, p95 = np.percentile(samples, [50, 95])
        target = f"<= {m.target_ms:g}" if m.target_ms is not None else ""
        flag = " !" if m.target_ms is not None and p95 > m.target_ms else ""
        print(f"{m.label:44s} {median:10.2f} {p95:10.2f} {target:>8s}{flag}")
    if args.database_url:
        call, cleanup = measure_results_page_from_postgres(args.database_url, 10)
        try:
            samples = timings(call, max(3, round(args.repeat * 0.25))) * 1e3
        finally:
            cleanup()
        median, p95 = np.percentile(samples, [50, 95])
        flag = " !" if p95 > 150.0 else ""
        print(f"{'results page from postgres, 10 arms x 2160 h':44s} {median:10.2f} {p95:10.2f} {'<= 150':>8s}{flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
