"""static files under content-hashed names, cached by browsers for a year; plain names revalidate with an etag.

pages link `static_url('css/levers.css')`, i.e. `/static/css/levers.<12 hex of its sha256>.css`. that name
changes whenever the bytes do, so it is served `immutable` for a year: a returning visitor loads no css or js at
all, and a deploy can never mix a new page with an old script. a hash that is not the file's current one is a
404 (never the wrong bytes under a name promised not to change). the plain name still works (bookmarks, old
pages in a tab) with `no-cache` and an etag, so revalidating it costs a 304 instead of the whole file.

the files are small (~300 KB) and read into memory with their brotli (quality 11) and gzip forms made once per
process, on first request and off the event loop: the compression middleware would redo quality-5 brotli on
every request (chart.js: 11 ms of cpu for 68 KB; quality 11 sends 61 KB). each lookup stats its file, so a file
edited under `levers dev` gets its new name on the next page without a restart.

a browser that has never loaded the stylesheet would wait for it after the page, a second request in a row
(562 ms more on devtools' slow 4g). `page_stylesheet()` puts its text in a <style> element instead, with a
prefetch of the hashed file, and a cookie says the browser now has that version: its next pages link the file,
from the cache. a deploy that changes the css changes the hash, so each browser gets it inline once more.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import anyio.to_thread
import brotli  # type: ignore[import-untyped]  # comes with litestar[brotli]
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.handlers import ASGIRouteHandler, asgi
from litestar.plugins.htmx import HTMXDetails
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.types import (
    BeforeMessageSendHookHandler,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from markupsafe import Markup

from app.lib.security_headers import allow_inline_style

HASH_LENGTH = 12
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
_HASHED = re.compile(rf"^(?P<base>.+)\.(?P<digest>[0-9a-f]{{{HASH_LENGTH}}})(?P<suffix>\.[^./]+)?$")
_TEXT = ("text/", "application/javascript", "application/json", "image/svg+xml")
# below this, compressing saves less than its headers cost
_MIN_COMPRESS = 512
# (sha256 of the bytes, encoding) -> the compressed bytes, shared by every app this process builds (tests build many)
_compressed: dict[tuple[str, str], bytes] = {}
# the pages' one stylesheet, and the cookie holding the hash of the version a browser has (no secret in it)
PAGE_CSS = "css/levers.css"
CSS_COOKIE = "levers_css"
CSS_COOKIE_MAX_AGE = 31536000
# the scope state key under which a page that inlined the stylesheet leaves the hash its cookie should hold
_INLINED = "levers.inlined_css"


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    sha256: str
    media_type: str
    stamp: tuple[int, int]

    @property
    def digest(self) -> str:
        return self.sha256[:HASH_LENGTH]

    @property
    def hashed_name(self) -> str:
        path = PurePosixPath(self.name)
        return str(path.with_name(f"{path.stem}.{self.digest}{path.suffix}"))

    @property
    def compressible(self) -> bool:
        return len(self.body) >= _MIN_COMPRESS and self.media_type.startswith(_TEXT)

    def etag(self, encoding: str | None) -> bytes:
        return f'"{self.digest}{"." + encoding if encoding else ""}"'.encode()


@dataclass(frozen=True, slots=True)
class InlineStyle:
    markup: Markup
    # the csp source allowing exactly that <style> element's text
    csp: str


def _inline_style(asset: Asset, url: str) -> InlineStyle | None:
    """the <style> element carrying the asset's text, made once per version; None for text that can't be inlined."""
    text = asset.body.decode("utf-8", errors="replace")
    # html would end the element at a "</style" inside it, and turns \r into \n before hashing the text
    if "</style" in text.lower() or "\r" in text or text.encode() != asset.body:
        return None
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    markup = Markup('<style>{}</style>\n  <link rel="prefetch" href="{}" as="style">').format(Markup(text), url)
    return InlineStyle(markup, f"'sha256-{digest}'")


def _media_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # rfc 9239: text/javascript is the one javascript type
    return "text/javascript" if guessed == "application/javascript" else guessed


def _compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return brotli.compress(body, quality=11)
    return gzip.compress(body, compresslevel=9, mtime=0)


def accepted_encoding(header: str) -> str | None:
    """brotli when the client takes it, else gzip, else none (a `;q=0` refuses)."""
    taken = set()
    for part in header.lower().split(","):
        token, _, params = part.partition(";")
        if params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            taken.add(token.strip())
    return next((name for name in ("br", "gzip") if name in taken), None)


def etag_matches(if_none_match: str, asset: Asset) -> bool:
    # any encoding's tag of the same bytes will do: the caller re-sends what it holds
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*" or tag.partition(".")[0] == asset.digest:
            return True
    return False


class StaticAssets:
    """the files under `root`, each by its plain and its hashed name."""

    def __init__(self, root: Path, prefix: str = "/static") -> None:
        self.root = root.resolve()
        self.prefix = prefix
        self._assets: dict[str, Asset] = {}
        self._inline: dict[str, InlineStyle | None] = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                self.get(path.relative_to(self.root).as_posix())

    def get(self, name: str) -> Asset | None:
        """the file `name` (relative, posix) as it is on disk now; None when there is none (or it is outside)."""
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or any(part.startswith(".") for part in PurePosixPath(name).parts):
            return None
        try:
            stat = path.stat()
        except OSError:
            self._assets.pop(name, None)
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = self._assets.get(name)
        if known is not None and known.stamp == stamp:
            return known
        if not path.is_file():
            return None
        body = path.read_bytes()
        asset = Asset(name, body, hashlib.sha256(body).hexdigest(), _media_type(name), stamp)
        self._assets[name] = asset
        return asset

    def url(self, name: str) -> str:
        """the hashed url of `name`, e.g. `static_url('css/levers.css')` in a template."""
        asset = self.get(name)
        if asset is None:
            raise LookupError(f"no static file {name!r} under {self.root}")
        return f"{self.prefix}/{asset.hashed_name}"

    def install(self, engine: JinjaTemplateEngine) -> None:
        """the template engine's callback: templates get `static_url(name)` and `page_stylesheet()`."""
        engine.engine.globals["static_url"] = self.url
        engine.engine.globals["page_stylesheet"] = self.page_stylesheet

    @pass_context
    def page_stylesheet(self, context: Context) -> Markup:
        """the page's css: a link when the request's cookie names the current version (the browser holds it), else
        inline with a prefetch of the file, noting the cookie and the csp hash for the answer (css_cookie_hook).
        htmx swaps and HEAD answers always link: neither loads a document that would keep the file."""
        request: Any = context.get("request")
        asset = self.get(PAGE_CSS)
        if asset is None:
            raise LookupError(f"no static file {PAGE_CSS!r} under {self.root}")
        url = f"{self.prefix}/{asset.hashed_name}"
        if asset.sha256 not in self._inline:
            self._inline[asset.sha256] = _inline_style(asset, url)
        inline = self._inline[asset.sha256]
        if (
            inline is None
            or request is None
            or request.method == "HEAD"
            or HTMXDetails(request)
            or request.cookies.get(CSS_COOKIE) == asset.digest
        ):
            return Markup('<link rel="stylesheet" href="{}">').format(url)
        allow_inline_style(request.scope, inline.csp)
        request.scope["state"][_INLINED] = asset.digest
        return inline.markup

    @staticmethod
    def css_cookie_hook(secure: bool) -> BeforeMessageSendHookHandler:
        """an app-level before_send hook: an answer whose page inlined the css tells the browser it now has it."""
        flags = "; Path=/; Max-Age=" + str(CSS_COOKIE_MAX_AGE) + "; SameSite=Lax" + ("; Secure" if secure else "")

        async def add(message: Message, scope: Scope) -> None:
            digest = scope.get("state", {}).get(_INLINED)
            if message["type"] == "http.response.start" and digest is not None:
                cookie = f"{CSS_COOKIE}={digest}{flags}".encode()
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]

        return add

    def resolve(self, name: str) -> tuple[Asset, bool] | None:
        """the asset a request path names, and whether it named it by hash; None for an unknown or stale hash."""
        plain = self.get(name)
        if plain is not None:
            return plain, False
        match = _HASHED.match(name)
        if match is None:
            return None
        asset = self.get(match["base"] + (match["suffix"] or ""))
        if asset is None or asset.digest != match["digest"]:
            return None
        return asset, True

    async def body(self, asset: Asset, encoding: str | None) -> bytes:
        if encoding is None or not asset.compressible:
            return asset.body
        key = (asset.sha256, encoding)
        if key not in _compressed:
            packed = await anyio.to_thread.run_sync(_compress, asset.body, encoding)
            # a file that does not shrink goes plain (the caller checks the length)
            _compressed[key] = packed if len(packed) < len(asset.body) else asset.body
        return _compressed[key]

    def handler(self) -> ASGIRouteHandler:
        """the route serving the files under the prefix."""

        # the router hands a static mount only the path after the prefix; the whole path is put back (the
        # scope is litestar's own, not a copy) so the access log and the error handlers see the real one
        @asgi(self.prefix, is_static=True, copy_scope=False)
        async def serve_static(scope: Scope, receive: Receive, send: Send) -> None:
            name = scope["path"].lstrip("/")
            scope["path"] = f"{self.prefix}/{name}"
            await self.serve(scope, name, send)

        return serve_static

    async def serve(self, scope: Scope, name: str, send: Send) -> None:
        method = scope.get("method")
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowedException()
        found = self.resolve(name)
        if found is None:
            raise NotFoundException()
        asset, hashed = found
        request = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        encoding = accepted_encoding(request.get("accept-encoding", "")) if asset.compressible else None
        body = await self.body(asset, encoding)
        if body is asset.body:
            encoding = None
        headers = [
            (b"cache-control", IMMUTABLE if hashed else REVALIDATE),
            (b"etag", asset.etag(encoding)),
        ]
        if asset.compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        status = 200
        if etag_matches(request.get("if-none-match", ""), asset):
            status, body = 304, b""
        else:
            content_type = asset.media_type + ("; charset=utf-8" if asset.media_type.startswith(_TEXT) else "")
            headers += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
            if encoding:
                headers.append((b"content-encoding", encoding.encode()))
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        answer: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": b"" if method == "HEAD" else body,
            "more_body": False,
        }
        await send(answer)
