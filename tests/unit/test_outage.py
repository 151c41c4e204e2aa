"""an outage is logged once when it starts and once when it ends, however many attempts fail between."""

from __future__ import annotations

from structlog.testing import capture_logs

from app.runtime.outage import Outage


def test_an_outage_logs_twice_whatever_the_failed_attempts() -> None:
    outage = Outage("redis")
    with capture_logs() as logs:
        outage.up()  # healthy: nothing to say
        for _ in range(1000):
            outage.down(ConnectionError("refused"))
        outage.up()
        outage.up()
        outage.down(ConnectionError("again"))
    assert [entry["event"] for entry in logs] == [
        "redis is unavailable; retrying with back-off",
        "redis is back; resuming",
        "redis is unavailable; retrying with back-off",
    ]
    assert logs[1]["failed_attempts"] == 1000
