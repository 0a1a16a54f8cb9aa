"""The heap of a long-running service: what start-up built is never garbage, so the cyclic
collector stops walking it.

CPython's full (generation-2) collection visits every object the collector tracks. A worker or
gateway holds over a hundred thousand of them from imports alone (Faust, aiokafka, scikit-learn,
FastAPI, pydantic's schemas), so each full collection paused the event loop for 20 to 130 ms
(measured with ``gc.callbacks`` during ``bench-fanout``), and every chat message or request
in flight waited that long: it was the fan-out's p99. ``gc.freeze()`` moves everything alive at
that moment into a generation the collector never visits; what the service allocates later is
collected as before. The frozen objects are the modules, classes and clients the process keeps
until it exits, so nothing collectable is held back.
"""

from __future__ import annotations

import gc
import time

import structlog

log = structlog.get_logger(__name__)


def freeze_startup_heap() -> int:
    """Freeze what start-up left (call when it is done); the count frozen.

    Only the young generations are collected first: a full collection of that heap is itself
    a 80 to 200 ms pause, and the old garbage it would find is a few hundred objects that
    freezing keeps for good, where a worker may already be handling records."""
    started = time.perf_counter()
    gc.collect(1)
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "startup_heap_frozen",
        objects=frozen,
        collect_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return frozen
