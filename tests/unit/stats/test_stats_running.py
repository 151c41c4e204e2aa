"""the running estimate behind the rate chart ends on what analyze reports, for any rows and strata."""

from __future__ import annotations

import numpy as np
import pytest

import app.stats.running as running
from app.stats import ArmTotals, PeriodCounters, analyze
from app.stats.running import running_estimate


def drifting(periods: int = 30, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """a bandit moving traffic to arm 1 while weekends convert a fifth as well (so pooled and stratified differ)."""
    rng = np.random.default_rng(seed)
    weekend = (np.arange(periods) % 7 >= 5)[:, None]
    base = np.where(weekend, 0.01, 0.05) * np.array([1.0, 1.3, 0.9])
    share1 = np.where(weekend, 0.8, np.linspace(0.2, 0.5, periods)[:, None])
    shares = np.hstack([(1 - share1) / 2, share1, (1 - share1) / 2])
    n = rng.poisson(300 * shares).astype(float)
    return n, rng.binomial(n.astype(int), base).astype(float)


def analysed(n: np.ndarray, s: np.ndarray, q: np.ndarray, kind: str) -> list[tuple[float, float, float]]:
    arms = [
        ArmTotals(name=str(i), trials=int(n[:, i].sum()), successes=float(s[:, i].sum()), sum_sq=float(q[:, i].sum()))
        for i in range(n.shape[1])
    ]
    result = analyze(arms, kind, periods=PeriodCounters(n, s, q))  # type: ignore[arg-type]
    return [(a.observed_mean, a.ci_low, a.ci_high) for a in result.arms]


def test_every_prefix_is_what_analyze_reports_on_it() -> None:
    n, s = drifting()
    run = running_estimate(n, s, "binary")
    for end in (1, 2, 9, 30):
        expected = np.array(analysed(n[:end], s[:end], s[:end], "binary"))
        assert np.allclose(run.mean[end - 1], expected[:, 0], atol=1e-12)
        assert np.allclose(run.low[end - 1], expected[:, 1], atol=1e-9)
        assert np.allclose(run.high[end - 1], expected[:, 2], atol=1e-9)
    assert np.array_equal(run.cumulative_trials, np.cumsum(n, axis=0))
    # the data is one where the table's basis matters: the pooled rate is not the table's
    assert np.abs(run.mean[-1] - s.sum(axis=0) / n.sum(axis=0)).max() > 1e-3


def test_rows_finer_than_the_strata_end_on_the_strata_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    n, s = drifting()
    fine_n, fine_s = np.repeat(n / 4, 4, axis=0), np.repeat(s / 4, 4, axis=0)
    strata = np.repeat(np.arange(n.shape[0]), 4)
    whole = running_estimate(fine_n, fine_s, "binary", strata=strata)
    coarse = running_estimate(n, s, "binary")
    assert whole.mean.shape == fine_n.shape
    # at each stratum's end the fine rows agree with the strata themselves
    assert np.allclose(whole.mean[3::4], coarse.mean, atol=1e-12)
    # inside the first stratum the rows are pooled, like analyze's one period
    assert np.allclose(whole.mean[1], fine_s[:2].sum(axis=0) / fine_n[:2].sum(axis=0))
    # fitting a few rows at a time (many arms) gives the same numbers
    monkeypatch.setattr(running, "CHUNK_CELLS", 3**3 * 5)
    chunked = running_estimate(fine_n, fine_s, "binary", strata=strata)
    for a, b in ((chunked.mean, whole.mean), (chunked.low, whole.low), (chunked.high, whole.high)):
        assert np.allclose(a, b, atol=1e-12)


def test_continuous_rewards_end_on_analyze() -> None:
    n, _ = drifting(seed=4)
    rng = np.random.default_rng(4)
    sums, squares = np.zeros_like(n), np.zeros_like(n)
    for p in range(n.shape[0]):
        for arm in range(n.shape[1]):
            reward = rng.gamma(2.0, 5.0 + arm + 3 * (p % 7 < 5), size=int(n[p, arm]))
            sums[p, arm], squares[p, arm] = reward.sum(), (reward * reward).sum()
    run = running_estimate(n, sums, "continuous", sum_sq=squares)
    expected = np.array(analysed(n, sums, squares, "continuous"))
    assert np.allclose(run.mean[-1], expected[:, 0], rtol=1e-10)
    assert (run.low <= run.mean).all() and (run.mean <= run.high).all()


def test_an_arm_without_visitors_and_no_rows() -> None:
    n = np.array([[10.0, 0.0], [10.0, 0.0]])
    run = running_estimate(n, np.array([[2.0, 0.0], [3.0, 0.0]]), "binary")
    assert run.mean[1, 0] == pytest.approx(0.25) and run.cumulative_trials[1, 1] == 0
    empty = running_estimate(np.zeros((0, 3)), np.zeros((0, 3)), "binary")
    assert empty.mean.shape == (0, 3)


@pytest.mark.parametrize(
    ("trials", "successes", "kind", "extra", "message"),
    [
        (np.ones(3), np.ones(3), "binary", {}, "matrix"),
        (-np.ones((2, 2)), np.ones((2, 2)), "binary", {}, "matrix"),
        (np.ones((2, 2)), np.ones((2, 2)), "continuous", {}, "sum_sq"),
        (np.ones((2, 2)), np.ones((2, 2)), "poisson", {}, "unknown kind"),
        (np.ones((2, 2)), np.ones((3, 2)), "binary", {}, "one shape"),
        (np.ones((2, 2)), np.ones((2, 2)), "binary", {"strata": np.array([1, 0])}, "in order"),
    ],
)
def test_bad_input_is_refused(
    trials: np.ndarray, successes: np.ndarray, kind: str, extra: dict[str, np.ndarray], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        running_estimate(trials, successes, kind, **extra)  # type: ignore[arg-type]


def test_many_arms_fit_evenly_spaced_rows_and_always_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    n, s = drifting()
    full = running_estimate(n, s, "binary")
    monkeypatch.setattr(running, "FIT_CELLS", 27 * 5)
    monkeypatch.setattr(running, "MIN_FITTED", 5)
    thin = running_estimate(n, s, "binary")
    fitted = ~np.isnan(thin.mean[:, 0])
    assert fitted.sum() == 5 and fitted[-1] and fitted[0]
    assert np.allclose(thin.mean[fitted], full.mean[fitted], atol=1e-12)
    assert np.array_equal(thin.cumulative_trials, full.cumulative_trials)
