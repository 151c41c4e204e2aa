from __future__ import annotations

import pytest

from app.lib.tokens import AccessTokens, SelectionTokens, TokenError, hash_api_key, new_api_key


def test_selection_token_round_trip_and_tamper() -> None:
    tokens = SelectionTokens("s" * 40)
    token, claims = tokens.issue(tenant="t1", experiment="e1", arm=2, visitor="v", propensity=0.25, ttl_seconds=60)
    assert tokens.verify(token) == claims
    body, signature = token.split(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    resigned = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"{flipped}.{signature}", f"{body}.{resigned}", "no-dot", "a.b.c", ""):
        with pytest.raises(TokenError):
            tokens.verify(bad)
    with pytest.raises(TokenError, match="signature"):
        SelectionTokens("another secret of enough length!!").verify(token)


def test_selection_token_expires() -> None:
    tokens = SelectionTokens("s" * 40)
    token, claims = tokens.issue(
        tenant="t", experiment="e", arm=0, visitor="", propensity=1.0, ttl_seconds=10, now=1000
    )
    assert tokens.verify(token, now=1009) == claims
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(token, now=1011)


def test_each_selection_has_its_own_nonce() -> None:
    tokens = SelectionTokens("s" * 40)
    nonces = {
        tokens.issue(tenant="t", experiment="e", arm=0, visitor="", propensity=1, ttl_seconds=9)[1].n
        for _ in range(100)
    }
    assert len(nonces) == 100


def test_access_tokens() -> None:
    import uuid

    tokens = AccessTokens("k" * 40, ttl_seconds=60)
    user, org = uuid.uuid4(), uuid.uuid4()
    claims = tokens.decode(tokens.issue(user_id=user, organization_id=org, role="owner"))
    assert claims["sub"] == str(user) and claims["org"] == str(org) and claims["role"] == "owner"
    with pytest.raises(TokenError):
        AccessTokens("x" * 40, 60).decode(tokens.issue(user_id=user, organization_id=org, role="owner"))
    with pytest.raises(TokenError, match="expired"):
        AccessTokens("k" * 40, ttl_seconds=-5).decode(
            AccessTokens("k" * 40, ttl_seconds=-5).issue(user_id=user, organization_id=org, role="owner")
        )


def test_api_keys_are_stored_as_hashes() -> None:
    key, prefix, key_hash = new_api_key()
    assert key.startswith(prefix) and key_hash == hash_api_key(key) and key not in key_hash
    assert len(key) > 40


def test_selection_tokens_live_at_most_the_configured_ttl() -> None:
    tokens = SelectionTokens("s" * 40, max_ttl_seconds=100)
    # an attribution window longer than the cap is cut to it
    token, claims = tokens.issue(
        tenant="t", experiment="e", arm=0, visitor="", propensity=1.0, ttl_seconds=10_000, now=1000
    )
    assert claims.x == 1100
    assert tokens.verify(token, now=1100) == claims
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(token, now=1101)


def test_a_token_older_than_the_ttl_is_refused_after_the_ttl_was_lowered() -> None:
    long_lived = SelectionTokens("s" * 40, max_ttl_seconds=7 * 24 * 3600)
    token, claims = long_lived.issue(
        tenant="t", experiment="e", arm=0, visitor="", propensity=1.0, ttl_seconds=7 * 24 * 3600, now=1000
    )
    assert long_lived.verify(token, now=1000 + 3600) == claims
    # the same secret with SELECTION_TOKEN_TTL_SECONDS lowered to a minute: an hour-old token has expired
    lowered = SelectionTokens("s" * 40, max_ttl_seconds=60)
    assert lowered.verify(token, now=1060) == claims
    with pytest.raises(TokenError, match="expired"):
        lowered.verify(token, now=1000 + 3600)
