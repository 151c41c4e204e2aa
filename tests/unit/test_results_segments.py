"""the segment tables: the top values by visitors on their own, the rest summed into other."""

from __future__ import annotations

from app.domain.results.segments import build_segments, segments_csv


def test_top_values_are_shown_and_the_rest_folded_into_other() -> None:
    rows = []
    for i in range(12):
        # utm source s0 has the most visitors, s11 the fewest; each arm gets the same
        for arm in (0, 1):
            rows.append(("utm_source", f"s{i}", arm, 100 - i, 10, 10.0, 10.0))
    rows += [("utm_source", "other", 0, 5, 1, 1.0, 1.0), ("utm_source", "", 1, 7, 0, 0.0, 0.0)]
    rows += [("device", "mobile", 0, 50, 5, 5.0, 5.0), ("device", "mobile", 1, 50, 9, 9.0, 9.0)]
    rows += [("nonsense", "x", 0, 1, 0, 0.0, 0.0), ("device", "desktop", 7, 1, 0, 0.0, 0.0)]  # ignored
    view = build_segments(rows, ["A", "B"], control=0, conversion=True, keep=8)
    utm = next(t for t in view.tables if t.dimension == "utm_source")
    assert [r.value for r in utm.rows] == [f"s{i}" for i in range(8)] + ["", "other"]
    assert utm.folded == 4
    other = utm.rows[-1]
    assert other.label == "Other" and other.arms[0].exposures == 5 + sum(100 - i for i in range(8, 12))
    assert utm.rows[-2].label == "(not set)"
    assert utm.comparisons == 9  # "(not set)" has no control visitors: not compared
    device = next(t for t in view.tables if t.dimension == "device")
    assert [r.label for r in device.rows] == ["Mobile"] and device.rows[0].feedbacks == [5, 9]
    assert not view.empty and view.binary
    text = segments_csv(view)
    assert text.splitlines()[0].startswith("dimension,value,arm_index,arm,control,exposures,conversions")
    assert "device,mobile,1,B,0,50,9,50,0.18," in text
    assert build_segments([], ["A", "B"], 0, True).empty
