"""The heap of a long-running service, for short pauses: what start-up built is frozen, and the
youngest generation is wide enough that in-flight objects die young.

CPython's full (generation-2) collection visits every object the collector tracks, and stops
the event loop while it does. Two things made those collections long and frequent, measured
with ``gc.callbacks`` in ``bench-fanout``:

- **Start-up.** A worker or gateway holds over a hundred thousand objects from imports alone
  (Faust, aiokafka, scikit-learn, FastAPI, pydantic's schemas): each full collection paused it
  for 20 to 160 ms, and every message or request in flight waited that long.
  ``gc.freeze()`` moves them into a generation the collector never visits.
- **Promotion.** With CPython's default youngest generation (700 objects), what a broadcast
  keeps alive for a few milliseconds (packets queued for 750 sockets, their futures) survives
  two young collections and is promoted; a full collection runs once promotions reach a quarter
  of the old generation. A gateway holding 2,500 sockets then ran one every 8 to 10 s, each a
  220 to 380 ms pause: the 5,000-socket crowd's p99. With 20,000 objects in the youngest
  generation that garbage dies young, and the crowd run saw no full collection at all.

What the service allocates later is collected as before; the frozen objects are the modules,
classes and clients the process keeps until it exits. Every pause is timed into
``gc_pause_seconds{generation}``, so a heap that grows back into long pauses shows on a
dashboard (and in the ``GcPausesLong`` alert) instead of only as a latency tail.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import time
from collections.abc import Iterator

import structlog
from prometheus_client import REGISTRY
from prometheus_client.core import HistogramMetricFamily

log = structlog.get_logger(__name__)

PAUSE_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class GcPauses:
    """``gc_pause_seconds{generation}``: every collection's pause, as a Prometheus histogram.

    The ``gc.callbacks`` hook only bumps plain counters: a collection can start on any
    allocation, also while this thread holds a prometheus-client metric's lock, so the hook
    must not take one. The histogram is built from the counters when Prometheus scrapes."""

    def __init__(self) -> None:
        self._started = 0.0
        self._counts = [[0] * (len(PAUSE_BUCKETS_S) + 1) for _ in range(3)]
        self._sums = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        paused = time.perf_counter() - self._started
        generation = info["generation"]
        self._counts[generation][bisect.bisect_left(PAUSE_BUCKETS_S, paused)] += 1
        self._sums[generation] += paused

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "gc_pause_seconds",
            "Garbage-collection pauses (the whole process stopped), by generation",
            labels=["generation"],
        )
        bounds = [*(str(b) for b in PAUSE_BUCKETS_S), "+Inf"]
        for generation, counts in enumerate(self._counts):
            cumulative = list(itertools.accumulate(counts))
            family.add_metric(
                [str(generation)],
                buckets=list(zip(bounds, cumulative, strict=True)),
                sum_value=self._sums[generation],
            )
        yield family


PAUSES = GcPauses()


YOUNGEST_GENERATION = 20_000
"""Allocations between young collections (CPython's default is 700); each costs ~1 ms at most."""


def prepare_heap_for_serving() -> int:
    """Call once start-up is done: time every pause, widen the youngest generation, freeze
    what start-up left; returns the number of objects frozen.

    Only the young generations are collected first: a full collection of that heap is itself
    an 80 to 200 ms pause, and the old garbage it would find is a few hundred objects that
    freezing keeps for good, where a worker may already be handling records."""
    started = time.perf_counter()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION, middle, oldest)
    if PAUSES not in gc.callbacks:
        gc.callbacks.append(PAUSES)
        REGISTRY.register(PAUSES)
    gc.collect(1)
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "startup_heap_frozen",
        objects=frozen,
        youngest_generation=YOUNGEST_GENERATION,
        collect_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return frozen
