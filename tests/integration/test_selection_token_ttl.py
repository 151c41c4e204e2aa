"""SELECTION_TOKEN_TTL_SECONDS caps every selection token the app issues and accepts."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from app.lib.tokens import SelectionTokens
from app.settings import Settings
from tests.integration.conftest import Tenant


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return claims


async def test_tokens_live_no_longer_than_the_setting(tenant: Tenant, settings: Settings) -> None:
    ttl = settings.token_ttl_seconds
    # an attribution window longer than the setting allows is cut to it
    experiment = await tenant.experiment(attribution_window_seconds=ttl + 3600)
    selected = (await tenant.post("/api/v1/select", {"experiment_id": experiment["id"]}, 200)).json()
    claims = _claims(selected["selection_token"])
    assert claims["x"] - claims["ts"] == ttl

    # a token with the app's secret, signed for longer than the setting and issued before it: refused
    old, _ = SelectionTokens(settings.secret_key, max_ttl_seconds=ttl * 2).issue(
        tenant=claims["t"],
        experiment=experiment["id"],
        arm=0,
        visitor="",
        propensity=0.5,
        ttl_seconds=ttl * 2,
        now=time.time() - ttl - 60,
    )
    response = await tenant.post("/api/v1/feedback", {"selection_token": old, "reward": 1})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "selection_token"
    assert "expired" in response.json()["detail"]
    fresh = await tenant.post("/api/v1/feedback", {"selection_token": selected["selection_token"], "reward": 1})
    assert fresh.status_code == 202, fresh.text
