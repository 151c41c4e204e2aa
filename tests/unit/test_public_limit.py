"""the tag's sliding-window rate limiter (app.lib.public_limit), on a clock the test moves."""

from __future__ import annotations

from app.lib.public_limit import WindowLimiter


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _headers(pairs: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in pairs}


def test_a_client_gets_the_limit_per_minute_then_429_with_retry_after() -> None:
    clock = Clock(600.0 * 60 + 10)  # 10 s into a minute
    limiter = WindowLimiter(3, clock=clock)
    answers = [limiter.hit("site:1.2.3.4") for _ in range(5)]
    assert [allowed for allowed, _ in answers] == [True, True, True, False, False]
    first, refused = _headers(answers[0][1]), _headers(answers[3][1])
    assert first == {
        "ratelimit-policy": "3; w=60",
        "ratelimit-limit": "3",
        "ratelimit-remaining": "2",
        "ratelimit-reset": "50",
    }
    assert refused["ratelimit-remaining"] == "0" and refused["retry-after"] == "50"
    # another site, or another address, has its own budget
    assert limiter.hit("other:1.2.3.4")[0] and limiter.hit("site:5.6.7.8")[0]


def test_the_window_slides_so_a_minute_boundary_is_no_free_burst() -> None:
    clock = Clock(600.0 * 60 + 50)
    limiter = WindowLimiter(10, clock=clock)
    assert all(limiter.hit("k")[0] for _ in range(10))
    clock.now += 15  # 5 s into the next minute: 10 * 55/60 ≈ 9.2 of the last minute still count
    assert limiter.hit("k")[0] and not limiter.hit("k")[0]
    clock.now += 30  # 35 s in: 10 * 25/60 ≈ 4.2 + the 1 of this minute: five more fit under 10
    assert [limiter.hit("k")[0] for _ in range(6)] == [True, True, True, True, True, False]


def test_a_quiet_minute_forgets_everything() -> None:
    clock = Clock(600.0 * 60)
    limiter = WindowLimiter(2, clock=clock)
    assert [limiter.hit("k")[0] for _ in range(3)] == [True, True, False]
    clock.now += 125  # two minutes on: neither counter holds the old requests
    assert [limiter.hit("k")[0] for _ in range(3)] == [True, True, False]
    assert set(limiter.previous) == set() and limiter.current == {"k": 2}
