"""`levers analyze`: hourly csv exports in, one json line per file out, the page's own verdict."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from app.__main__ import main
from app.domain.results.model import Counters, bucket_hours, build_results, downsample
from app.stats import DecisionThresholds

START = datetime(2026, 11, 1, tzinfo=UTC)


def write_export(path: Path, exposures: np.ndarray, conversions: np.ndarray, names: list[str]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["hour", "arm_index", "arm", "exposures", "feedbacks", "reward_sum", "reward_sum_sq"])
        for h in range(exposures.shape[0]):
            for i, name in enumerate(names):
                hour = (START + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00:00Z")
                c = conversions[h, i]
                writer.writerow([hour, i, name, int(exposures[h, i]), int(c), c, c])


def simulated(seed: int, rates: tuple[float, float], hours: int = 240) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = rng.multinomial(60, [0.5, 0.5], size=hours).astype(float)
    return n, rng.binomial(n.astype(int), rates).astype(float)


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    status = main(["analyze", *args])
    lines = capsys.readouterr().out.strip().splitlines()
    return status, [json.loads(line) for line in lines]


def test_a_clear_winner_matches_the_results_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n, s = simulated(1, (0.04, 0.08))
    write_export(tmp_path / "win.csv", n, s, ["Control", "Green"])
    status, [line] = run_cli(str(tmp_path / "win.csv"), capsys=capsys)
    assert status == 0
    assert line["file"] == str(tmp_path / "win.csv")
    assert line["recommendation"] == "ship" and line["winner"] == 1
    assert [a["name"] for a in line["arms"]] == ["Control", "Green"]
    assert set(line["arms"][0]) == {
        "index",
        "name",
        "prob_best",
        "mean",
        "ci_low",
        "ci_high",
        "lift",
        "lift_ci_low",
        "lift_ci_high",
    }
    size = bucket_hours(n.shape[0])
    counters = Counters(START, size, downsample(n, size), downsample(s, size), downsample(s, size), downsample(s, size))
    view = build_results(
        names=["Control", "Green"], payloads=[{}, {}], control=0, winner=None, conversion=True,
        counters=counters, thresholds=DecisionThresholds(),
    )  # fmt: skip
    assert view.recommendation is not None and view.recommendation.kind == line["recommendation"]
    for arm, page in zip(line["arms"], view.arms, strict=True):
        assert arm["prob_best"] == pytest.approx(page.result.prob_best, abs=1e-12)
        assert arm["mean"] == pytest.approx(page.result.observed_mean, abs=1e-12)
        assert arm["lift"] == pytest.approx(page.result.lift, abs=1e-12)


def test_control_option_and_impossible_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n, s = simulated(2, (0.05, 0.05), hours=48)
    s[3, 1] = n[3, 1] + 5  # more conversions than visitors in one hour
    write_export(tmp_path / "bad.csv", n, s, ["A", "B"])
    status, [line] = run_cli("--control", "1", str(tmp_path / "bad.csv"), capsys=capsys)
    assert status == 0
    assert line["recommendation"] == "not_enough_data" and line["winner"] is None
    assert [w["code"] for w in line["warnings"]] == ["impossible_data"]
    status, [line] = run_cli("--control", "5", str(tmp_path / "bad.csv"), capsys=capsys)
    assert status == 1 and "not an arm index" in line["error"]


def test_broken_files_get_an_error_line_and_the_rest_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cols.csv").write_text("hour,arm\n")
    (tmp_path / "text.csv").write_text(
        "hour,arm_index,arm,exposures,feedbacks,reward_sum,reward_sum_sq\n2026-11-01T00:00:00Z,0,A,lots,1,1,1\n"
    )
    n, s = simulated(3, (0.05, 0.05), hours=48)
    write_export(tmp_path / "ok.csv", n, s, ["A", "B"])
    files = [str(tmp_path / f) for f in ("cols.csv", "missing.csv", "text.csv", "ok.csv")]
    status, lines = run_cli(*files, capsys=capsys)
    assert status == 1
    assert "missing column(s): arm_index" in lines[0]["error"]
    assert "error" in lines[1] and "line 2" in lines[2]["error"]
    assert lines[3]["recommendation"] in ("keep_running", "not_enough_data", "no_difference")


def test_hundreds_of_files_in_one_process(tmp_path: Path) -> None:
    files = []
    for seed in range(300):
        n, s = simulated(seed, (0.05, 0.05 if seed % 2 else 0.09), hours=72)
        path = tmp_path / f"e{seed}.csv"
        write_export(path, n, s, ["A", "B"])
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "app", "analyze", "--mode", "conversion", *files],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    shipped = [line["winner"] for line in lines if line["recommendation"] == "ship"]
    assert shipped and all(w == 1 for w in shipped)  # only the +80% arm is ever shipped
