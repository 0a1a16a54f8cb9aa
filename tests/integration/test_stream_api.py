"""Stream keys and QoS beacons over the API, against PostgreSQL, Redis and Kafka: who may go
live, what the media tier learns about a key, and which beacons are accepted."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from ops.seed import open_rooms_async
from streams.contracts.base import Role
from streams.settings import Settings
from tests.integration.conftest import auth, read_topic


def ingest(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.media.ingest_secret.get_secret_value()}"}


@pytest.fixture
async def stream(api: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    creator, room = f"cr_{suffix}", f"room_{suffix}"
    await open_rooms_async(settings, {room: creator})
    r = await api.post("/v1/streams", json={"room_id": room}, headers=auth(settings, creator, Role.CREATOR))
    assert r.status_code == 201, r.text
    return {**r.json(), "creator_id": creator}


async def test_only_the_rooms_creator_gets_a_key_and_the_media_tier_learns_whose_it_is(
    api: httpx.AsyncClient, settings: Settings, stream: dict[str, Any]
) -> None:
    other = await api.post(
        "/v1/streams", json={"room_id": stream["room_id"]}, headers=auth(settings, "someone", Role.CREATOR)
    )
    assert other.status_code == 403
    assert stream["obs"]["server"].startswith("rtmp://")
    assert stream["stream_key"].startswith("live_")
    r = await api.post(
        "/internal/v1/ingest/authorize",
        json={"key": stream["stream_key"], "protocol": "rtmp"},
        headers=ingest(settings),
    )
    assert r.json() == {
        "stream_id": stream["stream_id"],
        "creator_id": stream["creator_id"],
        "room_id": stream["room_id"],
    }
    # Only the media tier may ask, with its own secret: a user's token is not enough.
    user = await api.post(
        "/internal/v1/ingest/authorize",
        json={"key": stream["stream_key"], "protocol": "rtmp"},
        headers=auth(settings, "admin", Role.ADMIN),
    )
    assert user.status_code == 401


async def test_a_rotated_or_revoked_key_is_refused_with_its_reason(
    api: httpx.AsyncClient, settings: Settings, stream: dict[str, Any]
) -> None:
    creator = auth(settings, stream["creator_id"], Role.CREATOR)
    rotated = await api.post("/v1/streams", json={"room_id": stream["room_id"]}, headers=creator)
    assert rotated.json()["stream_id"] == stream["stream_id"]
    old = await api.post(
        "/internal/v1/ingest/authorize",
        json={"key": stream["stream_key"], "protocol": "srt"},
        headers=ingest(settings),
    )
    assert old.status_code == 403
    assert old.json()["detail"].startswith("revoked_key:")
    assert old.json()["reason"] == "revoked_key"  # what the media tier reads
    assert (
        await api.delete(f"/v1/streams/{stream['stream_id']}/key", headers=auth(settings, "someone"))
    ).status_code == 403
    assert (await api.delete(f"/v1/streams/{stream['stream_id']}/key", headers=creator)).status_code == 204
    new = await api.post(
        "/internal/v1/ingest/authorize",
        json={"key": rotated.json()["stream_key"], "protocol": "rtmp"},
        headers=ingest(settings),
    )
    assert new.json()["detail"].startswith("revoked_key:")
    unknown = await api.post(
        "/internal/v1/ingest/authorize",
        json={"key": "live_nope", "protocol": "rtmp"},
        headers=ingest(settings),
    )
    assert unknown.json()["detail"] == "unknown_key: unknown stream key"


def beacon(sid: str, cid: str, sn: int, **extra: Any) -> dict[str, Any]:
    return {
        "e": "heartbeat",
        "sid": sid,
        "cid": cid,
        "sn": sn,
        "ts": 1_795_000_000_000,
        "play_ms": 10_000,
        "ltc": 1500,
        **extra,
    }


async def test_beacons_are_validated_tied_to_the_viewers_session_and_keyed_by_it(
    api: httpx.AsyncClient, settings: Settings, stream: dict[str, Any]
) -> None:
    viewer = auth(settings, "vw_qos")
    sid = (
        await api.post("/v1/playback/sessions", json={"stream_id": stream["stream_id"]}, headers=viewer)
    ).json()["sid"]
    cid = stream["stream_id"]
    ok = await api.post(
        "/v1/qos",
        json={"beacons": [beacon(sid, cid, 0, e="play_request"), beacon(sid, cid, 1)]},
        headers=viewer,
    )
    assert ok.json() == {"accepted": 2}
    # A retried batch carries the same event ids (derived from sid and sn): downstream deduplicates.
    await api.post("/v1/qos", json={"beacons": [beacon(sid, cid, 1)]}, headers=viewer)
    record = read_topic(
        settings, "qos.beacons", lambda m: m.key() == sid.encode() and json.loads(m.value())["sn"] == 1
    )
    assert json.loads(record.value())["viewer_id"] == "vw_qos"

    cases = [
        ([beacon(sid, cid, 2, bl="lots")], 422, "beacons[0]: bl"),
        ([beacon(sid, cid, 2, e="rewind")], 422, "beacons[0]: e"),
        ([beacon(sid, cid, 2, event_id="x")], 422, "set by the platform"),
        ([beacon("ps_unknown", cid, 2)], 404, "unknown playback session ps_unknown"),
        ([beacon(sid, "st_other", 2)], 422, f"plays {cid}, not st_other"),
    ]
    for beacons, status, detail in cases:
        r = await api.post("/v1/qos", json={"beacons": beacons}, headers=viewer)
        assert r.status_code == status, r.text
        assert detail in r.json()["detail"]
    stolen = await api.post(
        "/v1/qos", json={"beacons": [beacon(sid, cid, 3)]}, headers=auth(settings, "vw_other")
    )
    assert stolen.status_code == 403
    assert (await api.post("/v1/qos", json={"beacons": [beacon(sid, cid, 3)]})).status_code == 401
