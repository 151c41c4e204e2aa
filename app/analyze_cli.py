"""``levers analyze FILE...``: the results page's verdict from hourly csv exports, one json line per file.

the csv is the dashboard's hourly export (``hour, arm_index, arm, exposures, feedbacks, reward_sum,
reward_sum_sq``; one row per hour and arm, a conversion counted in its exposure's hour). the hours
are summed into the same periods as the results page (``app.domain.results.model.bucket_hours``)
and analysed by the same ``app.stats.analyze``. a file that cannot be read gives a line with an
``error`` and the exit status 1; the others are still analysed, all in one process.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import datetime
from typing import Any

import numpy as np

from app.domain.results.model import bucket_hours, choose_kind, downsample
from app.stats import ArmTotals, PeriodCounters, analyze

COLUMNS = ("hour", "arm_index", "arm", "exposures", "feedbacks", "reward_sum", "reward_sum_sq")


class ExportError(ValueError):
    pass


def read_export(path: str) -> tuple[list[str], np.ndarray]:
    """arm names and a (4, hours, arms) array: exposures, feedbacks, reward sums, squared sums."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ExportError(f"missing column(s): {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                hour = datetime.fromisoformat(row["hour"].replace("Z", "+00:00"))
                index = int(row["arm_index"])
                values = [float(row[c]) for c in COLUMNS[3:]]
            except (TypeError, ValueError) as exc:
                raise ExportError(f"line {line}: {exc}") from None
            if index < 0:
                raise ExportError(f"line {line}: arm_index must be 0 or more")
            rows.append((hour, index, row["arm"], values))
    if not rows:
        raise ExportError("no rows")
    first = min(r[0] for r in rows)
    k = max(r[1] for r in rows) + 1
    hours = int(max((r[0] - first).total_seconds() for r in rows) // 3600) + 1
    names = [f"arm {i}" for i in range(k)]
    data = np.zeros((4, hours, k))
    for hour, index, name, values in rows:
        names[index] = name or names[index]
        data[:, int((hour - first).total_seconds() // 3600), index] += values
    return names, data


def analyse_file(path: str, control: int, mode: str) -> dict[str, Any]:
    names, data = read_export(path)
    if control >= len(names):
        raise ExportError(f"--control {control} is not an arm index (the file has {len(names)} arms)")
    size = bucket_hours(data.shape[1])
    exposures, feedbacks, sums, squares = (downsample(m, size) for m in data)
    conversion = mode == "conversion"
    kind = choose_kind(conversion, float(sums.sum()), float(squares.sum()))
    trials = exposures if conversion else feedbacks
    totals = [
        ArmTotals(
            name=names[i],
            trials=int(trials[:, i].sum()),
            successes=float(sums[:, i].sum()),
            sum_sq=float(squares[:, i].sum()),
            nonzero=None,
        )
        for i in range(len(names))
    ]
    result = analyze(totals, kind, control=control, periods=PeriodCounters(trials, sums, squares))
    rec = result.recommendation
    shipped = rec.kind == "ship"
    return {
        "file": path,
        "recommendation": rec.kind,
        "winner": rec.arm if shipped else None,
        "arms": [
            {
                "index": i,
                "name": a.name,
                "prob_best": a.prob_best,
                "mean": a.observed_mean,
                "ci_low": a.ci_low,
                "ci_high": a.ci_high,
                "lift": a.lift if result.relative_lift else None,
                "lift_ci_low": a.lift_ci_low if result.relative_lift else None,
                "lift_ci_high": a.lift_ci_high if result.relative_lift else None,
            }
            for i, a in enumerate(result.arms)
        ],
        "warnings": [{"code": w.code, "message": w.message} for w in result.warnings],
    }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="levers analyze", description="Re-run the results page's verdict on hourly CSV exports."
    )
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--control", type=int, default=0, help="index of the control arm (default 0)")
    parser.add_argument("--mode", choices=("conversion", "explicit"), default="conversion")
    args = parser.parse_args(argv)
    if args.control < 0:
        parser.error("--control must be 0 or more")
    status = 0
    out = sys.stdout
    for path in args.files:
        try:
            line = analyse_file(path, args.control, args.mode)
        except (OSError, ExportError, UnicodeDecodeError, csv.Error) as exc:
            line, status = {"file": path, "error": str(exc)}, 1
        out.write(json.dumps(_clean(line)) + "\n")
    out.flush()
    return status
