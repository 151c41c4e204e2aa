"""the compact wire format of the browser tag (text/plain json, so no cors preflight). see tag/README.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Short = Annotated[str, msgspec.Meta(max_length=100)]
Token = Annotated[str, msgspec.Meta(max_length=2048)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
Attribute = str | int | float | bool | None


class DecideRequest(msgspec.Struct, forbid_unknown_fields=True):
    v: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]  # visitor id
    x: Annotated[list[Short], msgspec.Meta(max_length=50)]  # experiment keys on the page
    u: Url = ""  # page url
    r: Url = ""  # referrer
    l: Annotated[str, msgspec.Meta(max_length=35)] = ""  # navigator.language  # noqa: E741
    a: Annotated[dict[Annotated[str, msgspec.Meta(max_length=50)], Attribute], msgspec.Meta(max_length=30)] = {}
    s: Annotated[dict[Short, Token], msgspec.Meta(max_length=50)] = {}  # sticky: key -> live selection token
    f: Annotated[dict[Short, Short], msgspec.Meta(max_length=50)] = {}  # qa: key -> forced arm name or index
    n: Annotated[int, msgspec.Meta(ge=0)] = 0  # visitor first seen (unix seconds), 0 when the id isn't stored


class TagDecision(msgspec.Struct):
    x: str  # experiment key
    a: int  # arm index
    n: str  # arm name
    c: dict[str, Any]  # what to apply (the arm's payload)
    t: str  # selection token, "" when nothing may be recorded
    r: str  # reason: only "policy" is counted by the tag
    g: dict[str, Any]  # the experiment's goal
    e: int  # seconds the token stays valid (the attribution window)
    gr: list[str] = []  # the experiment's guardrail goal names: conversions on them are sent too


class DecideResponse(msgspec.Struct):
    d: list[TagDecision]


class TagEvent(msgspec.Struct, forbid_unknown_fields=True):
    k: Literal["x", "c"]  # exposure or conversion
    t: Token
    g: Annotated[str, msgspec.Meta(max_length=200)] = ""  # goal name the conversion came from
    r: float = 1.0  # reward of a conversion when no value is given
    v: float | None = None  # conversion value (the reward in explicit mode)
    d: Annotated[str, msgspec.Meta(max_length=100)] | None = None  # conversion id (eid): counted once


class EventsRequest(msgspec.Struct, forbid_unknown_fields=True):
    e: Annotated[list[TagEvent], msgspec.Meta(min_length=1, max_length=100)]


class Skipped(msgspec.Struct):
    index: int
    field: str
    message: str


class EventsResponse(msgspec.Struct):
    accepted: int
    duplicates: int
    skipped: list[Skipped]


decide_decoder = msgspec.json.Decoder(DecideRequest)
events_decoder = msgspec.json.Decoder(EventsRequest)
