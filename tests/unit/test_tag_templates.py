"""the gtm setup template's consent forwarding, and a template missing from an installation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.domain.tag import templates
from app.domain.tag.templates import TEMPLATES, parse_template, render_template, sections
from app.lib.errors import UnavailableError


def _setup_parameters() -> dict[str, dict[str, object]]:
    text = render_template(TEMPLATES["setup.tpl"], "https://levers.acme.io", "site_abc")
    return {p["name"]: p for p in json.loads(sections(text)["TEMPLATE_PARAMETERS"])}


def test_consent_forwarding_is_off_unless_asked_for_and_says_why() -> None:
    params = _setup_parameters()
    forward = params["forwardConsent"]
    assert params["consent"]["defaultValue"] == "required"
    # gtm counts an unset consent type as granted: on by default it would turn levers on at once on every site
    # that doesn't use consent mode
    assert forward["defaultValue"] is False
    help_text = str(forward["help"])
    assert "never set as granted" in help_text and "turns Levers on at once" in help_text
    assert forward["enablingConditions"] == [{"paramName": "consent", "paramValue": "required", "type": "EQUALS"}]
    defaults = parse_template(render_template(TEMPLATES["setup.tpl"], "https://x", "k"))["defaults"]
    assert defaults["forwardConsent"] is False


def test_the_code_forwards_only_when_asked_and_only_in_required_mode() -> None:
    code = parse_template(render_template(TEMPLATES["setup.tpl"], "https://x", "k"))["code"]
    assert "if (data.forwardConsent && data.consent === 'required')" in code
    assert code.count("isConsentGranted(") == 1  # only inside that branch


def test_a_missing_template_is_a_clear_503_not_a_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(templates, "GTM_DIR", tmp_path)
    with pytest.raises(UnavailableError) as error:
        render_template("levers-setup.tpl", "https://x", "k")
    assert error.value.status_code == 503
    assert "levers-setup.tpl" in error.value.message and "tag/gtm" in error.value.message
    assert str(tmp_path) not in error.value.message  # the server's paths stay in its log
