"""signed selection tokens and access tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from uuid import UUID

import jwt
import msgspec

from app.lib.entropy import random_bytes

ACCESS_TOKEN_ALGORITHM = "HS256"


class TokenError(ValueError):
    """a token is malformed, forged or expired."""


class SelectionClaims(msgspec.Struct, frozen=True):
    t: str  # tenant (organization) id
    e: str  # experiment id
    a: int  # arm index
    v: str  # visitor / context id, "" when unknown
    ts: int  # issued at, unix seconds
    x: int  # expires at, unix seconds
    n: str  # nonce: the feedback de-duplication key
    p: float  # propensity the arm was served with
    g: str = ""  # why a fixed arm was served outside the bandit (select reason), "" when the policy chose
    # the visitor's segment (app.targeting.segments): its exposure and conversions count in it
    s: tuple[str, ...] = ()


_claims_decoder = msgspec.json.Decoder(SelectionClaims)


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    # base64.urlsafe_b64encode, without its two python layers: three of these per select (~0.6 µs each saved)
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SelectionTokens:
    """signed selection tokens; none lives longer than `max_ttl_seconds` (SELECTION_TOKEN_TTL_SECONDS).

    an experiment's attribution window sets a token's lifetime up to that cap. `verify` applies the cap to
    the token's age as well, so lowering the setting also ends tokens issued before the change.
    """

    def __init__(self, secret: str, max_ttl_seconds: int = 24 * 3600) -> None:
        self._key = hashlib.sha256(b"levers-selection:" + secret.encode()).digest()
        self.max_ttl_seconds = max_ttl_seconds

    def issue(
        self,
        *,
        tenant: UUID | str,
        experiment: UUID | str,
        arm: int,
        visitor: str,
        propensity: float,
        ttl_seconds: int,
        now: float | None = None,
        label: str = "",
        segment: tuple[str, ...] = (),
    ) -> tuple[str, SelectionClaims]:
        issued = int(now if now is not None else time.time())
        claims = SelectionClaims(
            t=str(tenant),
            e=str(experiment),
            a=arm,
            v=visitor,
            ts=issued,
            x=issued + min(ttl_seconds, self.max_ttl_seconds),
            n=_b64(random_bytes(12)),
            p=propensity,
            g=label,
            s=segment,
        )
        body = _b64(msgspec.json.encode(claims))
        return f"{body}.{self._sign(body)}", claims

    def verify(self, token: str, now: float | None = None) -> SelectionClaims:
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 2048:
            raise TokenError("selection_token is malformed")
        body, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise TokenError("selection_token signature is invalid")
        try:
            claims = _claims_decoder.decode(_unb64(body))
        except (ValueError, msgspec.DecodeError) as exc:
            raise TokenError("selection_token is malformed") from exc
        at = now if now is not None else time.time()
        if claims.x < at or at - claims.ts > self.max_ttl_seconds:
            raise TokenError("selection_token has expired")
        return claims

    def _sign(self, body: str) -> str:
        return _b64(hmac.digest(self._key, body.encode(), "sha256")[:18])


class AccessTokens:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"levers-access:" + secret.encode()).hexdigest()
        self.ttl_seconds = ttl_seconds

    def issue(self, *, user_id: UUID, organization_id: UUID, role: str) -> str:
        now = int(time.time())
        payload = {
            "sub": str(user_id),
            "org": str(organization_id),
            "role": role,
            "iat": now,
            "exp": now + self.ttl_seconds,
        }
        return jwt.encode(payload, self._key, algorithm=ACCESS_TOKEN_ALGORITHM)

    def decode(self, token: str) -> dict[str, str]:
        try:
            return jwt.decode(
                token, self._key, algorithms=[ACCESS_TOKEN_ALGORITHM], options={"require": ["exp", "sub", "org"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("access token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("access token is invalid") from exc


API_KEY_PREFIX = "lv_"


def new_api_key() -> tuple[str, str, str]:
    """returns (key, display prefix, sha-256 hash); only the hash is stored."""
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}{secret}"
    return key, key[: len(API_KEY_PREFIX) + 8], hash_api_key(key)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_site_key() -> str:
    return "site_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
