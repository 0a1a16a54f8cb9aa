from __future__ import annotations

import pytest

from media.packaging.cmaf import FragmentReader, MalformedMp4, describe, timescale
from tests.unit.media.fragments import fragment, init_section


def test_reader_splits_a_pipe_into_init_and_fragments_whatever_the_chunking() -> None:
    stream = init_section(15360) + fragment(0, [512] * 10, key=True) + fragment(5120, [512] * 10, key=False)
    for size in (1, 7, 100, len(stream)):
        reader = FragmentReader()
        out = [f for i in range(0, len(stream), size) for f in reader.feed(stream[i : i + size])]
        assert reader.init == init_section(15360)
        assert [describe(f).decode_time for f in out] == [0, 5120]


def test_a_fragment_tells_its_time_duration_and_whether_it_starts_on_a_keyframe() -> None:
    key = describe(fragment(30720, [512] * 10, key=True))
    other = describe(fragment(35840, [512] * 10, key=False))
    assert (key.decode_time, key.duration, key.samples, key.independent) == (30720, 5120, 10, True)
    assert other.independent is False
    assert timescale(init_section(48000)) == 48000


def test_garbage_instead_of_mp4_is_refused_with_a_reason() -> None:
    with pytest.raises(MalformedMp4, match="impossible size"):
        FragmentReader().feed(b"\x00\x00\x00\x01junk" + b"\x00" * 8)
    with pytest.raises(MalformedMp4, match="init section"):
        FragmentReader().feed(fragment(0, [512], key=True))
