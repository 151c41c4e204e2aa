"""google tag manager community templates (tag/gtm/*.tpl), served per site with its tag url pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import structlog

from app.lib.errors import UnavailableError

GTM_DIR = Path(__file__).resolve().parents[3] / "tag" / "gtm"
TEMPLATES = {"setup.tpl": "levers-setup.tpl", "conversion.tpl": "levers-conversion.tpl"}
PLACEHOLDER_URL = "https://levers.example.com"
PLACEHOLDER_KEY = "site_EXAMPLE"
log = structlog.get_logger(__name__)
_SECTION = re.compile(r"^___([A-Z_]+)___$", re.MULTILINE)


def render_template(file_name: str, base_url: str, site_key: str) -> str:
    path = GTM_DIR / file_name
    try:
        text = path.read_text()
    except FileNotFoundError as exc:
        # a deployment that left tag/gtm out of its image: say which file, not a 500 with a traceback
        log.error("gtm template missing from this installation", path=str(path))
        raise UnavailableError(
            f"the GTM template {file_name} is not installed on this server: its deployment must include tag/gtm",
            field="site_file",
        ) from exc
    return text.replace(PLACEHOLDER_URL, base_url).replace(PLACEHOLDER_KEY, site_key)


def sections(text: str) -> dict[str, str]:
    """the .tpl file's sections by name (INFO, TEMPLATE_PARAMETERS, SANDBOXED_JS_FOR_WEB_TEMPLATE, ...)."""
    names = list(_SECTION.finditer(text))
    return {
        match.group(1): text[match.end() : names[i + 1].start() if i + 1 < len(names) else len(text)].strip()
        for i, match in enumerate(names)
    }


def parse_template(text: str) -> dict[str, Any]:
    """what running the template needs: its code, its parameters' defaults, the urls it may inject."""
    parts = sections(text)
    params = json.loads(parts["TEMPLATE_PARAMETERS"])
    permissions = json.loads(parts["WEB_PERMISSIONS"])
    urls = [
        item["string"]
        for permission in permissions
        if permission["instance"]["key"]["publicId"] == "inject_script"
        for param in permission["instance"]["param"]
        if param["key"] == "urls"
        for item in param["value"]["listItem"]
    ]
    return {
        "info": json.loads(parts["INFO"]),
        "code": parts["SANDBOXED_JS_FOR_WEB_TEMPLATE"],
        "defaults": {p["name"]: p["defaultValue"] for p in params if "defaultValue" in p},
        "permissions": [p["instance"]["key"]["publicId"] for p in permissions],
        "urls": urls,
    }
