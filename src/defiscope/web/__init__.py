"""The dashboard: static HTML, CSS and JS served by the API server itself — no build step for the user.

    mount_dashboard(app)     # GET / -> the dashboard, /static/* -> its assets (Chart.js vendored)

The page reads the /v1 API and polls it, so it updates as blocks are indexed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC: Final = Path(__file__).parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")
