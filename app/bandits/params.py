"""machine-readable policy parameters: one ``ParamSpec`` per param, validated into a plain dict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.bandits.errors import PolicyError

ParamType = Literal["float", "int", "bool", "str"]


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """one tunable parameter: its type, default, human description and bounds.

    ``minimum``/``maximum`` are inclusive unless ``exclusive_minimum`` is set;
    ``choices`` lists the allowed values of a ``str`` param.
    """

    name: str
    type: ParamType
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """return ``value`` normalised to this param's type, or raise ``PolicyError(field=name)``."""
        if self.type == "bool":
            if not isinstance(value, bool):
                raise PolicyError(self.name, f"{self.name} must be true or false")
            return value
        if self.type == "str":
            if not isinstance(value, str) or (self.choices is not None and value not in self.choices):
                allowed = ", ".join(self.choices or ())
                raise PolicyError(self.name, f"{self.name} must be one of: {allowed}")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(self.name, f"{self.name} must be a number")
        if not math.isfinite(value):
            raise PolicyError(self.name, f"{self.name} must be finite")
        if self.type == "int":
            if isinstance(value, float) and not value.is_integer():
                raise PolicyError(self.name, f"{self.name} must be a whole number")
            value = int(value)
        else:
            value = float(value)
        if self.minimum is not None:
            if self.exclusive_minimum and value <= self.minimum:
                raise PolicyError(self.name, f"{self.name} must be greater than {self.minimum:g}")
            if value < self.minimum:
                raise PolicyError(self.name, f"{self.name} must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise PolicyError(self.name, f"{self.name} must be at most {self.maximum:g}")
        return value

    def as_dict(self) -> dict[str, Any]:
        """json-friendly description for forms and docs."""
        out: dict[str, Any] = {"type": self.type, "default": self.default, "description": self.description}
        if self.minimum is not None:
            out["exclusive_minimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


def validate_params(specs: Sequence[ParamSpec], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """normalise ``params`` against ``specs``: defaults filled in, unknown names rejected."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise PolicyError("params", "params must be an object of name: value")
    known = {spec.name: spec for spec in specs}
    for key in params:
        if key not in known:
            names = ", ".join(known) or "none"
            raise PolicyError(str(key), f"unknown parameter {key!r} (allowed: {names})")
    return {spec.name: spec.check(params.get(spec.name, spec.default)) for spec in specs}
