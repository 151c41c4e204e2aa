"""logged traffic for offline evaluation: one row per exposure with its outcome, parsed from the export formats.

the export (csv or json lines) has the columns ``ts`` (iso 8601), ``arm_index``, ``propensity`` (the probability
the logging policy gave the served arm), ``reward`` (0 when none arrived in the attribution window) and
``context`` (a json array, empty for non-contextual experiments). parsing takes lines, not files: no i/o here.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

COLUMNS = ("ts", "arm_index", "propensity", "reward", "context")


class LogError(ValueError):
    """a logged event that can't be evaluated; ``line`` (1-based, header included) and ``field`` name it."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"line {line}: {field}: {message}")
        self.line = line
        self.field = field


@dataclass(frozen=True)
class LoggedEvents:
    """n logged decisions, in time order: arms (n,), propensities (n,), rewards (n,), contexts (n, d) or None."""

    timestamps: np.ndarray
    arms: np.ndarray
    propensities: np.ndarray
    rewards: np.ndarray
    contexts: np.ndarray | None

    @property
    def size(self) -> int:
        return int(self.arms.size)

    @property
    def n_arms(self) -> int:
        return int(self.arms.max()) + 1 if self.size else 0

    def head(self, count: int) -> LoggedEvents:
        return self._slice(slice(None, count))

    def tail_from(self, start: int) -> LoggedEvents:
        return self._slice(slice(start, None))

    def _slice(self, part: slice) -> LoggedEvents:
        contexts = None if self.contexts is None else self.contexts[part]
        return LoggedEvents(
            self.timestamps[part], self.arms[part], self.propensities[part], self.rewards[part], contexts
        )


def _number(value: object, line: int, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LogError(line, field, "must be a number")
    try:
        number = float(value)
    except ValueError:
        raise LogError(line, field, f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise LogError(line, field, "must be finite")
    return number


def _row(record: dict[str, object], line: int, context_text: bool) -> tuple[float, int, float, float, list[float]]:
    missing = [name for name in COLUMNS if name not in record]
    if missing:
        raise LogError(line, missing[0], "missing")
    try:
        ts = datetime.fromisoformat(str(record["ts"]).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise LogError(line, "ts", f"not an iso 8601 time: {record['ts']!r}") from None
    arm = _number(record["arm_index"], line, "arm_index")
    if arm < 0 or arm != int(arm):
        raise LogError(line, "arm_index", "must be a non-negative integer")
    propensity = _number(record["propensity"], line, "propensity")
    if not 0 < propensity <= 1:
        raise LogError(line, "propensity", "must lie in (0, 1]: an arm served with probability 0 can't be logged")
    reward = _number(record["reward"], line, "reward")
    raw_context = record["context"]
    if context_text:
        try:
            raw_context = json.loads(str(raw_context) or "[]")
        except json.JSONDecodeError:
            raise LogError(line, "context", "not a json array") from None
    if not isinstance(raw_context, list):
        raise LogError(line, "context", "must be a json array of numbers")
    context = [_number(value, line, "context") for value in raw_context]
    return ts, int(arm), propensity, reward, context


def _collect(rows: Iterable[tuple[int, tuple[float, int, float, float, list[float]]]]) -> LoggedEvents:
    ts: list[float] = []
    arms: list[int] = []
    props: list[float] = []
    rewards: list[float] = []
    contexts: list[list[float]] = []
    dim: int | None = None
    for line, (t, arm, propensity, reward, context) in rows:
        if dim is None:
            dim = len(context)
        elif len(context) != dim:
            raise LogError(line, "context", f"has {len(context)} values where earlier rows have {dim}")
        ts.append(t)
        arms.append(arm)
        props.append(propensity)
        rewards.append(reward)
        contexts.append(context)
    if not arms:
        raise LogError(1, "ts", "the log holds no events")
    order = np.argsort(np.asarray(ts), kind="stable")
    context_array = np.asarray(contexts, dtype=np.float64)[order] if dim else None
    return LoggedEvents(
        np.asarray(ts)[order],
        np.asarray(arms, dtype=np.int64)[order],
        np.asarray(props, dtype=np.float64)[order],
        np.asarray(rewards, dtype=np.float64)[order],
        context_array,
    )


def parse_csv(lines: Iterable[str]) -> LoggedEvents:
    """events from the csv export (a header row naming the columns, then one row per exposure)."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        raise LogError(1, "ts", "the file is empty")
    return _collect(
        (index + 2, _row(dict(record), index + 2, context_text=True)) for index, record in enumerate(reader)
    )


def parse_jsonl(lines: Iterable[str]) -> LoggedEvents:
    """events from the json lines export (one object per line; blank lines are skipped)."""

    def rows() -> Iterable[tuple[int, tuple[float, int, float, float, list[float]]]]:
        for index, text in enumerate(lines):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError:
                raise LogError(index + 1, "ts", "not a json object") from None
            if not isinstance(record, dict):
                raise LogError(index + 1, "ts", "not a json object")
            yield index + 1, _row(record, index + 1, context_text=False)

    return _collect(rows())
