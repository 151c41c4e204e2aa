"""the one error the bandit engine raises for bad input."""

from __future__ import annotations


class PolicyError(ValueError):
    """bad input to a policy; ``field`` names what was wrong so the api can answer 422.

    fields used: ``protocol`` (unknown policy name), a param name (bad or unknown param),
    ``params``, ``n_arms``, ``dim``, ``n``, ``arm``, ``reward``, ``context``, ``trials``,
    ``propensity`` and ``state`` (a state of another policy, or unreadable state json).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[PolicyError], tuple[str, str]]:
        return (type(self), (self.field, self.message))
