"""when a gate is open: an optional date window, optional weekdays and daily hours, in an iana time zone.

daily hours are wall-clock times in the zone, so they follow daylight saving: a 09:00-17:00 window opens at
09:00 local on both sides of a change. on a spring-forward day a window inside the skipped hour never opens;
on a fall-back day a window inside the repeated hour is open during both passes. a window whose end is before
its start wraps midnight (22:00-06:00). the date window is two instants: start inclusive, end exclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.targeting.conditions import ConditionError

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """the zone, or ConditionError("...", "timezone") when iana has no such name."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise ConditionError("timezone must be an IANA name such as Europe/Berlin", "timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ConditionError(f"unknown time zone {name!r}", "timezone") from exc


def parse_clock(text: str, field: str) -> int:
    """ "HH:MM" to minutes after midnight."""
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConditionError("a time of day is HH:MM, 00:00 to 23:59", field)
    return int(match.group(1)) * 60 + int(match.group(2))


def localize(moment: datetime, timezone: str) -> datetime:
    """an aware instant; a naive one is a wall-clock time in `timezone` (the earlier one when ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=zone(timezone))
    return moment


@dataclass(frozen=True)
class Schedule:
    timezone: str = "UTC"
    start: float | None = None  # unix seconds, inclusive
    end: float | None = None  # unix seconds, exclusive
    days: frozenset[int] = frozenset()  # 0 = monday; empty = every day
    from_minute: int | None = None
    to_minute: int | None = None
    _memo: tuple[int, bool] = field(default=(-1, False), compare=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        timezone: str = "UTC",
        start: datetime | None = None,
        end: datetime | None = None,
        days: list[int] | None = None,
        hours_from: str | None = None,
        hours_to: str | None = None,
    ) -> Schedule:
        zone(timezone)
        start_ts = localize(start, timezone).timestamp() if start is not None else None
        end_ts = localize(end, timezone).timestamp() if end is not None else None
        if start_ts is not None and end_ts is not None and end_ts <= start_ts:
            raise ConditionError("end must be after start", "end")
        for position, day in enumerate(days or []):
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                raise ConditionError("days are 0 (monday) to 6 (sunday)", f"days[{position}]")
        if (hours_from is None) != (hours_to is None):
            field = "hours_to" if hours_to is None else "hours_from"
            raise ConditionError("daily hours need both hours_from and hours_to", field)
        from_minute = parse_clock(hours_from, "hours_from") if hours_from is not None else None
        to_minute = parse_clock(hours_to, "hours_to") if hours_to is not None else None
        if from_minute is not None and from_minute == to_minute:
            raise ConditionError("hours_to must differ from hours_from", "hours_to")
        return cls(timezone, start_ts, end_ts, frozenset(days or []), from_minute, to_minute)

    def is_open(self, now: datetime | float) -> bool:
        ts = now if isinstance(now, int | float) else now.timestamp()
        if self.start is not None and ts < self.start:
            return False
        if self.end is not None and ts >= self.end:
            return False
        if not self.days and self.from_minute is None:
            return True
        # days and hours change only on whole minutes (every zone's offset is whole minutes today), so the
        # answer is kept for the current utc minute: the hot path converts time zones once a minute, not per call
        minute_key = int(ts // 60)
        cached = self._memo
        if cached[0] == minute_key:
            return cached[1]
        result = self._local_open(ts)
        object.__setattr__(self, "_memo", (minute_key, result))
        return result

    def _local_open(self, ts: float) -> bool:
        local = datetime.fromtimestamp(ts, tz=UTC).astimezone(zone(self.timezone))
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        if self.from_minute is not None and self.to_minute is not None:
            if self.from_minute < self.to_minute:
                if not self.from_minute <= minute < self.to_minute:
                    return False
            elif minute >= self.from_minute:
                pass  # the evening part of an overnight window belongs to today
            elif minute < self.to_minute:
                weekday = (weekday - 1) % 7  # the small hours belong to the window that opened yesterday
            else:
                return False
        return not self.days or weekday in self.days
