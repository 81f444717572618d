"""The console's security headers and templates: nothing inline that its CSP would block."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.console.headers import HEADERS

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "console" / "templates"


def test_no_template_has_inline_script_or_style() -> None:
    """The CSP allows no inline script or style, so no template may carry any."""
    assert "'unsafe-inline'" not in HEADERS["Content-Security-Policy"]
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        for script in re.findall(r"<script[^>]*>", text, re.IGNORECASE):
            assert "src=" in script and "</script>" in text, (template.name, script)
        assert not re.search(r"<script[^>]*>\s*[^<\s]", text, re.IGNORECASE), template.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), template.name
        assert not re.search(r"\sstyle\s*=|<style", text, re.IGNORECASE), template.name
        assert "javascript:" not in text.lower(), template.name
