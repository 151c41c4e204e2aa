"""the running estimate behind the "cumulative rate" chart: each row's value is what ``analyze`` reports as an
arm's ``observed_mean`` (the results table's rate) on the data up to and including that row.

``analyze`` compares arms within periods (``app.stats.strata``); the chart's rows may be finer than those periods
(minutes inside hours), so each row says which stratum it belongs to. a prefix that ends inside a stratum uses the
part of it seen so far, and the last row's prefix is every stratum whole: the chart's last point is the table's
rate, not a posterior mean with the prior mixed in (a 4 of 34 arm is 11.76% in the table; the beta(1, 1) mean
5 of 36 drawn before was 13.9%).

the band is the 95% interval of the same posterior ``analyze`` uses for the table's interval (the plain counters
in the first stratum, the stratified fit's effective counters after it), widened to hold the line.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from app.stats.analysis import LEVEL, effective_counters
from app.stats.binary import beta_posterior
from app.stats.continuous import normal_gamma_posterior
from app.stats.models import Kind
from app.stats.strata import PeriodSums, estimate, period_sums

# rows fitted at once: the strata statistics hold k^3 numbers a row (10 arms: 1,000; 50 arms: 125,000)
CHUNK_CELLS = 1_000_000
# rows fitted in all: past this many cells (about 30 arms at 100 rows) only evenly spaced rows and the last are
# fitted, the rest left nan for the chart to join across (50 arms x 100 rows took ~1 s fitted in full)
FIT_CELLS = 2_500_000
MIN_FITTED = 12
TAILS = np.array([(1.0 - LEVEL) / 2.0, (1.0 + LEVEL) / 2.0])[:, None, None]


@dataclass(frozen=True)
class RunningEstimate:
    """(rows, arms) arrays: the table's estimate on the data up to each row, its 95% band, and the trials seen."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    cumulative_trials: np.ndarray


def running_estimate(
    trials: np.ndarray,
    successes: np.ndarray,
    kind: Kind,
    sum_sq: np.ndarray | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    strata: np.ndarray | None = None,
) -> RunningEstimate:
    """per-row counters (rows, arms) in, the running estimate out. ``strata`` (non-decreasing, one per row) are
    the periods ``analyze`` compares the arms within; by default every row is its own. with many arms only some
    rows are fitted (see ``FIT_CELLS``); the others' mean and band are nan, the last row is always fitted."""
    n = np.asarray(trials, dtype=float)
    if n.ndim != 2 or (n < 0).any():
        raise ValueError("trials must be a (rows, arms) matrix of counts")
    s = np.asarray(successes, dtype=float)
    if s.shape != n.shape:
        raise ValueError("trials, successes and sum_sq must have one shape")
    if kind == "binary":
        s = np.clip(s, 0.0, n)
        q = s
    elif kind == "continuous":
        if sum_sq is None:
            raise ValueError("continuous estimates need sum_sq")
        q = np.asarray(sum_sq, dtype=float)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    if q.shape != n.shape:
        raise ValueError("trials, successes and sum_sq must have one shape")
    rows, k = n.shape
    groups = np.arange(rows) if strata is None else np.asarray(strata)
    if groups.shape != (rows,) or (np.diff(groups) < 0).any():
        raise ValueError("strata must give each row a stratum, in order")
    if rows == 0:
        empty = np.zeros((0, k))
        return RunningEstimate(empty, empty, empty, empty)

    starts = np.r_[True, groups[1:] != groups[:-1]]
    ends = np.r_[groups[1:] != groups[:-1], True]
    # each row's counters since its stratum began
    first = np.maximum.accumulate(np.where(starts, np.arange(rows), 0))
    within = [_since(x, first) for x in (n, s, q)]

    chunk = max(1, CHUNK_CELLS // max(1, k**3))
    fitted = np.zeros(rows, dtype=bool)
    budget = max(MIN_FITTED, FIT_CELLS // max(1, k**3))
    fitted[np.unique(np.linspace(rows - 1, 0, min(rows, budget)).round().astype(int))] = True
    centres, lows, highs = (np.full((rows, k), np.nan) for _ in range(3))
    completed: dict[str, np.ndarray] | None = None
    seen = []
    for lo in range(0, rows, chunk):
        hi = min(rows, lo + chunk)
        part = period_sums(within[0][lo:hi, None, :], within[1][lo:hi, None, :], within[2][lo:hi, None, :])
        totals: dict[str, np.ndarray] = {}
        for f in fields(PeriodSums):
            value = getattr(part, f.name)
            ended = value * ends[lo:hi].reshape(-1, *[1] * (value.ndim - 1))
            done = np.zeros(value.shape[1:]) if completed is None else completed[f.name]
            # the strata that ended before each row, then the row's own stratum so far
            totals[f.name] = done + np.cumsum(ended, axis=0) - ended + value
            totals[f.name + ":done"] = done + ended.sum(axis=0)
        completed = {f.name: totals.pop(f.name + ":done") for f in fields(PeriodSums)}
        seen.append(totals["n"])
        pick = fitted[lo:hi]
        if not pick.any():
            continue
        sums = PeriodSums(**{name: value[pick] for name, value in totals.items()})
        single = (groups[lo:hi][pick] == groups[0])[:, None]
        rows_fitted = np.arange(lo, hi)[pick]
        centres[rows_fitted], lows[rows_fitted], highs[rows_fitted] = _band(sums, kind, prior, single)
    return RunningEstimate(centres, lows, highs, np.vstack(seen))


def _since(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """cumulative sums of ``x`` restarted at each row's stratum start."""
    total = np.cumsum(x, axis=0)
    before = np.vstack([np.zeros((1, x.shape[1])), total])[first]
    result: np.ndarray = total - before
    return result


def _band(
    sums: PeriodSums, kind: Kind, prior: tuple[float, float], single: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """the centre and 95% interval ``analyze`` would give each row's prefix (one stratum: the plain counters)."""
    fit = estimate(sums)
    n, s, q = sums.n, sums.s, sums.q
    eff, succ, squares, centre, _, _ = effective_counters(fit, kind, n, s, q)
    centre = np.where(single, fit.pooled, centre)
    eff, succ, squares = (np.where(single, plain, e) for plain, e in ((n, eff), (s, succ), (q, squares)))
    if kind == "binary":
        centre = np.clip(centre, 0.0, 1.0)
        low, high = beta_posterior(eff, np.clip(succ, 0.0, eff), prior).ppf(TAILS)
    else:
        low, high = normal_gamma_posterior(eff, succ, squares, prior).marginal.ppf(TAILS)
    low = np.minimum(np.nan_to_num(low, nan=0.0), centre)
    high = np.maximum(np.nan_to_num(high, nan=0.0), centre)
    return centre, low, high
