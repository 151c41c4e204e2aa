"""the offline simulator and its cli."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.bandits import PolicyError
from app.simulation import SCENARIOS, cli, make_environment, run_simulation


def test_result_shape_and_determinism() -> None:
    result = run_simulation("beta_ts", "easy", 2_000, 2, batch=50)
    assert result == run_simulation("beta_ts", "easy", 2_000, 2, batch=50)
    assert result["params"] == {"prior_alpha": 1.0, "prior_beta": 1.0}
    assert result["checkpoints"] == list(range(200, 2_001, 200))
    assert len(result["curve_mean"]) == len(result["curve_sd"]) == 10
    assert result["curve_mean"][-1] == pytest.approx(result["regret_mean"])
    assert np.all(np.diff(result["curve_mean"]) >= 0)
    assert result["uniform_regret_mean"] == pytest.approx(0.2 * 2_000)
    assert 0 < result["regret_mean"] < 0.5 * result["uniform_regret_mean"]
    assert len(result["final_regrets"]) == 2
    json.dumps(result)


def test_sequential_differs_from_batched_and_batch_larger_than_horizon_is_one_update() -> None:
    sequential = run_simulation("exp3", "switch", 600, 1)
    once = run_simulation("exp3", "switch", 600, 1, batch=10_000)
    assert sequential["regret_mean"] != once["regret_mean"]
    # one update at the end: every decision comes from the uniform prior
    assert once["regret_mean"] == pytest.approx(once["uniform_regret_mean"], rel=0.25)


def test_scenarios() -> None:
    rng = np.random.default_rng(0)
    assert set(SCENARIOS) == {"web", "easy", "linear", "switch", "drift"}
    drift = make_environment("drift", 28_000, rng)
    # weekdays at 5%, the weekend at 1%, arm 1 ten per cent better in every period
    assert drift.means[0].tolist() == pytest.approx([0.01, 0.011])
    assert drift.means[2_500].tolist() == pytest.approx([0.05, 0.055])
    assert (drift.means.argmax(axis=1) == 1).all()
    web = make_environment("web", 10, rng)
    assert web.contexts is None and 0.03 <= web.means.min() < web.means.max() <= 0.06
    switch = make_environment("switch", 10, rng)
    assert switch.means[0].argmax() == 4 and switch.means[-1].argmax() == 0
    linear = make_environment("linear", 1_000, rng)
    assert linear.contexts is not None and linear.contexts.shape == (1_000, 5)
    assert linear.means.min() > 0 and linear.means.max() < 1
    assert len(set(linear.means.argmax(axis=1).tolist())) > 1


def test_contextual_policy_runs_everywhere() -> None:
    assert run_simulation("lin_ucb", "web", 400, 1, batch=100)["regret_mean"] >= 0
    assert run_simulation("lin_ts", "linear", 400, 1, batch=100)["regret_mean"] >= 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scenario": "moon"}, "scenario"),
        ({"policy": "nope"}, "protocol"),
        ({"horizon": 0}, "horizon"),
        ({"seeds": 0}, "seeds"),
        ({"batch": 0}, "batch"),
        ({"params": {"prior_alpha": -1}}, "prior_alpha"),
    ],
)
def test_bad_arguments_raise_policy_error(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"policy": "beta_ts", "scenario": "easy", "horizon": 10, "seeds": 1, **kwargs}
    with pytest.raises(PolicyError) as info:
        run_simulation(**args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_cli_prints_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    argv = ["--policy", "beta_ts", "--scenario", "web", "--horizon", "2000", "--seeds", "2", "--batch", "200"]
    assert cli([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "regret" in printed and "uniform" in printed and "±" in printed and "beta_ts" in printed
    saved = json.loads(out.read_text())
    assert saved["policy"] == "beta_ts" and saved["batch"] == 200 and saved["horizon"] == 2000


def test_cli_reports_bad_params(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["--policy", "moss", "--horizon", "10", "--seeds", "1", "--params", '{"horizon": -5}']) == 2
    assert "horizon" in capsys.readouterr().err
    assert cli(["--policy", "moss", "--params", "{oops"]) == 2
