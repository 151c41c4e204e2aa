"""the asset manifest on a directory of its own: names, edits, refusals and content negotiation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.lib.static_assets import Asset, StaticAssets, accepted_encoding, etag_matches


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "site.css").write_text("body { color: red }")
    (tmp_path / "LICENSE").write_text("mit")
    (tmp_path / ".secret").write_text("no")
    return tmp_path


def test_hashed_names_keep_the_folder_and_suffix(root: Path) -> None:
    assets = StaticAssets(root)
    url = assets.url("css/site.css")
    assert url.startswith("/static/css/site.") and url.endswith(".css") and len(url) == len("/static/css/site.css") + 13
    asset, hashed = assets.resolve(url.removeprefix("/static/")) or (None, None)
    assert isinstance(asset, Asset) and hashed is True and asset.body == b"body { color: red }"
    # a file without a suffix is hashed at its end
    license_url = assets.url("LICENSE")
    assert assets.resolve(license_url.removeprefix("/static/")) == (assets.get("LICENSE"), True)


def test_an_edited_file_gets_a_new_name_and_the_old_one_is_gone(root: Path) -> None:
    assets = StaticAssets(root)
    before = assets.url("css/site.css").removeprefix("/static/")
    path = root / "css" / "site.css"
    path.write_text("body { color: blue }")
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse clock
    after = assets.url("css/site.css").removeprefix("/static/")
    assert after != before
    assert assets.resolve(before) is None
    assert assets.resolve(after) is not None


def test_files_added_or_removed_while_running(root: Path) -> None:
    assets = StaticAssets(root)
    (root / "css" / "new.css").write_text("a {}")
    assert assets.url("css/new.css").startswith("/static/css/new.")
    (root / "css" / "new.css").unlink()
    assert assets.get("css/new.css") is None
    with pytest.raises(LookupError, match=r"new\.css"):
        assets.url("css/new.css")


@pytest.mark.parametrize("name", [".secret", "../outside.txt", "css", "css/../.secret", ""])
def test_hidden_files_folders_and_paths_outside_are_not_served(root: Path, name: str) -> None:
    (root.parent / "outside.txt").write_text("private")
    assert StaticAssets(root).resolve(name) is None


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("br; q=0.0, gzip; q=0", None),
        ("identity", None),
        ("", None),
    ],
)
def test_the_encoding_follows_accept_encoding(header: str, chosen: str | None) -> None:
    assert accepted_encoding(header) == chosen


def test_etags_of_any_encoding_of_the_same_bytes_match(root: Path) -> None:
    asset = StaticAssets(root).get("css/site.css")
    assert asset is not None
    assert etag_matches(asset.etag("br").decode(), asset)
    assert etag_matches(f'"x", W/{asset.etag(None).decode()}', asset)
    assert etag_matches("*", asset)
    assert not etag_matches('"000000000000"', asset)
    assert not etag_matches("", asset)


def test_no_template_links_a_static_file_by_its_plain_name() -> None:
    """a plain /static/ url is revalidated on every view; templates name files through static_url()."""
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "frontend" / "templates"
    plain = re.compile(r"""(?:src|href)=["']/static/""")
    offenders = [str(p.relative_to(templates)) for p in templates.rglob("*.html") if plain.search(p.read_text())]
    assert offenders == []


def _render_head(root: Path, headers: list[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """the base template's stylesheet tag for a request, and whether the answer would set the css cookie."""
    from litestar import Request
    from litestar.plugins.jinja import JinjaTemplateEngine

    engine = JinjaTemplateEngine(directory=root)
    StaticAssets(root).install(engine)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "state": {}, "query_string": b""}
    request: Request[object, object, object] = Request(scope)  # type: ignore[arg-type]
    html = engine.engine.from_string("{{ page_stylesheet() }}").render(request=request)
    return html, "levers.inlined_css" in scope["state"]  # type: ignore[operator]


def test_the_stylesheet_is_inlined_only_when_its_text_survives_a_style_element(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    css = tmp_path / "css" / "levers.css"
    css.write_text("body { color: red }\n")
    html, cookie = _render_head(tmp_path, [])
    assert html.startswith("<style>body { color: red }\n</style>") and cookie
    # a browser whose cookie names this version holds the file: linked
    digest = StaticAssets(tmp_path).get("css/levers.css").digest  # type: ignore[union-attr]
    html, cookie = _render_head(tmp_path, [(b"cookie", f"levers_css={digest}".encode())])
    assert html.startswith('<link rel="stylesheet" href="/static/css/levers.') and not cookie
    # a "</style" would end the element early and a \r is changed before the browser hashes the text: linked
    for text in ("a::after { content: '</STYLE>' }", "body {\r\n color: red }"):
        css.write_bytes(text.encode())
        html, cookie = _render_head(tmp_path, [])
        assert html.startswith('<link rel="stylesheet" href="/static/css/levers.') and not cookie, text
