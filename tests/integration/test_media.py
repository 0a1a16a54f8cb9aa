"""The media tier against real ffmpeg, Kafka, PostgreSQL and the API: a synthetic broadcast over
RTMP (and SRT) becomes LL-HLS that parses, follows the LL-HLS rules, cuts every rung on the same
keyframes and answers blocking reloads; bad keys, second publishers and garbage are refused."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import m3u8
import pytest

from media.packaging.rules import parse, violations
from ops.broadcast import MediaStack, media_stack, synthetic_broadcast, token_for
from streams.contracts.base import Role
from streams.settings import Settings
from tests.integration.conftest import eventually, read_topic

RUNGS = ["v360", "v240", "v144"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaStack]:
    with media_stack(tmp_path_factory.mktemp("media")) as rig:
        yield rig


@pytest.fixture(scope="module")
def live(rig: MediaStack, settings: Settings) -> Iterator[dict[str, str]]:
    """One broadcast for the module: 90 s of test pattern over RTMP."""
    with rig.on_air(settings, seconds=90) as (stream, _publisher):
        master = stream["master_url"]
        epoch = m3u8.loads(_master(stream)).playlists[0].uri.split("/")[0]
        base = master.removesuffix("master.m3u8") + epoch

        def complete_segments(rendition: str) -> int:
            return sum(1 for s in parse(httpx.get(f"{base}/{rendition}/index.m3u8").text).segments if s.uri)

        eventually(
            lambda: min(complete_segments(r) for r in [*RUNGS, "audio"]) >= 3,
            30,
            "three segments per rendition",
        )
        yield {**stream, "base": base, "epoch": epoch}


def _master(stream: dict[str, str], timeout_s: float = 20) -> str:
    """The master playlist, once the stream is on air."""
    text: str = eventually(
        lambda: (r := httpx.get(stream["master_url"])).status_code == 200 and r.text, timeout_s, "on air"
    )
    return text


def _lifecycle(settings: Settings, stream_id: str, event_type: str, timeout_s: float = 30) -> dict[str, Any]:
    """The stream's lifecycle event of that type on Kafka (and checks it is keyed by the stream)."""
    record = read_topic(
        settings, "streams.lifecycle",
        lambda m: (v := json.loads(m.value())).get("stream_id") == stream_id and v["event_type"] == event_type,
        timeout_s=timeout_s,
    )  # fmt: skip
    assert record.key() == stream_id.encode()
    event: dict[str, Any] = json.loads(record.value())
    return event


def _playlist(live: dict[str, str], rendition: str, **params: int) -> httpx.Response:
    return httpx.get(f"{live['base']}/{rendition}/index.m3u8", params=params, timeout=15)


def test_master_and_media_playlists_parse_and_pass_the_ll_hls_rules(live: dict[str, str]) -> None:
    master = m3u8.loads(httpx.get(live["master_url"]).text)
    assert [p.stream_info.resolution for p in master.playlists] == [(640, 360), (426, 240), (256, 144)]
    assert all(p.stream_info.audio == "aud" for p in master.playlists)
    assert master.media[0].type == "AUDIO"
    for rendition in [*RUNGS, "audio"]:
        response = _playlist(live, rendition)
        assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert response.headers["access-control-allow-origin"] == "*"
        assert violations(response.text) == [], response.text
        playlist = m3u8.loads(response.text)
        assert playlist.server_control.can_block_reload == "YES"
        assert float(playlist.part_inf.part_target) == pytest.approx(1 / 3, abs=0.01)
        reported = {r.uri.split("/")[1] for r in playlist.rendition_reports}
        assert reported == {*RUNGS, "audio"} - {rendition}
        # Program-date-time follows the ingest clock: the live edge is a second or two old.
        assert abs((datetime.now(UTC) - _live_edge(response.text)).total_seconds()) < 3


def _live_edge(text: str) -> datetime:
    """Program-date-time of the end of the newest part."""
    last = text[text.rindex("#EXT-X-PROGRAM-DATE-TIME:") :]
    start = datetime.fromisoformat(last.split(":", 1)[1].split("\n", 1)[0])
    tail = parse("#EXTM3U\n#EXT-X-PART-INF:PART-TARGET=1\n" + last.split("\n", 1)[1])
    seconds = sum(d for segment in tail.segments for d, _, _ in segment.parts)
    return start + timedelta(seconds=seconds)


def test_standard_hls_clients_get_whole_segments_without_low_latency_tags(live: dict[str, str]) -> None:
    master = m3u8.loads(httpx.get(live["master_url"], params={"ll": "0"}).text)
    url = live["master_url"].removesuffix("master.m3u8") + master.playlists[0].uri
    assert url.endswith("index.m3u8?ll=0")
    playlist = httpx.get(url + "&_HLS_msn=10&_HLS_part=x")  # ignored here, not a 400
    assert playlist.status_code == 200
    parsed = m3u8.loads(playlist.text)
    assert parsed.segments
    assert all(s.uri.startswith("s") for s in parsed.segments)
    assert "EXT-X-PART" not in playlist.text
    assert "CAN-BLOCK-RELOAD" not in playlist.text


def _ffprobe_packets(data: bytes) -> list[tuple[float, bool]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "json", "-"],
        input=data, capture_output=True, check=True,
    )  # fmt: skip
    return [(float(p["pts_time"]), "K" in p["flags"]) for p in json.loads(out.stdout)["packets"]]


def test_every_rung_cuts_segments_on_keyframes_at_the_same_timestamps(live: dict[str, str]) -> None:
    base = live["base"]
    lasts = []
    for rung in RUNGS:
        segments = [s for s in parse(_playlist(live, rung).text).segments if s.uri]
        lasts.append(int(segments[-1].uri.removeprefix("s").removesuffix(".m4s")))
    msn = min(lasts) - 1
    keyframes = {}
    for rung in RUNGS:
        init = httpx.get(f"{base}/{rung}/init.mp4").content
        segment = httpx.get(f"{base}/{rung}/s{msn}.m4s")
        assert segment.headers["cache-control"] == "public, max-age=31536000, immutable"
        packets = _ffprobe_packets(init + segment.content)
        assert packets[0][1], f"{rung} segment {msn} does not start on a keyframe"
        keyframes[rung] = [round(t, 3) for t, key in packets if key]
    assert keyframes["v360"] == keyframes["v240"] == keyframes["v144"]
    assert len(keyframes["v360"]) == 2  # one a second in a 2 s segment
    # A part is INDEPENDENT=YES exactly when it starts on a keyframe.
    parsed = parse(_playlist(live, "v240").text)
    init = httpx.get(f"{base}/v240/init.mp4").content
    for duration, independent, uri in [p for s in parsed.segments for p in s.parts][:6]:
        assert duration <= parsed.part_target
        first = _ffprobe_packets(init + httpx.get(f"{base}/v240/{uri}").content)[0]
        assert first[1] == independent, uri


def test_blocking_reload_returns_once_the_requested_part_exists(live: dict[str, str]) -> None:
    hint = parse(_playlist(live, "v360").text).hint
    assert hint is not None
    msn, part = (int(x) for x in hint.removeprefix("p").removesuffix(".m4s").split("."))
    started = time.monotonic()
    response = _playlist(live, "v360", _HLS_msn=msn, _HLS_part=part)
    waited = time.monotonic() - started
    assert response.status_code == 200
    assert f'URI="{hint}"' in response.text.split("#EXT-X-PRELOAD-HINT")[0]
    assert waited < 1.5  # one part is a third of a second
    assert response.headers["cache-control"] == "public, max-age=6"
    # The next hinted part itself is held until it exists, then served.
    nxt = parse(response.text).hint
    held = httpx.get(f"{live['base']}/v360/{nxt}", timeout=10)
    assert held.status_code == 200
    assert held.content[4:8] in (b"moof", b"styp", b"prft")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"_HLS_msn": "abc"}, "_HLS_msn must be a non-negative integer"),
        ({"_HLS_part": "1"}, "_HLS_part needs _HLS_msn"),
        ({"_HLS_msn": "1", "_HLS_part": "-2"}, "_HLS_part must be a non-negative integer"),
        ({"_HLS_msn": "999999"}, "too far beyond the live edge"),
    ],
)
def test_malformed_or_far_future_blocking_requests_get_400(
    live: dict[str, str], params: dict[str, str], message: str
) -> None:
    response = httpx.get(f"{live['base']}/v360/index.m3u8", params=params, timeout=5)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]
    gone = httpx.get(f"{live['base']}/v360/p1.9.m4s", timeout=5)
    assert gone.status_code == 404
    assert gone.headers["cache-control"] == "no-store"


def test_thumbnails_every_few_seconds(live: dict[str, str]) -> None:
    thumb = eventually(
        lambda: (r := httpx.get(live["thumbnail_url"])).status_code == 200 and r, 15, "a thumbnail"
    )
    assert thumb.content[:2] == b"\xff\xd8"
    assert thumb.headers["content-type"] == "image/jpeg"


def _publish_fails(target: str, rig: MediaStack) -> str:
    proc = synthetic_broadcast(target, seconds=5, log=rig.log_dir / "refused.log")
    assert proc.wait(timeout=20) != 0, "a refused publisher should fail"
    return (rig.log_dir / "refused.log").read_text()


def test_unknown_keys_second_publishers_and_garbage_are_refused_while_the_stream_goes_on(
    rig: MediaStack, live: dict[str, str]
) -> None:
    _publish_fails(rig.rtmp("live_not-a-key"), rig)
    _publish_fails(rig.rtmp(live["stream_key"]), rig)  # already live
    with socket.create_connection(("127.0.0.1", rig.ports.rtmp)) as garbage:
        garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 8)
        garbage.settimeout(5)
        assert garbage.recv(100) == b""  # closed by the server
    before = parse(_playlist(live, "v360").text).segments[-1].parts[-1][2]
    time.sleep(1)
    after = parse(_playlist(live, "v360").text).segments[-1].parts[-1][2]
    assert before != after, "the live stream stopped advancing"
    log = (rig.log_dir / "media.log").read_text()
    assert "not an RTMP client" in log


def test_revoking_the_key_ends_the_broadcast_and_the_old_key_is_refused(
    rig: MediaStack, settings: Settings
) -> None:
    with rig.on_air(settings, seconds=60, log="revoked") as (stream, publisher):
        _master(stream)
        headers = {"Authorization": f"Bearer {token_for(settings, stream['creator_id'], Role.CREATOR)}"}
        revoke = httpx.delete(f"{rig.api_url}/v1/streams/{stream['stream_id']}/key", headers=headers)
        assert revoke.status_code == 204
        assert _lifecycle(settings, stream["stream_id"], "stream.ended", 20)["reason"] == "key_revoked"
        assert publisher.wait(timeout=15) != 0
        assert "this stream key was revoked" in _publish_fails(rig.rtmp(stream["stream_key"]), rig)


def test_a_broadcast_that_stops_ends_cleanly_with_its_lifecycle_on_kafka(
    rig: MediaStack, settings: Settings
) -> None:
    with rig.on_air(settings, seconds=6, log="short") as (stream, publisher):
        assert publisher.wait(timeout=30) == 0
    master = m3u8.loads(_master(stream, 10))
    playlist_url = stream["master_url"].removesuffix("master.m3u8") + master.playlists[0].uri
    final = eventually(lambda: "#EXT-X-ENDLIST" in (t := httpx.get(playlist_url).text) and t, 15, "ENDLIST")
    assert violations(final) == []
    assert sum(s.duration or 0 for s in parse(final).segments) == pytest.approx(6, abs=1.0)
    events = {
        kind: _lifecycle(settings, stream["stream_id"], kind)
        for kind in ("stream.started", "stream.ladder", "stream.ended")
    }
    assert events["stream.started"]["protocol"] == "rtmp"
    assert [r["name"] for r in events["stream.ladder"]["renditions"]] == RUNGS
    assert events["stream.ended"]["reason"] == "broadcaster_stopped"
    assert len({e["epoch"] for e in events.values()}) == 1


def test_srt_ingest_with_the_key_as_stream_id(rig: MediaStack, settings: Settings) -> None:
    with rig.on_air(settings, seconds=30, protocol="srt", log="srt") as (stream, _publisher):
        assert len(m3u8.loads(_master(stream)).playlists) == 3
        _publish_fails(rig.srt("live_wrong-key"), rig)
    assert _lifecycle(settings, stream["stream_id"], "stream.started")["protocol"] == "srt"


def test_a_broadcast_that_freezes_gets_503_for_parts_that_never_come_then_ends_as_lost(
    rig: MediaStack, settings: Settings
) -> None:
    with rig.on_air(settings, seconds=60, log="frozen") as (stream, publisher):
        url = stream["master_url"].removesuffix("master.m3u8") + m3u8.loads(_master(stream)).playlists[0].uri
        publisher.send_signal(signal.SIGSTOP)  # the encoder hangs with its connection open
        time.sleep(1)
        last = parse(httpx.get(url).text).segments[-1]
        msn = int(last.parts[-1][2].removeprefix("p").split(".")[0])
        started = time.monotonic()
        held = httpx.get(url, params={"_HLS_msn": msn + 1, "_HLS_part": 2}, timeout=20)
        assert held.status_code == 503, held.text
        assert 5 < time.monotonic() - started < 10  # three target durations
        assert _lifecycle(settings, stream["stream_id"], "stream.ended")["reason"] == "ingest_lost"
        final = httpx.get(url).text
        assert final.rstrip().endswith("#EXT-X-ENDLIST")
        assert violations(final) == []
