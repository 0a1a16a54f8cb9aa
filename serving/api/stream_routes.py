"""Going live and watching: stream keys for creators, the media tier's key check, playback
sessions and QoS beacons for players.

- ``POST /v1/streams`` (the room's creator): the room's stream, a fresh ingest key (shown once;
  any previous key is revoked) and the encoder settings for OBS.
- ``DELETE /v1/streams/{id}/key``: revoke; the media tier then refuses the key.
- ``POST /internal/v1/ingest/authorize``: the media tier asks whether a key may publish
  (authenticated with ``MEDIA_INGEST_SECRET``, never a user token).
- ``GET /v1/streams/{id}/playback``: where a player finds the stream (master playlist URL).
- ``POST /v1/playback/sessions``: a playback session id (CMCD ``sid``) for this viewer.
- ``POST /v1/qos``: a batch of beacons; each is validated, must name a session of this viewer
  and its stream, and is produced to ``qos.beacons`` keyed by session. A beacon's event id is
  derived from (sid, sn), so a player retrying a batch produces no new events.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Header, Query
from pydantic import Field, ValidationError

from serving.api.models import Body
from serving.api.params import StreamPath
from serving.api.state import PrincipalDep, StateDep
from serving.auth.tokens import require_service_token
from serving.exceptions import Forbidden, NotFound, Unprocessable
from serving.metrics import observe_beacons
from streams.broadcast.keys import KeyRefused
from streams.contracts.base import Identifier, Role, RoomId
from streams.contracts.codec import describe, from_json_values
from streams.contracts.qos import PlaybackBeacon
from streams.ids import derived_id

router = APIRouter(tags=["streams"])
PRODUCER = "api"
MAX_BEACONS = 100
ENVELOPE = ("event_id", "event_type", "schema_version", "occurred_at", "producer", "viewer_id")


class GoLive(Body):
    room_id: RoomId


class Authorize(Body):
    key: Annotated[str, Field(max_length=512)]
    protocol: Annotated[str, Field(pattern="^(rtmp|srt)$")]


class NewSession(Body):
    stream_id: Identifier


def _urls(state: StateDep, stream_id: str) -> dict[str, str]:
    media = state.settings.media
    return {
        "master_url": f"{media.public_origin_url}/live/{stream_id}/master.m3u8",
        "thumbnail_url": f"{media.public_origin_url}/live/{stream_id}/thumbnail.jpg",
    }


class OnAir:
    """Which streams the origin serves now (their master playlist answers 200), each answer
    kept a few seconds so a busy home page costs the origin one request per stream per period."""

    def __init__(self, keep_s: float = 5.0) -> None:
        self._keep_s = keep_s
        self._seen: dict[str, tuple[float, bool]] = {}

    async def check(self, origin: str, stream_ids: list[str]) -> set[str]:
        now = time.monotonic()
        self._seen = {s: seen for s, seen in self._seen.items() if now - seen[0] < 60}
        stale = [s for s in stream_ids if now - self._seen.get(s, (-1e9, False))[0] > self._keep_s]
        if stale:
            async with httpx.AsyncClient(timeout=1.0) as client:

                async def ask(stream_id: str) -> bool:
                    try:
                        answer = await client.get(f"{origin}/live/{stream_id}/master.m3u8")
                    except httpx.HTTPError:
                        return False
                    return answer.status_code == 200

                for stream_id, live in zip(stale, await asyncio.gather(*map(ask, stale)), strict=True):
                    self._seen[stream_id] = (now, live)
        return {s for s in stream_ids if self._seen[s][1]}


ON_AIR = OnAir()


@router.get("/v1/streams/live")
async def live_now(state: StateDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """The streams on air now, the most watched first: title, creator, viewers, a thumbnail and
    when they started (from the warehouse, about a second behind). Public: the home page."""
    rows = await state.warehouse.rows("LIVE_STREAMS", {"limit": limit})
    # A media process that died without saying so leaves a start with no end: the origin, which
    # serves the stream, has the last word on what is on air.
    on_air = await ON_AIR.check(state.settings.media.public_origin_url, [r["stream_id"] for r in rows])
    rows = [r for r in rows if r["stream_id"] in on_air]
    titles = await state.rooms.titles([r["room_id"] for r in rows])
    return {
        "items": [
            {
                "stream_id": r["stream_id"],
                "creator_id": r["creator_id"],
                "room_id": r["room_id"],
                "title": titles.get(r["room_id"]) or f"{r['creator_id']} is live",
                "viewers": int(r["viewers"]),
                "started_at": r["started_at"].replace(tzinfo=UTC).isoformat(),
                "watch_url": f"/watch/{r['stream_id']}",
                **_urls(state, r["stream_id"]),
            }
            for r in rows
        ]
    }


@router.post("/v1/streams", status_code=201)
async def go_live(body: GoLive, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    room = await state.rooms.require(body.room_id)
    if room.creator_id != principal.user_id and not principal.has(Role.ADMIN):
        raise Forbidden(f"room {body.room_id} belongs to {room.creator_id}; only they stream into it")
    if room.closed:
        raise Unprocessable(f"room {body.room_id} is closed")
    try:
        stream, key = await state.stream_keys.issue(room.creator_id, room.room_id)
    except KeyRefused as err:
        raise Forbidden(err.detail) from None
    media = state.settings.media
    host = media.public_ingest_host
    return {
        "stream_id": stream.stream_id,
        "room_id": stream.room_id,
        "stream_key": key,
        "obs": {"service": "Custom...", "server": f"rtmp://{host}:{media.rtmp_port}/live", "stream_key": key},
        "rtmp_url": f"rtmp://{host}:{media.rtmp_port}/live/{key}",
        "srt_url": f"srt://{host}:{media.srt_port}?streamid={key}",
        "watch_url": f"/watch/{stream.stream_id}",
        **_urls(state, stream.stream_id),
    }


@router.delete("/v1/streams/{stream_id}/key", status_code=204)
async def revoke_key(stream_id: StreamPath, state: StateDep, principal: PrincipalDep) -> None:
    stream = await state.stream_keys.stream(stream_id)
    if stream is None:
        raise NotFound(f"no stream {stream_id}")
    if stream.creator_id != principal.user_id and not principal.has(Role.ADMIN):
        raise Forbidden(f"stream {stream_id} is not yours")
    await state.stream_keys.revoke(stream_id)


@router.post("/internal/v1/ingest/authorize")
async def authorize(
    body: Authorize, state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, str]:
    require_service_token(
        authorization, state.settings.media.ingest_secret.get_secret_value(), "MEDIA_INGEST_SECRET"
    )
    try:
        stream = await state.stream_keys.authorize(body.key)
    except KeyRefused as err:
        raise Forbidden(f"{err.reason}: {err.detail}", reason=err.reason) from None
    room = await state.rooms.get(stream.room_id)
    if room is None or room.closed:
        raise Forbidden(f"room_closed: room {stream.room_id} is closed", reason="room_closed")
    return {"stream_id": stream.stream_id, "creator_id": stream.creator_id, "room_id": stream.room_id}


@router.get("/v1/streams/{stream_id}/playback")
async def playback(stream_id: StreamPath, state: StateDep, principal: PrincipalDep) -> dict[str, str]:
    stream = await state.stream_keys.stream(stream_id)
    if stream is None:
        raise NotFound(f"no stream {stream_id}")
    return {
        "stream_id": stream_id,
        "room_id": stream.room_id,
        "creator_id": stream.creator_id,
        **_urls(state, stream_id),
    }


@router.post("/v1/playback/sessions", status_code=201)
async def new_session(body: NewSession, state: StateDep, principal: PrincipalDep) -> dict[str, str]:
    if await state.stream_keys.stream(body.stream_id) is None:
        raise NotFound(f"no stream {body.stream_id}")
    sid = await state.playback.start(body.stream_id, principal.user_id)
    return {"sid": sid, "stream_id": body.stream_id}


class BeaconBatch(Body):
    beacons: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BEACONS)


@router.post("/v1/qos", status_code=202)
async def qos(body: BeaconBatch, state: StateDep, principal: PrincipalDep) -> dict[str, int]:
    beacons = []
    for i, raw in enumerate(body.beacons):
        stamped = [k for k in ENVELOPE if k in raw]
        if stamped:
            raise Unprocessable(f"beacons[{i}]: {', '.join(stamped)} are set by the platform, not the player")
        sid, sn = raw.get("sid"), raw.get("sn")
        wire = {
            **raw,
            "producer": PRODUCER,
            "viewer_id": principal.user_id,
            "event_id": str(derived_id("qos", sid, sn)),
        }
        try:
            beacons.append(from_json_values(PlaybackBeacon, **wire))
        except ValidationError as err:
            raise Unprocessable(f"beacons[{i}]: {describe(err)}") from None
    sessions = await state.playback.owner(sorted({b.sid for b in beacons}))
    for i, beacon in enumerate(beacons):
        owner = sessions.get(beacon.sid)
        if owner is None:
            raise NotFound(
                f"beacons[{i}]: unknown playback session {beacon.sid}; start one with POST /v1/playback/sessions"
            )
        if owner[1] != principal.user_id:
            raise Forbidden(f"beacons[{i}]: playback session {beacon.sid} belongs to another viewer")
        if owner[0] != beacon.cid:
            raise Unprocessable(f"beacons[{i}]: session {beacon.sid} plays {owner[0]}, not {beacon.cid}")
    await asyncio.gather(*(asyncio.wrap_future(state.producer.submit(b)) for b in beacons))
    observe_beacons(beacons)
    return {"accepted": len(beacons)}
