"""per-segment counters, bounded: each experiment counts at most ``MAX_VALUES`` values of a dimension on their
own (plus "other" and unset); a value arriving once a dimension is full is counted as "other".

the events' values are already narrow (app.targeting.segments), but a hostile tag can still send a new
utm_source on every request. the cap keeps the rows per experiment bounded however many distinct values
arrive: dimensions x (MAX_VALUES + 2) x arms x days. within a batch the most frequent new values are let in
first, and the results page shows the top values of what was kept (app.domain.results.segments).

one consumer at a time drains an experiment's shard (app.worker.drain), so the admission of an experiment's
values is never raced.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import SegmentValue
from app.targeting.segments import DIMENSIONS, MAX_VALUES, NOT_SET, OTHER, checked_segment

Key = tuple[str, str, str, int, datetime]  # experiment, dimension, value, arm, day
SegmentKey = tuple[str, int, datetime, tuple[str, ...]]  # experiment, arm, day, the event's segment
Row = list[float]


@lru_cache(maxsize=8192)
def normalised(values: tuple[str, ...]) -> tuple[str, ...]:
    """the event's segment re-checked (a token signed by an older or misbehaving web tier stays narrow);
    cached, since a batch holds few distinct segments."""
    return tuple(checked_segment(values))


def expand(totals: dict[SegmentKey, Row]) -> dict[Key, Row]:
    """the counters per whole segment split into one per dimension and value (each event counts once in each)."""
    found: defaultdict[Key, Row] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for (experiment, arm, day, values), row in totals.items():
        for dimension, value in zip(DIMENSIONS, normalised(values), strict=True):
            target = found[(experiment, dimension, value, arm, day)]
            for i in range(4):
                target[i] += row[i]
    return dict(found)


def _free(value: str) -> bool:
    # these never take a place: every experiment may have them
    return value in (NOT_SET, OTHER)


def admit(
    known: dict[tuple[str, str], set[str]], candidates: Counter[tuple[str, str, str]], cap: int = MAX_VALUES
) -> tuple[dict[tuple[str, str, str], str], list[tuple[str, str, str]]]:
    """which value each candidate (experiment, dimension, value) is counted under, and the newly admitted ones.

    ``known`` holds the admitted values per (experiment, dimension); ``candidates`` the batch's exposures per
    value. pure: new values are let in most frequent first while the dimension has room, the rest are "other".
    """
    mapping: dict[tuple[str, str, str], str] = {}
    admitted: list[tuple[str, str, str]] = []
    # most frequent first, then by value so the outcome doesn't depend on the batch's order
    for candidate in sorted(candidates, key=lambda c: (-candidates[c], c)):
        experiment, dimension, value = candidate
        kept = known.setdefault((experiment, dimension), set())
        if _free(value) or value in kept:
            mapping[candidate] = value
        elif len(kept) < cap:
            kept.add(value)
            admitted.append(candidate)
            mapping[candidate] = value
        else:
            mapping[candidate] = OTHER
    return mapping, admitted


def fold(totals: dict[Key, Row], mapping: dict[tuple[str, str, str], str]) -> dict[Key, Row]:
    """the counters with each value replaced by the one it is counted under (several may fold into "other")."""
    folded: defaultdict[Key, Row] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for (experiment, dimension, value, arm, day), row in totals.items():
        target = folded[(experiment, dimension, mapping.get((experiment, dimension, value), value), arm, day)]
        for i in range(4):
            target[i] += row[i]
    return dict(folded)


async def bound(session: AsyncSession, totals: dict[Key, Row], cap: int = MAX_VALUES) -> dict[Key, Row]:
    """the batch's segment counters within the cap, with the newly admitted values recorded."""
    if not totals:
        return {}
    candidates: Counter[tuple[str, str, str]] = Counter()
    for (experiment, dimension, value, _arm, _day), row in totals.items():
        # a conversion alone (its exposure in an earlier batch) still needs a place: count it as one
        candidates[(experiment, dimension, value)] += int(row[0]) or 1
    experiments = {UUID(c[0]) for c in candidates if not _free(c[2])}
    known: dict[tuple[str, str], set[str]] = {}
    if experiments:
        t = SegmentValue
        rows = await session.execute(
            select(t.experiment_id, t.dimension, t.value).where(t.experiment_id.in_(sorted(experiments)))
        )
        for experiment_id, dimension, value in rows:
            known.setdefault((str(experiment_id), dimension), set()).add(value)
    mapping, admitted = admit(known, candidates, cap)
    if admitted:
        table: Table = SegmentValue.__table__  # type: ignore[assignment]
        values: list[dict[str, Any]] = [{"experiment_id": UUID(e), "dimension": d, "value": v} for e, d, v in admitted]
        await session.execute(insert(table).on_conflict_do_nothing(), values)
    return fold(totals, mapping)
