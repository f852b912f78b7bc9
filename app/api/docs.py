"""The API docs page (`/docs`, Swagger UI) with every asset served by the app itself.

FastAPI's own page loads Swagger UI from a CDN (blank offline) and starts it with an inline
script (which a strict Content-Security-Policy forbids). Here the page links only local
files: Swagger UI's bundle, stylesheet and icon from the pinned `fastapi-offline` package
(Swagger UI is Apache-2.0, the package MIT: their licences ship in its wheel), and a
small start script of ours (`static/swagger-init.js`). ReDoc is not served.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_VENDOR = Path(str(resources.files("fastapi_offline") / "static"))
_OURS = Path(__file__).parent / "static"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}} - API docs</title>
<link rel="stylesheet" href="{ASSETS}/vendor/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/vendor/favicon.png">
</head>
<body>
<div id="swagger-ui"><noscript>The interactive docs need JavaScript; the API description
is at <a href="/openapi.json">/openapi.json</a>.</noscript></div>
<script src="{ASSETS}/vendor/swagger-ui-bundle.js"></script>
<script src="{ASSETS}/swagger-init.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve `/docs` and its assets; the app must be built with `docs_url=None`."""
    page = _PAGE.replace("{title}", app.title)
    app.mount(f"{ASSETS}/vendor", StaticFiles(directory=_VENDOR), name="docs-vendor")
    app.mount(ASSETS, StaticFiles(directory=_OURS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)
