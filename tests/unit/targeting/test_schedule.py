"""schedules: date windows, weekdays and daily hours in iana zones, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.targeting import ConditionError, Schedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def open_minutes(schedule: Schedule, start: datetime, hours: int) -> list[datetime]:
    return [start + timedelta(minutes=m) for m in range(hours * 60) if schedule.is_open(start + timedelta(minutes=m))]


def test_office_hours_follow_the_wall_clock_across_spring_forward() -> None:
    # berlin: utc+1 until 2026-03-29 01:00 utc, then utc+2
    office = Schedule.build(timezone="Europe/Berlin", hours_from="09:00", hours_to="17:00")
    assert not office.is_open(utc(2026, 3, 28, 7, 59))  # 08:59 cet
    assert office.is_open(utc(2026, 3, 28, 8, 0))  # 09:00 cet
    assert office.is_open(utc(2026, 3, 28, 15, 59)) and not office.is_open(utc(2026, 3, 28, 16, 0))
    assert not office.is_open(utc(2026, 3, 29, 6, 59))  # 08:59 cest
    assert office.is_open(utc(2026, 3, 29, 7, 0))  # 09:00 cest
    assert office.is_open(utc(2026, 3, 29, 14, 59)) and not office.is_open(utc(2026, 3, 29, 15, 0))


def test_a_window_in_the_skipped_hour_never_opens_and_one_in_the_repeated_hour_opens_twice() -> None:
    night = Schedule.build(timezone="Europe/Berlin", hours_from="02:00", hours_to="03:00")
    assert len(open_minutes(night, utc(2026, 3, 27, 22), 24)) == 60  # an ordinary night
    assert open_minutes(night, utc(2026, 3, 28, 22), 24) == []  # 02:00-03:00 doesn't exist on 29 march
    repeated = open_minutes(night, utc(2026, 10, 24, 22), 24)  # 02:00-03:00 happens twice on 25 october
    assert len(repeated) == 120
    assert repeated[0] == utc(2026, 10, 25, 0, 0) and repeated[-1] == utc(2026, 10, 25, 1, 59)


def test_new_york_and_sydney_change_on_their_own_dates() -> None:
    morning_ny = Schedule.build(timezone="America/New_York", hours_from="08:00", hours_to="09:00")
    assert morning_ny.is_open(utc(2026, 3, 7, 13, 30))  # est: 08:30 is 13:30 utc
    assert morning_ny.is_open(utc(2026, 3, 9, 12, 30))  # edt since 8 march: 08:30 is 12:30 utc
    assert not morning_ny.is_open(utc(2026, 3, 9, 13, 30))
    # the southern hemisphere leaves dst on 5 april 2026 (aedt utc+11 -> aest utc+10)
    morning_syd = Schedule.build(timezone="Australia/Sydney", hours_from="08:00", hours_to="09:00")
    assert morning_syd.is_open(utc(2026, 4, 3, 21, 30))
    assert morning_syd.is_open(utc(2026, 4, 6, 22, 30))
    assert not morning_syd.is_open(utc(2026, 4, 6, 21, 30))


def test_offsets_that_are_not_whole_hours() -> None:
    kathmandu = Schedule.build(timezone="Asia/Kathmandu", hours_from="09:00", hours_to="10:00")  # utc+05:45
    assert not kathmandu.is_open(utc(2026, 6, 1, 3, 14)) and kathmandu.is_open(utc(2026, 6, 1, 3, 15))


def test_overnight_windows_belong_to_the_day_they_opened() -> None:
    friday_night = Schedule.build(timezone="Europe/Paris", hours_from="22:00", hours_to="06:00", days=[4])
    # friday 2026-06-05, cest (utc+2)
    assert friday_night.is_open(utc(2026, 6, 5, 20, 0))  # friday 22:00
    assert friday_night.is_open(utc(2026, 6, 6, 3, 59))  # saturday 05:59, still friday's night
    assert not friday_night.is_open(utc(2026, 6, 6, 4, 0))  # saturday 06:00
    assert not friday_night.is_open(utc(2026, 6, 5, 0, 30))  # friday 02:30 belongs to thursday's night
    assert not friday_night.is_open(utc(2026, 6, 6, 20, 0))  # saturday 22:00


def test_date_window_is_start_inclusive_end_exclusive_and_naive_means_local() -> None:
    sale = Schedule.build(
        timezone="Europe/Berlin", start=datetime(2026, 11, 27, 0, 0), end=datetime(2026, 11, 30, 0, 0)
    )
    assert not sale.is_open(utc(2026, 11, 26, 22, 59))  # 23:59 the day before, cet
    assert sale.is_open(utc(2026, 11, 26, 23, 0))  # midnight berlin
    assert sale.is_open(utc(2026, 11, 29, 22, 59))
    assert not sale.is_open(utc(2026, 11, 29, 23, 0))
    aware = Schedule.build(timezone="Europe/Berlin", start=utc(2026, 11, 27, 0, 0))
    assert not aware.is_open(utc(2026, 11, 26, 23, 30)) and aware.is_open(utc(2026, 11, 27, 0, 0))


def test_date_window_across_a_dst_change_keeps_its_instants() -> None:
    # a naive start in the skipped hour resolves with the offset before the change (02:30 cet = 01:30 utc)
    week = Schedule.build(timezone="Europe/Berlin", start=datetime(2026, 3, 29, 2, 30), end=datetime(2026, 4, 5))
    assert not week.is_open(utc(2026, 3, 29, 1, 29)) and week.is_open(utc(2026, 3, 29, 1, 30))
    assert week.is_open(utc(2026, 4, 4, 21, 59)) and not week.is_open(utc(2026, 4, 4, 22, 0))  # cest


def test_weekdays_are_local() -> None:
    weekend = Schedule.build(timezone="Pacific/Auckland", days=[5, 6])
    # friday 2026-06-05 13:00 utc is saturday 01:00 in auckland (nzst utc+12)
    assert weekend.is_open(utc(2026, 6, 5, 13, 0))
    assert not weekend.is_open(utc(2026, 6, 5, 11, 0))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"hours_from": "9:00", "hours_to": "17:00"}, "hours_from"),
        ({"hours_from": "09:00", "hours_to": "24:00"}, "hours_to"),
        ({"hours_from": "09:00"}, "hours_to"),
        ({"hours_from": "09:00", "hours_to": "09:00"}, "hours_to"),
        ({"days": [7]}, "days[0]"),
        ({"start": datetime(2026, 2, 1), "end": datetime(2026, 1, 1)}, "end"),
    ],
)
def test_invalid_schedules_name_their_part(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConditionError) as caught:
        Schedule.build(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
