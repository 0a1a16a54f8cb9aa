"""The reference viewer page: ``/watch/{stream_id}#token=…`` plays the stream with hls.js
(low-latency mode, live catch-up), joins the room's chat on this gateway and posts QoS beacons.

``?mode=hls`` plays the same stream as standard HLS (whole segments only).
The player's scripts come from npm (hls.js, socket.io-client, locked in ops/node) via
``make install``; our own, ``static/player.js``, is bundled there with the API client generated
from docs/openapi.json (ops/node/build_web.mjs).
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from serving.api.state import StateDep
from serving.exceptions import NotFound
from streams.settings import REPO_ROOT

router = APIRouter(include_in_schema=False)
HERE = Path(__file__).parent
NODE_MODULES = REPO_ROOT / ".cache" / "node" / "node_modules"
# The pages' own scripts, bundled with the API client generated from docs/openapi.json (make).
PAGES = REPO_ROOT / ".cache" / "web" / "pages"
SCRIPTS = {
    "hls.min.js": NODE_MODULES / "hls.js" / "dist" / "hls.min.js",
    "socket.io.min.js": NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
    "chart.umd.min.js": NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js",
    "i18next.min.js": NODE_MODULES / "i18next" / "dist" / "umd" / "i18next.min.js",
    "checkout.js": HERE / "static" / "checkout.js",
    "i18n.js": HERE / "static" / "i18n.js",
    **{
        f"{page}.js{suffix}": PAGES / f"{page}.js{suffix}"
        for page in ("home", "player", "studio", "console")
        for suffix in ("", ".map")
    },
}
CACHE = {"Cache-Control": "public, max-age=300"}
LANGUAGES = frozenset({"en", "es"})


@router.get("/watch/{stream_id}", response_class=HTMLResponse)
async def watch(stream_id: str, state: StateDep) -> HTMLResponse:
    """The origin's address is in the page, so the player starts loading the stream at once,
    while it asks the API for a playback session and the room."""
    origin = html.escape(state.settings.media.public_origin_url, quote=True)
    page = (HERE / "static" / "watch.html").read_text().replace("{{origin}}", origin)
    return HTMLResponse(page, headers=page_headers(state.settings.media.public_origin_url))


@router.get("/", response_class=HTMLResponse)
async def home(state: StateDep) -> HTMLResponse:
    """The apps' home: sign in or up, top up, and the streams live now (thumbnails from the origin)."""
    return HTMLResponse(
        (HERE / "static" / "home.html").read_text(),
        headers=page_headers(state.settings.media.public_origin_url),
    )


@router.get("/studio", response_class=HTMLResponse)
async def studio() -> HTMLResponse:
    """The creator studio: room, stream key and OBS settings, the room live, earnings, statements."""
    return HTMLResponse((HERE / "static" / "studio.html").read_text(), headers=page_headers(None))


@router.get("/console", response_class=HTMLResponse)
async def console() -> HTMLResponse:
    """The trust-and-safety console: a page with no data of its own; everything it shows comes
    from /v1/console and the /console namespace, which check the analyst or admin role."""
    return HTMLResponse((HERE / "static" / "console.html").read_text(), headers=page_headers(None))


@router.get("/locales/{language}.json")
async def locale(language: str) -> FileResponse:
    """A page message catalog (i18next JSON): English and Spanish."""
    path = HERE / "locales" / f"{language}.json"
    if language not in LANGUAGES or not path.exists():
        raise NotFound(f"no messages in {language!r}; there are {', '.join(sorted(LANGUAGES))}")
    return FileResponse(path, media_type="application/json", headers=CACHE)


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204, headers=CACHE)


@router.get("/static/{name}")
async def script(name: str) -> FileResponse:
    path = SCRIPTS.get(name)
    if path is None or not path.exists():
        raise NotFound(f"no script {name} (make install builds the pages' and fetches the npm ones)")
    kind = "application/json" if name.endswith(".map") else "text/javascript"
    return FileResponse(path, media_type=kind, headers=CACHE)


def page_headers(media_origin: str | None) -> dict[str, str]:
    """The page talks to this gateway (API, Socket.IO) and the media origin, nothing else; it is
    never framed (clickjacking), never sniffed, and sends no referrer (its URL holds the token)."""
    media = ""
    if media_origin is not None:
        parts = urlsplit(media_origin)
        media = f" {parts.scheme}://{parts.netloc}"
    csp = "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self'{media}",
            f"media-src 'self' blob:{media}",
            f"img-src 'self' data:{media}",
            "style-src 'self' 'unsafe-inline'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
