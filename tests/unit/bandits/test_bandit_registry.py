"""registry, policy metadata and param validation."""

from __future__ import annotations

import json

import pytest

from app.bandits import POLICIES, Policy, PolicyError, describe_policies, get_policy
from tests.unit.bandits.support import ALL

EXPECTED = {
    "beta_ts": "stochastic",
    "stratified_ts": "stochastic",
    "gaussian_ts": "stochastic",
    "ucb1_tuned": "stochastic",
    "kl_ucb": "stochastic",
    "kl_ucb_plus": "stochastic",
    "epsilon_greedy": "stochastic",
    "moss": "stochastic",
    "moss_anytime": "stochastic",
    "lin_ucb": "contextual",
    "lin_ts": "contextual",
    "exp3": "adversarial",
    "fpl": "adversarial",
}


def test_registry_lists_every_policy_with_its_kind() -> None:
    assert {name: p.kind for name, p in POLICIES.items()} == EXPECTED
    for name in EXPECTED:
        assert get_policy(name) is POLICIES[name]
        assert isinstance(POLICIES[name], Policy)
        assert POLICIES[name].name == name


def test_unknown_policy_is_a_protocol_error() -> None:
    with pytest.raises(PolicyError) as info:
        get_policy("thompson")
    assert info.value.field == "protocol"
    assert isinstance(info.value, ValueError)
    assert "beta_ts" in str(info.value)


@pytest.mark.parametrize("name", ALL)
def test_metadata_is_complete_and_json_friendly(name: str) -> None:
    policy = POLICIES[name]
    assert policy.summary and "\n" not in policy.summary and len(policy.summary) < 120
    assert policy.__doc__
    assert "params" in policy.__doc__ or not policy.param_specs
    schema = policy.param_schema()
    assert list(schema) == [spec.name for spec in policy.param_specs]
    for entry in schema.values():
        assert {"type", "default", "description"} <= set(entry)
    json.dumps(describe_policies())
    defaults = policy.validate_params(None)
    assert defaults == {k: v["default"] for k, v in schema.items()}
    assert policy.validate_params(defaults) == defaults


@pytest.mark.parametrize("name", ALL)
def test_unknown_param_names_the_param(name: str) -> None:
    with pytest.raises(PolicyError) as info:
        POLICIES[name].validate_params({"bogus": 1})
    assert info.value.field == "bogus"


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("beta_ts", {"prior_alpha": 0}, "prior_alpha"),
        ("beta_ts", {"prior_beta": "1"}, "prior_beta"),
        ("beta_ts", {"prior_alpha": float("nan")}, "prior_alpha"),
        ("gaussian_ts", {"prior_rate": -1.0}, "prior_rate"),
        ("gaussian_ts", {"prior_mean": True}, "prior_mean"),
        ("epsilon_greedy", {"epsilon": 1.5}, "epsilon"),
        ("epsilon_greedy", {"decay": "linear"}, "decay"),
        ("epsilon_greedy", {"decay_scale": 2.5}, "decay_scale"),
        ("moss", {"horizon": 0}, "horizon"),
        ("kl_ucb", {"c": -1}, "c"),
        ("lin_ucb", {"ridge": 0.0}, "ridge"),
        ("lin_ts", {"v": 0}, "v"),
        ("exp3", {"gamma": 2}, "gamma"),
        ("fpl", {"eta_scale": 0}, "eta_scale"),
    ],
)
def test_bad_params_name_the_field(name: str, params: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyError) as info:
        POLICIES[name].validate_params(params)
    assert info.value.field == field
    assert str(info.value)


def test_params_are_normalised() -> None:
    assert get_policy("moss").validate_params({"horizon": 5000.0}) == {"horizon": 5000}
    assert get_policy("beta_ts").validate_params({"prior_alpha": 2}) == {"prior_alpha": 2.0, "prior_beta": 1.0}
    with pytest.raises(PolicyError) as info:
        get_policy("beta_ts").validate_params(["prior_alpha"])  # type: ignore[arg-type]
    assert info.value.field == "params"


def test_init_state_checks_arms_and_dim() -> None:
    with pytest.raises(PolicyError) as info:
        get_policy("beta_ts").init_state(0)
    assert info.value.field == "n_arms"
    with pytest.raises(PolicyError) as info:
        get_policy("lin_ucb").init_state(3)
    assert info.value.field == "dim"
    with pytest.raises(PolicyError) as info:
        get_policy("lin_ucb").init_state(3, {"alpha": -1}, dim=2)
    assert info.value.field == "alpha"
    assert get_policy("beta_ts").init_state(3, dim=7).dim is None


def test_policy_error_pickles_with_its_field() -> None:
    import pickle

    err = pickle.loads(pickle.dumps(PolicyError("reward", "bad reward")))
    assert (err.field, str(err)) == ("reward", "bad reward")
