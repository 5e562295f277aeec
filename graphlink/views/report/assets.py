"""The report's own files: templates, style sheet, scripts, vendored Cytoscape.js, and its Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from graphlink.views.safety import visible_text

__all__ = ["CONTENT_SECURITY_POLICY", "CSS", "NETVIEW_JS", "SORT_JS", "TEMPLATES", "VENDOR", "content_security_policy",
           "csp_hash", "cytoscape_js", "environment", "read_asset"]

TEMPLATES = Path(__file__).parent / "templates"


def read_asset(name: str) -> str:
    """The text of a file in ``templates/``."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


#: The report's style sheet and scripts, inlined and allowed by hash in the CSP.
CSS = read_asset("report.css")
SORT_JS = read_asset("sort.js")


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly ``text`` (``'sha256-...'``)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(scripts: list[str]) -> str:
    """The page's Content-Security-Policy: only its own style and the given inline scripts (by hash).

    Examples
    --------
    >>> csp = content_security_policy(["1"])
    >>> "script-src 'sha256-" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    True
    """
    return (f"default-src 'none'; img-src data:; style-src {csp_hash(CSS)}; "
            f"script-src {' '.join(csp_hash(s) for s in scripts)}; base-uri 'none'; form-action 'none'")


CONTENT_SECURITY_POLICY = content_security_policy([SORT_JS])
VENDOR = Path(__file__).parent / "vendor"
NETVIEW_JS = read_asset("netview.js")


@lru_cache(maxsize=1)
def cytoscape_js() -> str:
    """Cytoscape.js (MIT, ``vendor/cytoscape.LICENSE``), inlined for the interactive cluster views.

    Raises
    ------
    ValueError
        The vendored file could end the inline ``<script>`` element early.
    """
    text = (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("vendor/cytoscape.min.js cannot be inlined in a <script> element")
    return text


def _finalize(value: object) -> object:
    """Every value a template prints: text made visible (:func:`graphlink.views.safety.visible_text`), then
    autoescaped; the report's own markup (``Markup``: style, scripts, ``tojson`` data) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_text(value)
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates: autoescaping on, undefined names are errors, and
    invisible and control characters of every printed value spelled out (:func:`_finalize`)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, finalize=_finalize,
                              undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False)
