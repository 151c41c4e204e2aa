"""the yardstick for bench/hot_path.py: a bare litestar app with one json post route and nothing else.

run by the bench as ``uvicorn bench.bare_app:app`` with the same uvicorn settings as `levers serve`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get, post


@post("/echo", status_code=200)
async def echo(data: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "echo": data}


@get("/ready")
async def ready() -> str:
    return "ok"


app = Litestar(route_handlers=[echo, ready], openapi_config=None)
