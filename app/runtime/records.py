"""the configuration the hot path needs, as published to redis by the management api."""

from __future__ import annotations

from typing import Any

import msgspec

# the default bound on |reward| of one feedback: ample for an order's revenue, far from what breaks a policy
DEFAULT_REWARD_MAX = 10_000.0


class ArmConfig(msgspec.Struct, frozen=True):
    index: int
    name: str
    metadata: dict[str, Any] = {}
    payload: dict[str, Any] = {}


class ExperimentConfig(msgspec.Struct, frozen=True):
    id: str
    organization_id: str
    key: str
    name: str
    site_id: str | None
    protocol: str
    protocol_params: dict[str, Any]
    context_dim: int | None
    reward_mode: str
    status: str
    traffic_percent: float
    control_index: int
    winner_index: int | None
    seed: int
    attribution_window_seconds: int
    arms: list[ArmConfig]
    goal: dict[str, Any] = {}
    exploration_floor: float = 0.05
    # guardrail goal names: feedback under one of them is counted for the guardrail, never trains the bandit
    guardrails: list[str] = []
    # arms a guardrail or an automatic decision took out of allocation (app.domain.guardrails)
    paused_arms: list[int] = []
    # "fixed": serve `weights` through `split` (ranges [start, end, arm], app.targeting.split); never train
    allocation: str = "bandit"
    weights: list[float] | None = None
    split: list[list[int]] | None = None
    # feedbacks with |reward| above this are refused; the worker sets aside any that got into a stream
    reward_max: float = DEFAULT_REWARD_MAX


class RuleConditionConfig(msgspec.Struct, frozen=True):
    attribute: str
    operator: str
    value: Any = None
    ignore_case: bool = False


class RuleConfig(msgspec.Struct, frozen=True):
    id: str
    action: str  # serve | exclude
    condition: RuleConditionConfig
    arm: int | None = None


class ScheduleConfig(msgspec.Struct, frozen=True):
    timezone: str = "UTC"
    start: float | None = None  # unix seconds
    end: float | None = None
    days: list[int] = []
    hours_from: str | None = None  # "HH:MM" local
    hours_to: str | None = None


class GateConfig(msgspec.Struct, frozen=True):
    """an experiment's feature gate (app.targeting evaluates it), published beside the experiment."""

    id: str
    experiment_id: str
    organization_id: str
    enabled: bool
    rollout_percent: float
    salt: str
    default_arm: int | None = None
    rules: list[RuleConfig] = []
    schedule: ScheduleConfig | None = None


class SiteConfig(msgspec.Struct, frozen=True):
    id: str
    organization_id: str
    public_key: str
    allowed_origins: list[str]


class ApiKeyConfig(msgspec.Struct, frozen=True):
    id: str
    organization_id: str


class Event(msgspec.Struct, frozen=True, omit_defaults=True):
    """one entry of an event stream.

    kind "x" is an exposure, "f" a feedback, "g" a conversion on a guardrail goal (named in `label`). trials
    says whether the event opens a new trial (1) or adds
    its reward to a trial already counted (0: a conversion after its exposure). "hx" and "hf" are the same for
    traffic served outside the bandit (gate rules, rollout, default, forced): they never train it and are
    counted apart as holdout traffic, under `label` (the select reason).
    """

    kind: str
    experiment: str
    arm: int
    reward: float
    trials: int
    ts: float
    propensity: float = 1.0
    context: list[float] | None = None
    # the selection's nonce: joins a contextual feedback to the context its exposure was served with
    nonce: str = ""
    request_id: str = ""
    label: str = ""
    # when the selection was issued (the token's time), 0 when unknown: statistics count every event in its
    # exposure's period, so a conversion that arrives hours later still lands beside its exposure
    issued: float = 0.0
    # a tag conversion's id (eid), hashed with its experiment: the worker keeps it counted once even when
    # redis lost the mark the web checks
    eid: str = ""
    # appended once per token by the web (a tag exposure, which the tag may send again): the worker keeps a
    # mark of it in postgres too, so a replay after redis lost the web's mark is not counted twice. a select's
    # own exposure can't be replayed and goes without, sparing postgres a row per selection
    marked: bool = False
    # the visitor's segment, one value per app.targeting.segments.DIMENSIONS (trailing unset ones dropped)
    segment: tuple[str, ...] = ()


experiment_decoder = msgspec.json.Decoder(ExperimentConfig)
site_decoder = msgspec.json.Decoder(SiteConfig)
api_key_decoder = msgspec.json.Decoder(ApiKeyConfig)
gate_decoder = msgspec.json.Decoder(GateConfig)
event_decoder = msgspec.json.Decoder(Event)
encode = msgspec.json.encode


class ParamsRecord(msgspec.Struct, frozen=True):
    """a policy state in redis, with the last stream entry it includes (written by the worker)."""

    last_id: str
    state: str
    events: int = 0
    updated_at: float = 0.0
    # events the policy could not take: neither trained on nor counted in the statistics
    set_aside: int = 0


params_decoder = msgspec.json.Decoder(ParamsRecord)
