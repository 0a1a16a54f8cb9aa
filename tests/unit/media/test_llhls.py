from __future__ import annotations

import re
from datetime import UTC, datetime

import m3u8

from media.packaging.cmaf import describe
from media.packaging.llhls import Timing, Track, Variant, avc_codec, master_playlist, media_playlist
from media.packaging.rules import violations
from tests.unit.media.fragments import fragment, init_section

SCALE = 15360
PART = 5120  # 1/3 s at 15360
ANCHOR = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def _track(name: str, seconds: float, timing: Timing | None = None) -> Track:
    track = Track(name, timing or Timing(), ANCHOR, SCALE, init_section(SCALE))
    for i in range(round(seconds * 3)):
        track.add(describe(fragment(i * PART, [512] * 10, key=i % 3 == 0)))
    return track


def test_parts_group_into_aligned_two_second_segments_numbered_by_media_time() -> None:
    track = _track("v360", 7)
    complete = [s for s in track.segments if s.complete]
    assert [s.msn for s in complete] == [0, 1, 2]
    assert all(len(s.parts) == 6 and abs(s.duration_s - 2.0) < 1e-9 for s in complete)
    assert track.last_part() == (3, 2)
    assert track.next_part() == (3, 3)


def test_playlist_passes_the_ll_hls_rules_and_parses() -> None:
    track, other = _track("v360", 30), _track("v240", 30)
    text = media_playlist(track, [other])
    assert violations(text) == []
    parsed = m3u8.loads(text)
    assert parsed.target_duration == 2
    assert parsed.server_control.can_block_reload == "YES"
    assert parsed.preload_hint.uri == "p15.0.m4s"
    assert parsed.rendition_reports[0].last_msn == 14
    assert parsed.program_date_time is not None
    # Parts are only listed near the live edge: the oldest listed segments have none.
    assert "p7.0.m4s" not in text
    assert "s7.m4s" in text
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-11-28T12:00:14.000Z" in text


def test_blocking_reload_is_answerable_only_once_the_part_exists() -> None:
    track = _track("v360", 4 + 1 / 3)  # segments 0, 1 done; segment 2 has one part
    assert track.has(2, 0)
    assert not track.has(2, 1)
    assert track.has(1, None)
    assert not track.has(2, None)
    assert track.has(1, 9)  # past the end of a finished segment: the next one's first part exists
    assert not track.has(2, 9)


def test_an_ended_track_closes_its_segment_and_the_playlist_ends() -> None:
    track = _track("v360", 3)
    track.end()
    text = media_playlist(track, [])
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    assert "PRELOAD-HINT" not in text
    assert violations(text) == []


def test_rules_catch_what_a_broken_packager_would_write() -> None:
    good = media_playlist(_track("v360", 9), [])
    bad = re.sub(r"PART-HOLD-BACK=[0-9.]+", "PART-HOLD-BACK=0.5", good)
    assert bad != good
    bad = bad.replace('DURATION=0.33333,URI="p4.1.m4s"', 'DURATION=0.5,URI="p4.1.m4s"')
    bad = bad.replace('URI="p4.0.m4s",INDEPENDENT=YES', 'URI="p4.0.m4s"')
    found = "\n".join(violations(bad))
    assert "PART-HOLD-BACK 0.5" in found
    assert "p4.1.m4s: DURATION 0.5 > PART-TARGET" in found
    assert "the open segment (p4.0.m4s…): its first part is not INDEPENDENT" in found


def test_master_names_the_epoch_every_rung_and_the_audio_group() -> None:
    text = master_playlist(
        "e1",
        [
            Variant("v240", 426, 240, 576_000, 30, "avc1.4d4015,mp4a.40.2"),
            Variant("v360", 640, 360, 1_056_000, 30, "avc1.4d401e,mp4a.40.2"),
        ],
        "audio",
    )
    parsed = m3u8.loads(text)
    assert [p.uri for p in parsed.playlists] == ["e1/v360/index.m3u8", "e1/v240/index.m3u8"]
    assert parsed.media[0].uri == "e1/audio/index.m3u8"
    assert parsed.media[0].group_id == "aud"
    assert avc_codec(init_section(SCALE)) == "avc1.4d401e"


def test_the_standard_playlist_has_whole_segments_only() -> None:
    track, other = _track("v360", 9 + 1 / 3), _track("v240", 9 + 1 / 3)
    text = media_playlist(track, [other], low_latency=False)
    parsed = m3u8.loads(text)
    assert [s.uri for s in parsed.segments] == ["s0.m4s", "s1.m4s", "s2.m4s", "s3.m4s"]
    for tag in ("EXT-X-PART", "PRELOAD-HINT", "SERVER-CONTROL", "RENDITION-REPORT"):
        assert tag not in text
    master = master_playlist(
        "e1", [Variant("v360", 640, 360, 1_056_000, 30, "avc1.4d401e,mp4a.40.2")], "audio", "?ll=0"
    )
    assert "e1/v360/index.m3u8?ll=0" in master
    assert 'URI="e1/audio/index.m3u8?ll=0"' in master
