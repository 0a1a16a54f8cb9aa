"""The media service, one process: RTMP and SRT ingest, one ffmpeg per live stream, the LL-HLS
packager and the HTTP origin. Composition root: the only place that reads settings.

python -m media [--rtmp-port N] [--srt-port N] [--origin-port N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping

import structlog
import uvicorn

from media.ingest.keys import KeyAuthority
from media.ingest.rtmp import serve_rtmp
from media.ingest.srt import SrtListener, srt_available
from media.live import LiveConfig, LiveStream, LiveStreams
from media.origin import create_origin
from media.packaging.llhls import Timing
from media.transcode.ladder import Ladder
from streams.bus.producer import EventProducer
from streams.bus.wire import KafkaWire
from streams.heap import prepare_heap_for_serving
from streams.logs import configure_logging
from streams.metrics import announce
from streams.settings import Settings
from streams.telemetry import init_telemetry

log = structlog.get_logger("media")
logging.getLogger("httpx").setLevel(logging.WARNING)


def _metrics(streams: LiveStreams) -> str:
    """Prometheus text: live streams, parts held, and per rendition how late its newest part
    became available after its media ended (program-date-time), the latest it has been, and how
    many parts came too late for a player at the part hold-back (each a stall at the live edge)."""
    parts = sum(
        len(s.parts) for st in streams.streams.values() for t in st.tracks.values() for s in t.segments
    )
    lines = [
        "# TYPE media_live_streams gauge",
        f"media_live_streams {streams.live}",
        "# TYPE media_parts_in_window gauge",
        f"media_parts_in_window {parts}",
    ]
    series: tuple[tuple[str, str, Callable[[LiveStream], Mapping[str, float]]], ...] = (
        ("media_part_lag_seconds", "gauge", lambda stream: stream.part_lag_s),
        ("media_part_lag_max_seconds", "gauge", lambda stream: stream.part_lag_max_s),
        ("media_parts_late_total", "counter", lambda stream: stream.late_parts),
    )
    for metric, kind, by_rendition in series:
        lines.append(f"# TYPE {metric} {kind}")
        for stream in streams.streams.values():
            for rendition, value in by_rendition(stream).items():
                labels = f'stream="{stream.stream_id}",rendition="{rendition}"'
                lines.append(f"{metric}{{{labels}}} {value:.6g}")
    return "\n".join(lines) + "\n"


async def run(settings: Settings, rtmp_port: int, srt_port: int, origin_port: int) -> None:
    media = settings.media
    ladder = Ladder.parse(media.ladder, fps=media.fps, audio_kbps=media.audio_kbps)
    timing = Timing(
        segment_s=media.segment_s,
        part_target_s=round(ladder.part_s + 0.0005, 3),
        window_segments=media.window_segments,
        part_hold_back_parts=media.part_hold_back_parts,
    )
    config = LiveConfig(
        ladder,
        timing,
        ffmpeg=media.ffmpeg,
        thumbnail_s=media.thumbnail_every_s,
        linger_s=media.ended_linger_s,
    )
    wire = KafkaWire(settings.kafka.bootstrap_servers, client_id="media")
    producer = EventProducer(wire)

    async def emit(event: object) -> None:
        await producer.send(event)  # type: ignore[arg-type]

    authority = KeyAuthority(media.api_url, media.ingest_secret.get_secret_value())
    streams = LiveStreams(authority, config, emit)
    rtmp = await serve_rtmp(streams, media.host, rtmp_port, idle_timeout_s=media.idle_timeout_s)
    srt = SrtListener(streams, media.host, srt_port) if srt_available() else None
    if srt is not None:
        await srt.start()
    origin = uvicorn.Server(
        uvicorn.Config(
            create_origin(streams, lambda: _metrics(streams)),
            host=media.host,
            port=origin_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    serving = asyncio.create_task(origin.serve())
    announce("media", settings.local.run_dir, f"{media.host}:{origin_port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    prepare_heap_for_serving()
    log.info(
        "media.ready",
        rtmp=f"rtmp://{media.host}:{rtmp_port}/live",
        srt=f"srt://{media.host}:{srt_port}" if srt else "unavailable (libsrt not found)",
        origin=f"http://{media.host}:{origin_port}",
        ladder=[r.name for r in ladder.renditions],
    )
    # uvicorn captures SIGTERM/SIGINT while it serves: either way, the origin stopping ends the run.
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([stopping, serving], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    log.info("media.stopping", live=streams.live)
    rtmp.close()
    if srt is not None:
        srt.close()
    await streams.shutdown()
    origin.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    await authority.close()
    wire.close()


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rtmp-port", type=int, default=settings.media.rtmp_port)
    parser.add_argument("--srt-port", type=int, default=settings.media.srt_port)
    parser.add_argument("--origin-port", type=int, default=settings.media.origin_port)
    args = parser.parse_args()
    configure_logging(settings.log_format)
    init_telemetry(settings, "media")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(settings, args.rtmp_port, args.srt_port, args.origin_port))


if __name__ == "__main__":
    main()
