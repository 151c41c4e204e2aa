"""the recommendation: each verdict, its wording, and the 'visitors needed' projection."""

from __future__ import annotations

import pytest

from app.stats import ArmTotals, DecisionThresholds, analyze
from app.stats.decision import percent, round_up, significant


def binary(*counts: tuple[int, int]) -> list[ArmTotals]:
    return [ArmTotals(chr(ord("a") + i), n, s) for i, (n, s) in enumerate(counts)]


def at_rates(arms: list[ArmTotals], extra_per_arm: float) -> list[ArmTotals]:
    """the arms after ``extra_per_arm`` more visitors each, converting at their posterior mean rates."""
    out = []
    for arm in arms:
        rate = (1 + arm.successes) / (2 + arm.trials)
        n = arm.trials + round(extra_per_arm)
        out.append(ArmTotals(arm.name, n, rate * (n + 2) - 1))
    return out


def test_ship_a_clear_winner() -> None:
    rec = analyze(binary((20_000, 1_000), (20_000, 1_200)), "binary").recommendation
    assert (rec.kind, rec.arm, rec.arm_name) == ("ship", 1, "b")
    assert rec.prob_best >= 0.95 and rec.expected_loss <= rec.loss_limit
    assert rec.text.startswith("Ship b: >99% likely best; choosing it risks an expected loss of ")
    assert rec.text.endswith(" points of conversion rate.")
    assert rec.visitors_needed is None


def test_keep_a_winning_control() -> None:
    rec = analyze(binary((20_000, 1_200), (20_000, 1_000)), "binary").recommendation
    assert (rec.kind, rec.arm) == ("ship", 0)
    assert rec.text.startswith("Keep a (the control): ")


def test_keep_running_with_an_estimate() -> None:
    analysis = analyze(binary((10_000, 500), (10_000, 560), (10_000, 520)), "binary")
    rec = analysis.recommendation
    assert (rec.kind, rec.arm) == ("keep_running", 1)
    assert rec.visitors_needed is not None and rec.visitors_needed > 0
    assert not rec.visitors_needed_is_lower_bound
    assert rec.text == (
        f"Keep running: b leads ({percent(rec.prob_best)} likely best); "
        f"about {rec.visitors_needed:,} more visitors expected to decide."
    )


def test_visitors_needed_is_what_the_projection_reaches() -> None:
    arms = binary((5_000, 250), (5_000, 285))
    rec = analyze(arms, "binary").recommendation
    assert rec.kind == "keep_running" and rec.visitors_needed is not None
    per_arm = rec.visitors_needed / 2
    later = analyze(at_rates(arms, 1.15 * per_arm), "binary").recommendation
    assert later.kind in ("ship", "no_difference")
    sooner = analyze(at_rates(arms, per_arm / 3), "binary").recommendation
    assert sooner.kind == "keep_running"
    assert sooner.visitors_needed is not None and sooner.visitors_needed < rec.visitors_needed


def test_projection_follows_traffic_shares() -> None:
    even = binary((5_000, 250), (5_000, 285))
    skewed = [ArmTotals("a", 5_000, 250, traffic_share=0.9), ArmTotals("b", 5_000, 285, traffic_share=0.1)]
    needed_even = analyze(even, "binary").recommendation.visitors_needed
    needed_skewed = analyze(skewed, "binary").recommendation.visitors_needed
    assert needed_even is not None and needed_skewed is not None
    assert needed_skewed > needed_even


def test_no_difference_between_equivalent_arms() -> None:
    rec = analyze(binary((3_000_000, 150_000), (3_000_000, 150_050)), "binary").recommendation
    assert rec.kind == "no_difference"
    assert rec.text.startswith("No meaningful difference: choosing any arm risks at most ")
    assert "within the 2% practical difference" in rec.text


def test_not_enough_data() -> None:
    # the floor is on the total (100 per arm on average): a starved arm no longer blocks the verdict
    rec = analyze(binary((50, 5), (150, 20), (20, 1)), "binary").recommendation
    assert rec.kind == "not_enough_data"
    assert rec.visitors_needed == 80
    assert (
        rec.text
        == "Not enough data: no verdict before 300 visitors in all (220 so far); about 80 more visitors needed."
    )
    starved = analyze(binary((2_000, 100), (20, 1)), "binary").recommendation
    assert starved.kind != "not_enough_data"


def test_undecidable_within_the_horizon_is_a_lower_bound() -> None:
    rec = analyze(binary((1_000, 0), (1_000, 0)), "binary").recommendation
    assert rec.kind == "keep_running" and rec.visitors_needed_is_lower_bound
    assert rec.visitors_needed == 200_000
    assert "more than 200,000 more visitors may be needed" in rec.text


def test_thresholds_are_settings() -> None:
    # z = 2.8: >99% likely best with a tiny loss, yet not enough for the peeking-proof guard at alpha = 5%
    arms = binary((10_000, 500), (10_000, 590))
    default = analyze(arms, "binary").recommendation
    assert default.kind == "keep_running" and default.prob_best > 0.99 and default.expected_loss < default.loss_limit
    lenient = DecisionThresholds(prob_best=0.8, max_expected_loss=0.05)
    assert analyze(arms, "binary", thresholds=lenient).recommendation.kind == "ship"
    strict = DecisionThresholds(min_trials_per_arm=20_000)
    assert analyze(arms, "binary", thresholds=strict).recommendation.kind == "not_enough_data"
    loose = DecisionThresholds(practical_difference=0.5)
    assert analyze(arms, "binary", thresholds=loose).recommendation.kind == "no_difference"


def test_limits_are_relative_to_the_control() -> None:
    analysis = analyze(binary((10_000, 500), (10_000, 560)), "binary", thresholds=DecisionThresholds())
    control_mean = analysis.arms[0].mean
    # plus the documented numerical tolerance of 1e-9
    assert analysis.recommendation.loss_limit == pytest.approx(0.005 * control_mean + 1e-9, rel=1e-12)
    assert analysis.recommendation.equivalence_limit == pytest.approx(0.02 * control_mean + 1e-9, rel=1e-12)


def test_continuous_wording() -> None:
    arms = [ArmTotals("a", 40_000, 80_000.0, 1_200_000.0), ArmTotals("b", 40_000, 86_000.0, 1_300_000.0)]
    rec = analyze(arms, "continuous").recommendation
    assert rec.kind == "ship" and rec.arm_name == "b"
    assert " per visitor (" in rec.text and "% of the control's mean)." in rec.text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prob_best": 0.4},
        {"prob_best": 1.2},
        {"max_expected_loss": -0.1},
        {"practical_difference": float("inf")},
        {"min_trials_per_arm": -1},
    ],
)
def test_invalid_thresholds(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DecisionThresholds(**kwargs)  # type: ignore[arg-type]


def test_formatting() -> None:
    assert percent(0.9496) == "94%"
    assert percent(0.95) == "95%"
    assert percent(0.9991) == ">99%"
    assert percent(0.004) == "<1%"
    assert significant(0.0213) == "0.021"
    assert significant(2.13) == "2.1"
    assert significant(213.4) == "213"
    assert significant(0.0) == "0"
    assert significant(1e-9) == "<0.000001"
    assert round_up(12_345) == 13_000
    assert round_up(87.2) == 88
    assert round_up(0.2) == 1
