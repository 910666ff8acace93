"""The documentation pages work offline: Swagger UI's files are served by the app itself
(backend/static/swagger-ui, swagger-ui-dist from npm, pinned in its VERSION file)."""

from __future__ import annotations

from pathlib import Path

from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

SWAGGER_DIR = Path(__file__).resolve().parents[2] / "static" / "swagger-ui"
ASSETS_PATH = "/schema/assets"


def swagger_plugin() -> SwaggerRenderPlugin:
    return SwaggerRenderPlugin(
        path="/swagger",
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
    )


def assets_router() -> Router:
    """Public like /schema itself (the authentication middleware skips `^/schema`)."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_DIR],
        include_in_schema=False,
        name="openapi_assets",
        cache_control=None,
    )
