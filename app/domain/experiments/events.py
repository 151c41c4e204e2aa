"""an experiment's event log (app.db.models.event_log) as csv or json lines: one row per exposure with its outcome.

columns: ``ts`` (the exposure's time, iso 8601 utc), ``arm_index``, ``propensity`` (the probability the logging
policy gave that arm), ``reward`` (the rewards attributed to the exposure within the experiment's attribution
window, 0 when none arrived) and ``context`` (a json array, empty for non-contextual experiments): the format
``levers replay`` reads (app.offline.events). rows come from a server-side cursor a chunk at a time, so the
answer takes constant memory however many millions of rows it holds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.response import Stream
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.lib.errors import InvalidInputError
from app.offline.events import COLUMNS

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CHUNK = 2000

# rewards are summed per exposure nonce first (a hash aggregate postgres may spill to disk, never this process),
# then joined to the exposures, read in time order through the (experiment_id, exposed_at) index. ``ts`` is the
# exposure row's own time (sub-second), ``exposed_at`` the selection token's (whole seconds)
EXPORT_QUERY = text(
    """
    with rewards as (
        select nonce, sum(reward) as reward
        from event_log
        where experiment_id = :experiment and kind = 'f' and nonce <> '' and exposed_at >= :since
          and ts <= exposed_at + make_interval(secs => :window)
        group by nonce
    )
    select x.ts, x.arm_index, x.propensity, coalesce(r.reward, 0.0) as reward, x.context
    from event_log x
    left join rewards r on x.nonce <> '' and r.nonce = x.nonce
    where x.experiment_id = :experiment and x.kind = 'x' and x.exposed_at >= :since
    order by x.exposed_at, x.ts
    """
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidInputError("format must be csv or jsonl", field="format")
    return value


def parse_since(value: str | None) -> datetime:
    """an iso 8601 date or date-time (utc when it names no offset); none means the whole log."""
    if value is None or value == "":
        return EPOCH
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()), time())
        except ValueError:
            raise InvalidInputError(
                "since must be an iso 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z", field="since"
            ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _encode(rows: Sequence[Any], fmt: str) -> bytes:
    if fmt == "jsonl":
        lines = [
            json.dumps(
                {
                    "ts": _stamp(at),
                    "arm_index": arm,
                    "propensity": propensity,
                    "reward": reward,
                    "context": context or [],
                },
                separators=(",", ":"),
            )
            for at, arm, propensity, reward, context in rows
        ]
        return ("\n".join(lines) + "\n").encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for at, arm, propensity, reward, context in rows:
        writer.writerow([_stamp(at), arm, repr(propensity), repr(reward), json.dumps(context or [])])
    return out.getvalue().encode()


async def export_events(
    engine: AsyncEngine, experiment_id: UUID, attribution_window_seconds: int, since: datetime, fmt: str
) -> AsyncIterator[bytes]:
    """the export's body, a chunk of rows at a time."""
    if fmt == "csv":
        yield (",".join(COLUMNS) + "\n").encode()
    params = {"experiment": experiment_id, "since": since, "window": float(attribution_window_seconds)}
    async with engine.connect() as connection:
        result = await connection.stream(EXPORT_QUERY.execution_options(yield_per=CHUNK), params)
        async for rows in result.partitions(CHUNK):
            yield _encode(rows, fmt)


def export_response(engine: AsyncEngine, experiment: Any, fmt: str, since: str | None) -> Stream:
    """the streamed download of an experiment already loaded for the caller (so scoped to their organization);
    raises naming ``format`` or ``since`` when one is not acceptable."""
    fmt = check_format(fmt)
    start = parse_since(since)
    body = export_events(engine, experiment.id, experiment.attribution_window_seconds, start, fmt)
    return Stream(
        body,
        media_type=FORMATS[fmt],
        headers={"content-disposition": f'attachment; filename="{experiment.key}-events.{fmt}"'},
    )


# the download's columns: one json lines object, or one csv row under the header
_ROW_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "ts": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
        "arm_index": Schema(type=OpenAPIType.INTEGER),
        "propensity": Schema(type=OpenAPIType.NUMBER),
        "reward": Schema(type=OpenAPIType.NUMBER),
        "context": Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.NUMBER)),
    },
    required=list(COLUMNS),
)


@dataclass
class _ExportOperation(Operation):
    """documents the streamed answer in both its media types (litestar sees only a stream of bytes)."""

    def __post_init__(self) -> None:
        if self.responses and "200" in self.responses:
            self.responses["200"] = OpenAPIResponse(
                description="The event log: a header row then one row per exposure (csv), or one json object per "
                "line (jsonl), with the columns ts, arm_index, propensity, reward, context.",
                content={
                    "text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
                    "application/x-ndjson": OpenAPIMediaType(schema=_ROW_SCHEMA),
                },
            )


EXPORT_OPERATION = _ExportOperation
