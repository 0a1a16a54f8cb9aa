"""RTMP and origin request handling without sockets to real peers."""

from __future__ import annotations

import pytest

from media.ingest import amf
from media.ingest.rtmp import chunked, flv_tag
from media.ingest.srt import key_of
from media.origin import BadRequest, blocking_params, too_far


def test_amf0_round_trips_what_rtmp_commands_carry() -> None:
    values = ["publish", 5.0, None, "live_key", {"level": "status", "ok": True}]
    assert amf.decode_all(amf.encode(*values)) == values
    with pytest.raises(amf.AmfError, match="truncated"):
        amf.decode_all(amf.encode("publish")[:-2])


def test_a_long_message_is_cut_into_chunks_with_type_3_continuations() -> None:
    out = chunked(3, 20, 0, b"a" * 300, chunk_size=128)
    assert out[0] == 3
    assert out[12 : 12 + 128] == b"a" * 128
    assert out[12 + 128] == 0xC3
    assert len(out) == 12 + 300 + 2


def test_flv_tags_carry_the_extended_timestamp_byte() -> None:
    tag = flv_tag(9, 0x01020304, b"xyz")
    assert tag[4:8] == bytes([0x02, 0x03, 0x04, 0x01])
    assert tag[-4:] == (14).to_bytes(4, "big")


def test_srt_stream_ids_in_both_forms() -> None:
    assert key_of("live_abc") == ("live_abc", "publish")
    assert key_of("#!::r=live_abc,m=publish") == ("live_abc", "publish")
    assert key_of("#!::r=live_abc,m=request") == ("live_abc", "request")


def test_blocking_reload_parameters() -> None:
    assert blocking_params({}) is None
    assert blocking_params({"_HLS_msn": "12"}) == (12, None)
    assert blocking_params({"_HLS_msn": "12", "_HLS_part": "3"}) == (12, 3)
    for bad in (
        {"_HLS_part": "1"},
        {"_HLS_msn": "-1"},
        {"_HLS_msn": "x"},
        {"_HLS_msn": "1", "_HLS_part": "1.5"},
    ):
        with pytest.raises(BadRequest):
            blocking_params(bad)
    assert not too_far((10, 2), 12, 0)
    assert too_far((10, 2), 13, 0)
    assert not too_far((10, 2), 10, 9)
    assert not too_far(None, 2, 0)
    assert too_far(None, 3, 0)


def test_program_date_time_anchors_on_the_least_delayed_packet_until_the_first_part() -> None:
    import time
    from datetime import timedelta

    from media.ingest.keys import Authorized
    from media.live import LiveConfig, LiveStream
    from media.packaging.llhls import Timing
    from media.transcode.ladder import DEFAULT_LADDER, Ladder
    from streams.contracts.lifecycle import IngestProtocol

    async def emit(_event: object) -> None:  # never called: the stream is not started
        return None

    stream = LiveStream(
        Authorized("st_1", "cr_1", "room_1"),
        IngestProtocol.RTMP,
        LiveConfig(Ladder.parse(DEFAULT_LADDER), Timing()),
        emit,
    )
    stream.media_clock(1000)  # the first tag arrived late (an encoder's start-up burst)...
    first = stream.anchor
    time.sleep(0.05)
    stream.media_clock(1200)  # ...this one, 200 ms of media later, arrived only 50 ms later
    assert first is not None
    assert stream.anchor is not None
    assert timedelta(milliseconds=140) < first - stream.anchor < timedelta(milliseconds=160)
