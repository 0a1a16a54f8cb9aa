"""The HLS / LL-HLS origin: playlists, init sections, parts, segments and thumbnails over HTTP.

Paths: ``/live/{stream}/master.m3u8`` (short-lived: it names the session's epoch), then
``/live/{stream}/{epoch}/{rendition}/index.m3u8|init.mp4|s{msn}.m4s|p{msn}.{part}.m4s`` (media
objects immutable: a new broadcast session gets a new epoch) and
``/live/{stream}/thumbnail.jpg``.

Blocking playlist reload (``_HLS_msn``, ``_HLS_part``) holds the request until the playlist
holds that part; a request for the hinted next part is held until it exists. Malformed or
too-far-ahead requests get 400, a wait longer than three target durations 503.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from media.live import AUDIO, LiveStream, LiveStreams
from media.packaging.llhls import master_playlist

log = structlog.get_logger(__name__)
PLAYLIST = "application/vnd.apple.mpegurl"
MP4 = "video/mp4"
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_YET = "no-store"
_NUMBER = re.compile(r"^\d{1,9}$")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "86400",
}


class BadRequest(ValueError):
    pass


def blocking_params(query: dict[str, str]) -> tuple[int, int | None] | None:
    """(msn, part) of a blocking reload request, ``None`` for a plain one; :class:`BadRequest`
    for what the spec says to refuse."""
    msn, part = query.get("_HLS_msn"), query.get("_HLS_part")
    if msn is None:
        if part is not None:
            raise BadRequest("_HLS_part needs _HLS_msn")
        return None
    if not _NUMBER.match(msn):
        raise BadRequest(f"_HLS_msn must be a non-negative integer, got {msn[:20]!r}")
    if part is not None and not _NUMBER.match(part):
        raise BadRequest(f"_HLS_part must be a non-negative integer, got {part[:20]!r}")
    return int(msn), None if part is None else int(part)


def too_far(last: tuple[int, int] | None, msn: int, part: int | None) -> bool:
    """The spec's 400: a segment beyond the last one + 2. The Advance Part Limit (a SHOULD) is
    not enforced: audio parts lag video ones by a part or two, and hls.js asks for the audio
    playlist at positions taken from the video one, so such a request is held (and answered,
    or 503 after three target durations) rather than refused."""
    if last is None:
        return msn > 2
    return msn > last[0] + 2


def _standard(request: Request) -> bool:
    """``?ll=0``: standard HLS playlists (whole segments, no blocking reload) for players that
    should not use the low-latency tags."""
    return request.query_params.get("ll") == "0"


def _problem(status: int, detail: str, cache: str = NOT_YET) -> Response:
    log.info("origin.problem", status=status, detail=detail)
    return JSONResponse(
        {
            "type": "about:blank",
            "title": {400: "Bad request", 404: "Not found", 503: "Not available yet"}.get(status, "Error"),
            "status": status,
            "detail": detail,
        },
        status_code=status,
        media_type="application/problem+json",
        headers={**CORS, "Cache-Control": cache},
    )


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def create_origin(streams: LiveStreams, metrics: Callable[[], str]) -> Starlette:
    def stream_of(request: Request) -> LiveStream | None:
        return streams.get(request.path_params["stream"])

    async def master(request: Request) -> Response:
        stream = stream_of(request)
        if stream is None:
            return _problem(404, f"stream {request.path_params['stream']} is not live")
        if not await stream.until(lambda: stream.ready, stream.config.timing.segment_s * 3):
            return _problem(503, "the stream is starting; retry in a second", "no-store")
        audio = AUDIO if AUDIO in stream.tracks else None
        query = "?ll=0" if _standard(request) else ""
        body = master_playlist(stream.epoch, stream.variants(), audio, query)
        return Response(
            body,
            media_type=PLAYLIST,
            headers={**CORS, "Cache-Control": "max-age=1" if not stream.ended else "max-age=60"},
        )

    def session(request: Request) -> tuple[LiveStream, str] | Response:
        stream = stream_of(request)
        if stream is None or stream.epoch != request.path_params["epoch"]:
            return _problem(404, "no such broadcast session (reload the master playlist)", "max-age=2")
        rendition = request.path_params["rendition"]
        if rendition not in stream.names:
            return _problem(404, f"no rendition {rendition}", "max-age=60")
        return stream, rendition

    async def playlist(request: Request) -> Response:
        found = session(request)
        if isinstance(found, Response):
            return found
        stream, name = found
        low_latency = not _standard(request)
        try:
            wanted = blocking_params(dict(request.query_params)) if low_latency else None
        except BadRequest as err:
            return _problem(400, str(err))
        timing = stream.config.timing
        if not await stream.until(lambda: name in stream.tracks, timing.segment_s * 3):
            return _problem(503, "the rendition has no media yet")
        track = stream.tracks[name]
        if wanted is not None:
            msn, part = wanted
            if not track.ended and too_far(track.last_part(), msn, part):
                return _problem(
                    400,
                    f"_HLS_msn={msn} _HLS_part={part} is too far beyond the live edge {track.last_part()}",
                )
            if not await stream.until(lambda: track.has(msn, part), 3 * timing.target_duration):
                return _problem(503, f"segment {msn} part {part} did not appear in time")
        cache = "max-age=60" if track.ended else ("public, max-age=6" if wanted is not None else "no-cache")
        body = stream.playlist(name, low_latency)
        return Response(body, media_type=PLAYLIST, headers={**CORS, "Cache-Control": cache})

    async def init(request: Request) -> Response:
        found = session(request)
        if isinstance(found, Response):
            return found
        stream, name = found
        if not await stream.until(lambda: name in stream.tracks, stream.config.timing.segment_s * 3):
            return _problem(404, "no init section yet")
        return Response(
            stream.tracks[name].init, media_type=MP4, headers={**CORS, "Cache-Control": IMMUTABLE}
        )

    async def part(request: Request) -> Response:
        found = session(request)
        if isinstance(found, Response):
            return found
        stream, name = found
        msn, index = int(request.path_params["msn"]), int(request.path_params["part"])
        track = stream.tracks.get(name)
        if track is None:
            return _problem(404, "no media yet")
        got = track.part(msn, index)
        if got is None and track.next_part() == (msn, index):
            # The preload hint: hold the request until the part exists.
            await stream.until(
                lambda: track.part(msn, index) is not None or track.has(msn + 1, 0),
                3 * stream.config.timing.part_target_s + 1,
            )
            got = track.part(msn, index)
        if got is None:
            return _problem(404, f"part {msn}.{index} is not available")
        return Response(got.data, media_type=MP4, headers={**CORS, "Cache-Control": IMMUTABLE})

    async def segment(request: Request) -> Response:
        found = session(request)
        if isinstance(found, Response):
            return found
        stream, name = found
        track = stream.tracks.get(name)
        seg = track.segment(int(request.path_params["msn"])) if track else None
        if seg is None or not seg.complete:
            return _problem(404, f"segment {request.path_params['msn']} is not available")
        return Response(seg.data(), media_type=MP4, headers={**CORS, "Cache-Control": IMMUTABLE})

    async def thumbnail(request: Request) -> Response:
        stream = stream_of(request)
        if stream is None or stream.thumbnails.latest is None:
            return _problem(404, "no thumbnail", "max-age=2")
        return Response(
            stream.thumbnails.latest, media_type="image/jpeg", headers={**CORS, "Cache-Control": "max-age=2"}
        )

    async def preflight(request: Request) -> Response:
        return Response(status_code=204, headers=CORS)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "live_streams": streams.live})

    async def prometheus(request: Request) -> Response:
        # The origin faces viewers; its metrics name every live stream, so only a scraper on
        # this host (loopback) reads them.
        if request.client is None or request.client.host not in LOOPBACK:
            return _problem(403, "metrics are served to loopback clients only")
        return PlainTextResponse(metrics(), media_type="text/plain; version=0.0.4")

    base = "/live/{stream}/{epoch}/{rendition}"
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", healthz),
        Route("/metrics", prometheus),
        Route("/live/{stream}/master.m3u8", master),
        Route("/live/{stream}/thumbnail.jpg", thumbnail),
        Route(base + "/index.m3u8", playlist),
        Route(base + "/init.mp4", init),
        Route(base + "/s{msn:int}.m4s", segment),
        Route(base + "/p{msn:int}.{part:int}.m4s", part),
        Route("/{path:path}", preflight, methods=["OPTIONS"]),
    ]
    return Starlette(routes=routes)
