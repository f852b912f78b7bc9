"""The floor for `bench.scale` and `bench.reads`: a bare FastAPI endpoint returning a stored
document of the size of a database body, with no auth, store or middleware.

    BARE_DOCUMENT=/path/to/doc.json [BARE_PAGE=/path/to/page.json] uvicorn bench.bare_app:app

`/doc/{id}` returns the document; `/docs` the page in BARE_PAGE (the app's own list answer,
so the same bytes) or, without it, the document twenty times.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

app = FastAPI()
_DOCUMENT: dict[str, Any] = json.loads(Path(os.environ["BARE_DOCUMENT"]).read_text())
_PAGE: dict[str, Any] = (
    json.loads(Path(os.environ["BARE_PAGE"]).read_text())
    if os.environ.get("BARE_PAGE")
    else {"databases": [_DOCUMENT] * 20, "total": 10_000, "page": 1, "page_size": 20}
)


@app.get("/doc/{doc_id}")
async def one(doc_id: str) -> dict[str, Any]:
    return _DOCUMENT


@app.get("/docs")
async def many() -> dict[str, Any]:
    return _PAGE
