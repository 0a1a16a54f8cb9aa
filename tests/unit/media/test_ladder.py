from __future__ import annotations

import pytest

from media.transcode.ladder import DEFAULT_LADDER, InputFormat, Ladder, transcode_args


def test_default_ladder_is_three_light_rungs_highest_first() -> None:
    ladder = Ladder.parse(DEFAULT_LADDER)
    assert [(r.name, r.height, r.video_kbps) for r in ladder.renditions] == [
        ("v360", 360, 800),
        ("v240", 240, 400),
        ("v144", 144, 160),
    ]
    assert abs(ladder.part_s - 1 / 3) < 1e-9


@pytest.mark.parametrize("spec", ["", "v360:640x360", "a:1x1@1,a:2x2@2", "audio:640x360@800"])
def test_a_bad_ladder_is_refused_with_the_expected_form(spec: str) -> None:
    with pytest.raises(ValueError, match="ladder"):
        Ladder.parse(spec)


def test_every_rung_gets_the_same_forced_one_second_keyframes_and_its_own_pipe() -> None:
    ladder = Ladder.parse(DEFAULT_LADDER)
    args = transcode_args(ladder, InputFormat.FLV, [10, 11, 12, 13], thumbnail_fd=14)
    assert args[0] == "ffmpeg"
    assert all(isinstance(a, str) for a in args)
    assert args.count("expr:gte(t,n_forced*1)") == 3
    assert [a for a in args if a.startswith("pipe:")] == [
        "pipe:0",
        "pipe:10",
        "pipe:11",
        "pipe:12",
        "pipe:13",
        "pipe:14",
    ]
    assert args[args.index("-i") - 1] == "flv"
    with pytest.raises(ValueError, match="output pipes"):
        transcode_args(ladder, InputFormat.FLV, [10], thumbnail_fd=None)
