"""security headers on every answer: pages get a strict content security policy, everything else denies all.

the dashboard loads only its own /static files (vendored htmx and chart.js, levers' own scripts): no inline
script, no eval, no third-party origin. inline `style` attributes stay allowed (the results table draws its
meters with a width); a <style> element only by the hash of its text, which the page inlining it hands over
(`allow_inline_style`: the stylesheet on a browser's first page, app.lib.static_assets). json, the tag script and
the public endpoints get `default-src 'none'`: none of them is a document. the tag's endpoints keep their cors
headers untouched.
"""

from __future__ import annotations

from litestar.types import Message, Scope

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# litestar's openapi viewers load their bundle from a cdn with an inline bootstrap script
SCHEMA_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'none'"
OTHER_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = b"max-age=63072000; includeSubDomains"
# scope state key: the csp sources ('sha256-…') of the <style> elements the page being answered carries
_STYLE_SOURCES = "levers.style_sources"

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]


def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower()
    return b""


def allow_inline_style(scope: Scope, source: str) -> None:
    """lets the page answering this request carry the <style> element whose csp hash is ``source``."""
    sources: list[str] = scope["state"].setdefault(_STYLE_SOURCES, [])
    if source not in sources:
        sources.append(source)


def _page_csp(page: bytes, scope: Scope) -> bytes:
    sources = scope.get("state", {}).get(_STYLE_SOURCES)
    if not sources:
        return page
    return page.replace(b"style-src 'self'", b"style-src 'self' " + " ".join(sources).encode(), 1)


def security_headers(production: bool) -> object:
    """an app-level before_send hook adding the headers to every response start (also 404s and errors)."""
    common = [*_COMMON, (b"strict-transport-security", HSTS)] if production else list(_COMMON)
    page, schema, other = PAGE_CSP.encode(), SCHEMA_CSP.encode(), OTHER_CSP.encode()

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        if b"content-security-policy" not in present:
            path = scope.get("path", "")
            if path.startswith("/schema"):
                csp = schema
            elif _content_type(headers).startswith(b"text/html"):
                csp = _page_csp(page, scope)
            else:
                csp = other
            headers.append((b"content-security-policy", csp))
        headers += [(name, value) for name, value in common if name not in present]
        message["headers"] = headers

    return add


def api_headers(production: bool) -> list[tuple[bytes, bytes]]:
    """what `security_headers` adds to a json answer off /schema, pre-built for the lean routes (app.lib.hot_http)."""
    common = [*_COMMON, (b"strict-transport-security", HSTS)] if production else list(_COMMON)
    return [(b"content-security-policy", OTHER_CSP.encode()), *common]
