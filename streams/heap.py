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
classes and clients the process keeps until it exits.
"""

from __future__ import annotations

import gc
import time

import structlog

log = structlog.get_logger(__name__)

YOUNGEST_GENERATION = 20_000
"""Allocations between young collections (CPython's default is 700); each costs ~1 ms at most."""


def prepare_heap_for_serving() -> int:
    """Call once start-up is done: widen the youngest generation, freeze what start-up left;
    returns the number of objects frozen.

    Only the young generations are collected first: a full collection of that heap is itself
    an 80 to 200 ms pause, and the old garbage it would find is a few hundred objects that
    freezing keeps for good, where a worker may already be handling records."""
    started = time.perf_counter()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION, middle, oldest)
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
