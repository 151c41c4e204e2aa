"""`levers replay` on export files: csv and json lines in, text or one json object out; bad files named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from app.__main__ import main
from app.offline.events import LogError, parse_csv, parse_jsonl
from tests.unit.offline.synthetic import make_log


def write_log(path: Path, seed: int, n: int, uniform: bool, contextual: bool) -> None:
    e = make_log(np.random.default_rng(seed), n, uniform=uniform, contextual=contextual).events
    rows = []
    for i in range(e.size):
        ts = datetime.fromtimestamp(1_780_000_000 + i, UTC).isoformat()
        context = [] if e.contexts is None else [round(float(v), 6) for v in e.contexts[i]]
        rows.append((ts, int(e.arms[i]), float(e.propensities[i]), float(e.rewards[i]), context))
    if path.suffix == ".csv":
        lines = ["ts,arm_index,propensity,reward,context"]
        lines += [f'{ts},{arm},{p!r},{r:g},"{json.dumps(c)}"' for ts, arm, p, r, c in rows]
    else:
        lines = [
            json.dumps({"ts": ts, "arm_index": arm, "propensity": p, "reward": r, "context": c})
            for ts, arm, p, r, c in rows
        ]
    path.write_text("\n".join(lines) + "\n")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["replay", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_uniform_target_on_a_uniform_log_matches_the_logged_rate(tmp_path: Path, capsys) -> None:
    path = tmp_path / "events.csv"
    write_log(path, seed=1, n=6000, uniform=True, contextual=False)
    out = run_json(capsys, str(path), "--policy", "uniform")
    assert set(out["estimates"]) == {"ips", "snips", "dr", "replay"}
    logged = out["logged_value"]
    for estimate in out["estimates"].values():
        assert estimate["ci_low"] <= logged <= estimate["ci_high"]
    assert out["ess"] == pytest.approx(out["scored_events"])


def test_thompson_warm_started_on_the_log_lands_near_the_logged_rate_or_above(tmp_path: Path, capsys) -> None:
    path = tmp_path / "events.jsonl"
    write_log(path, seed=2, n=8000, uniform=True, contextual=False)
    out = run_json(capsys, str(path), "--policy", "beta_ts", "--estimator", "snips", "--estimator", "dr")
    assert set(out["estimates"]) == {"snips", "dr"}
    # a thompson policy trained on half the log plays the best arm (about 0.20 here) far more than uniform (0.16)
    assert out["estimates"]["dr"]["value"] > out["logged_value"]
    assert out["ess"] < out["scored_events"] / 2


def test_contextual_policy_with_params_and_text_output(tmp_path: Path, capsys) -> None:
    path = tmp_path / "events.csv"
    write_log(path, seed=3, n=3000, uniform=False, contextual=True)
    assert main(["replay", str(path), "--policy", "lin_ucb", "--param", "alpha=0.5", "--estimator", "dr"]) == 0
    text = capsys.readouterr().out
    assert "logged policy earned" in text and "dr" in text and "effective sample size" in text


def test_a_small_effective_sample_size_is_warned_about(tmp_path: Path, capsys) -> None:
    path = tmp_path / "events.csv"
    write_log(path, seed=4, n=120, uniform=True, contextual=False)
    assert main(["replay", str(path), "--policy", "uniform", "--estimator", "ips"]) == 0
    assert "not to be trusted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("2026-01-01T00:00:00Z,0,0,1,[]", "propensity"),
        ("2026-01-01T00:00:00Z,0,1.5,1,[]", "propensity"),
        ("yesterday,0,0.5,1,[]", "ts"),
        ("2026-01-01T00:00:00Z,-1,0.5,1,[]", "arm_index"),
        ("2026-01-01T00:00:00Z,0.5,0.5,1,[]", "arm_index"),
        ("2026-01-01T00:00:00Z,0,0.5,nan,[]", "reward"),
        ("2026-01-01T00:00:00Z,0,0.5,one,[]", "reward"),
        ('2026-01-01T00:00:00Z,0,0.5,1,"{""a"": 1}"', "context"),
    ],
)
def test_bad_rows_name_their_line_and_field(row: str, field: str) -> None:
    with pytest.raises(LogError) as caught:
        parse_csv(["ts,arm_index,propensity,reward,context", "2026-01-01T00:00:00Z,1,0.5,0,[]", row])
    assert (caught.value.line, caught.value.field) == (3, field)


def test_rows_must_agree_on_the_context_dimension_and_files_must_hold_events() -> None:
    with pytest.raises(LogError) as caught:
        parse_jsonl(
            [
                '{"ts": "2026-01-01T00:00:00Z", "arm_index": 0, "propensity": 0.5, "reward": 0, "context": [1, 2]}',
                '{"ts": "2026-01-01T00:00:01Z", "arm_index": 1, "propensity": 0.5, "reward": 1, "context": [1]}',
            ]
        )
    assert (caught.value.line, caught.value.field) == (2, "context")
    with pytest.raises(LogError):
        parse_csv(["ts,arm_index,propensity,reward,context"])
    with pytest.raises(LogError) as missing:
        parse_jsonl(['{"ts": "2026-01-01T00:00:00Z", "arm_index": 0}'])
    assert missing.value.field == "propensity"


def test_events_are_put_in_time_order() -> None:
    events = parse_jsonl(
        [
            '{"ts": "2026-01-01T00:00:05Z", "arm_index": 1, "propensity": 0.5, "reward": 1, "context": []}',
            '{"ts": "2026-01-01T00:00:01Z", "arm_index": 0, "propensity": 0.5, "reward": 0, "context": []}',
        ]
    )
    assert events.arms.tolist() == [0, 1] and events.contexts is None


def test_bad_files_exit_2_with_a_message(tmp_path: Path, capsys) -> None:
    path = tmp_path / "events.csv"
    path.write_text("ts,arm_index,propensity,reward,context\n2026-01-01T00:00:00Z,0,2,1,[]\n")
    assert main(["replay", str(path), "--policy", "uniform"]) == 2
    assert "line 2: propensity" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.csv"), "--policy", "uniform"]) == 2
    revenue = tmp_path / "revenue.csv"
    revenue.write_text("ts,arm_index,propensity,reward,context\n" + "2026-01-01T00:00:00Z,0,0.5,30,[]\n" * 4)
    capsys.readouterr()
    assert main(["replay", str(revenue), "--policy", "beta_ts", "--arms", "2"]) == 2
    assert "rewards must lie in [0, 1]" in capsys.readouterr().err
