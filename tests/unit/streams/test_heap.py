"""A service freezes what start-up built (full collections stop walking it) and widens the
youngest generation; later garbage is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.heap import PAUSES, YOUNGEST_GENERATION, prepare_heap_for_serving


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if PAUSES in gc.callbacks:
        gc.callbacks.remove(PAUSES)
        REGISTRY.unregister(PAUSES)


def served(name: str, **labels: str) -> float:
    """A sample of what this process serves to Prometheus."""
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name}{labels} is not served")


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    return weakref.ref(a)


@pytest.mark.usefixtures("restore_gc")
def test_startup_objects_are_frozen_and_later_cycles_still_collected() -> None:
    kept = [Node() for _ in range(10_000)]  # what start-up keeps for the life of the process
    before = gc.get_freeze_count()
    early_garbage = cycle()

    frozen = prepare_heap_for_serving()

    assert early_garbage() is None, "garbage from start-up is collected before the freeze"
    assert frozen == gc.get_freeze_count() >= before + len(kept)
    assert all(gc.is_tracked(node) for node in kept)
    assert gc.get_threshold()[0] == YOUNGEST_GENERATION, "in-flight objects die young"
    late_garbage = cycle()
    gc.collect()
    assert late_garbage() is None, "a cycle made after the freeze is still collected"


@pytest.mark.usefixtures("restore_gc")
def test_every_pause_is_timed_into_the_served_histogram() -> None:
    prepare_heap_for_serving()
    prepare_heap_for_serving()  # twice: one hook, one histogram (no duplicate registration)
    before = served("gc_pause_seconds_count", generation="2")
    seconds_before = served("gc_pause_seconds_sum", generation="2")

    for _ in range(3):
        gc.collect()

    assert served("gc_pause_seconds_count", generation="2") == before + 3
    assert served("gc_pause_seconds_sum", generation="2") > seconds_before
    assert served("gc_pause_seconds_bucket", generation="2", le="+Inf") == before + 3
    assert gc.callbacks.count(PAUSES) == 1
