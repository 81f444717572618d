"""The interactive API docs at ``/schema``, served with every asset from the gateway itself.

Swagger UI 5 (the ``swagger-ui-dist`` package of the npm registry, which reads OpenAPI 3.1)
is vendored in ``gateway/http/swagger_ui/`` (its script, style and licence; the version is in
``SWAGGER_UI_VERSION``) and served under ``/schema/assets``, so the page works on a machine
without internet access (no CDN, no web fonts, no remote favicon).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from gateway.http.contract import DocumentJson, completed_document

ASSETS_PATH = "/schema/assets"
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "swagger_ui"
SWAGGER_UI_VERSION = "5.36.0"
"""The vendored ``swagger-ui-dist`` release (to update: ``npm pack swagger-ui-dist`` and copy
``swagger-ui-bundle.js``, ``swagger-ui-standalone-preset.js``, ``swagger-ui.css`` with their
licence files into ``swagger_ui/``)."""


def docs_assets_router() -> Router:
    """Swagger UI's files, without an API key (the docs page needs them before any sign-in)."""
    return create_static_files_router(path=ASSETS_PATH, directories=[SWAGGER_UI_DIR],
                                      include_in_schema=False, name="docs-assets")


class DocumentPage(SwaggerRenderPlugin):
    """Swagger UI on the completed document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, completed_document(request.app, openapi_schema))


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    """``/schema``: Swagger UI on the served document, loading only local assets, and the
    document itself at ``/schema/openapi.json``."""
    return [DocumentPage(
        path="/",
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon="",
    ), DocumentJson()]
