"""The ABR ladder and the ffmpeg argument lists that produce it. Pure: no process is started here.

Every rung is re-encoded at the ladder's frame rate with a keyframe forced on every whole
second of media time (so all rungs cut at the same instants), and written as fragmented MP4
(CMAF) to its own pipe, one fragment per LL-HLS part. Audio is its own output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from streams.contracts.lifecycle import Rendition

_RUNG = re.compile(r"^(?P<name>[a-z0-9_]{1,16}):(?P<w>\d+)x(?P<h>\d+)@(?P<kbps>\d+)k?$")


class InputFormat(StrEnum):
    FLV = "flv"  # RTMP, remuxed by our ingest
    MPEGTS = "mpegts"  # SRT


@dataclass(frozen=True, slots=True)
class Ladder:
    renditions: tuple[Rendition, ...]
    fps: float = 30.0
    audio_kbps: int = 96
    keyframe_s: float = 1.0
    part_frames: int = 10  # video frames per part: 10 at 30 fps = 0.333 s
    audio_part_s: float = 0.32  # 15 AAC frames at 48 kHz
    preset: str = "veryfast"

    @property
    def part_s(self) -> float:
        return self.part_frames / self.fps

    @classmethod
    def parse(cls, spec: str, fps: float = 30.0, audio_kbps: int = 96) -> Ladder:
        """``"v360:640x360@800,v240:426x240@400"`` → a ladder (highest first)."""
        rungs = []
        for item in filter(None, (s.strip() for s in spec.split(","))):
            match = _RUNG.match(item)
            if match is None:
                raise ValueError(
                    f"ladder rung {item!r}: expected name:WIDTHxHEIGHT@KBPS, e.g. v360:640x360@800"
                )
            try:
                rung = Rendition(
                    name=match["name"],
                    width=int(match["w"]),
                    height=int(match["h"]),
                    video_kbps=int(match["kbps"]),
                    fps=fps,
                )
            except ValidationError as err:
                raise ValueError(f"ladder rung {item!r}: {err.errors()[0]['msg']}") from None
            rungs.append(rung)
        if not rungs:
            raise ValueError("the ladder needs at least one rung")
        names = [r.name for r in rungs]
        if len(set(names)) != len(names) or "audio" in names:
            raise ValueError(f"ladder rung names must be unique and not 'audio': {names}")
        rungs.sort(key=lambda r: -r.height)
        return cls(tuple(rungs), fps=fps, audio_kbps=audio_kbps)


DEFAULT_LADDER = "v360:640x360@800,v240:426x240@400,v144:256x144@160"


def _keyframes(ladder: Ladder) -> list[str]:
    """x264 at the ladder's frame rate with a keyframe on every ``keyframe_s`` of media time and
    none elsewhere: every rung cuts at the same instants."""
    gop = str(round(ladder.fps * ladder.keyframe_s))
    return [
        "-r", f"{ladder.fps:g}", "-preset", ladder.preset, "-tune", "zerolatency", "-profile:v", "main",
        "-pix_fmt", "yuv420p", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{ladder.keyframe_s:g})",
    ]  # fmt: skip


def _audio(ladder: Ladder) -> list[str]:
    return ["-c:a", "aac", "-b:a", f"{ladder.audio_kbps}k", "-ar", "48000", "-ac", "2"]


def _input(ffmpeg: str, input_args: Sequence[str]) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", *input_args]


def transcode_args(
    ladder: Ladder,
    input_format: InputFormat,
    outputs: Sequence[int],
    thumbnail_fd: int | None,
    thumbnail_every_s: float = 4.0,
    ffmpeg: str = "ffmpeg",
) -> list[str]:
    """Argument list for one live stream read from stdin: ``outputs`` are the pipe fds, one per
    rung in ladder order then one for audio; JPEG thumbnails go to ``thumbnail_fd``."""
    if len(outputs) != len(ladder.renditions) + 1:
        raise ValueError(f"need {len(ladder.renditions) + 1} output pipes, got {len(outputs)}")
    # Small probe: the stream's codecs are known within half a second. (Never +nobuffer: it
    # drops the probed packets, the first keyframe among them.)
    probe = ["-fflags", "+genpts", "-probesize", "500000", "-analyzeduration", "500000"]
    args = _input(ffmpeg, [*probe, "-f", input_format.value, "-i", "pipe:0"])
    cmaf = "+empty_moov+default_base_moof+cmaf"
    for rung, fd in zip(ladder.renditions, outputs, strict=False):
        scale = (
            f"scale={rung.width}:{rung.height}:force_original_aspect_ratio=decrease,"
            f"pad={rung.width}:{rung.height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
        )
        args += [
            "-map", "0:v:0", "-vf", scale, "-c:v", "libx264", *_keyframes(ladder),
            "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{round(rung.video_kbps * 1.2)}k",
            "-bufsize", f"{rung.video_kbps}k", "-an",
            # One fragment per part: cut at every keyframe and just under each part duration.
            "-f", "mp4", "-movflags", cmaf + "+frag_keyframe",
            "-frag_duration", str(round(ladder.part_s * 1_000_000) - 1000), f"pipe:{fd}",
        ]  # fmt: skip
    args += [
        "-map", "0:a:0?", "-vn", *_audio(ladder), "-f", "mp4", "-movflags", cmaf + "+delay_moov",
        # Cut a little before the nominal part: the first fragment starts at the encoder's
        # negative priming time and would otherwise take one AAC frame more than the others.
        "-frag_duration", str(round(ladder.audio_part_s * 1_000_000) - 20_000), f"pipe:{outputs[-1]}",
    ]  # fmt: skip
    if thumbnail_fd is not None:
        args += [
            "-map", "0:v:0", "-an", "-vf", f"fps=1/{thumbnail_every_s:g},scale=320:-2",
            "-c:v", "mjpeg", "-q:v", "5", "-f", "image2pipe", f"pipe:{thumbnail_fd}",
        ]  # fmt: skip
    return args


def hls_reference_args(
    ladder: Ladder, input_args: Sequence[str], out_dir: str, ffmpeg: str = "ffmpeg"
) -> list[str]:
    """ffmpeg alone encoding the same ladder and writing standard fMP4 HLS (the packaging
    overhead reference of ``make bench-media``)."""
    args = _input(ffmpeg, input_args)
    var_map = []
    for i, rung in enumerate(ladder.renditions):
        args += [
            "-map", "0:v:0", f"-filter:v:{i}", f"scale={rung.width}:{rung.height},setsar=1",
            f"-c:v:{i}", "libx264", f"-b:v:{i}", f"{rung.video_kbps}k",
        ]  # fmt: skip
        var_map.append(f"v:{i},agroup:aud,name:{rung.name}")
    return [
        *args, "-map", "0:a:0", *_audio(ladder), *_keyframes(ladder),
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "8", "-hls_segment_type", "fmp4",
        "-hls_flags", "delete_segments+independent_segments+program_date_time",
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join([*var_map, "a:0,agroup:aud,name:audio"]),
        f"{out_dir}/%v/index.m3u8",
    ]  # fmt: skip
