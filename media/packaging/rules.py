"""Our own checks of an LL-HLS media playlist against the rules of RFC 8216bis / Apple's LL-HLS
spec that general parsers do not enforce. Pure: playlist text in, violations out (empty = ok).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(line.split(":", 1)[1] if ":" in line else "")}


@dataclass
class _Segment:
    parts: list[tuple[float, bool, str]] = field(default_factory=list)  # (duration, independent, uri)
    duration: float | None = None
    uri: str | None = None
    pdt: bool = False


@dataclass
class Parsed:
    target: int = 0
    part_target: float = 0.0
    part_hold_back: float = 0.0
    can_block: bool = False
    media_sequence: int = 0
    segments: list[_Segment] = field(default_factory=list)
    hint: str | None = None
    reports: list[dict[str, str]] = field(default_factory=list)
    ended: bool = False


def parse(text: str) -> Parsed:
    out = Parsed()
    current = _Segment()
    for line in (raw.strip() for raw in text.splitlines()):
        if line.startswith("#EXT-X-TARGETDURATION:"):
            out.target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART-INF:"):
            out.part_target = float(attributes(line)["PART-TARGET"])
        elif line.startswith("#EXT-X-SERVER-CONTROL:"):
            attrs = attributes(line)
            out.part_hold_back = float(attrs.get("PART-HOLD-BACK", "0"))
            out.can_block = attrs.get("CAN-BLOCK-RELOAD") == "YES"
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            out.media_sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            current.pdt = True
        elif line.startswith("#EXT-X-PART:"):
            attrs = attributes(line)
            current.parts.append((float(attrs["DURATION"]), attrs.get("INDEPENDENT") == "YES", attrs["URI"]))
        elif line.startswith("#EXTINF:"):
            current.duration = float(line.split(":", 1)[1].split(",")[0])
        elif line.startswith("#EXT-X-PRELOAD-HINT:"):
            out.hint = attributes(line).get("URI")
        elif line.startswith("#EXT-X-RENDITION-REPORT:"):
            out.reports.append(attributes(line))
        elif line == "#EXT-X-ENDLIST":
            out.ended = True
        elif line and not line.startswith("#"):
            current.uri = line
            out.segments.append(current)
            current = _Segment()
    if current.parts:
        out.segments.append(current)  # the segment being built: parts only
    return out


def violations(text: str) -> list[str]:
    p = parse(text)
    found: list[str] = []
    if not text.startswith("#EXTM3U"):
        found.append("does not start with #EXTM3U")
    if p.part_target <= 0:
        return [*found, "no EXT-X-PART-INF:PART-TARGET"]
    if p.part_hold_back < 2 * p.part_target:
        found.append(f"PART-HOLD-BACK {p.part_hold_back} < 2 x PART-TARGET {p.part_target}")
    if not p.can_block:
        found.append("SERVER-CONTROL lacks CAN-BLOCK-RELOAD=YES")
    if not p.ended and p.hint is None:
        found.append("a live playlist without EXT-X-PRELOAD-HINT")
    # Parts only within three target durations of the end of the playlist.
    from_end = 0.0
    for segment in reversed(p.segments):
        length = segment.duration if segment.duration is not None else sum(d for d, _, _ in segment.parts)
        if segment.parts and from_end > 3 * p.target:
            found.append(
                f"{segment.uri}: parts listed {from_end:.1f}s from the live edge (> 3 target durations)"
            )
        from_end += length
    for segment in p.segments:
        name = segment.uri or f"the open segment ({segment.parts[0][2]}…)"
        for i, (duration, _independent, uri) in enumerate(segment.parts):
            if duration > p.part_target + 1e-9:
                found.append(f"{uri}: DURATION {duration} > PART-TARGET {p.part_target}")
            if i < len(segment.parts) - 1 and duration < 0.85 * p.part_target:
                found.append(f"{uri}: DURATION {duration} < 85% of PART-TARGET (not the segment's last part)")
        if segment.parts and not segment.parts[0][1]:
            found.append(f"{name}: its first part is not INDEPENDENT=YES (segments start on a keyframe)")
        if segment.duration is not None:
            if round(segment.duration) > p.target:
                found.append(f"{name}: EXTINF {segment.duration} rounds above TARGETDURATION {p.target}")
            total = sum(d for d, _, _ in segment.parts)
            if segment.parts and not math.isclose(total, segment.duration, abs_tol=0.01):
                found.append(f"{name}: parts add up to {total:.3f}s, EXTINF says {segment.duration}")
        if not segment.pdt:
            found.append(f"{name}: no EXT-X-PROGRAM-DATE-TIME")
    return found
