"""The sink's loop collects garbage between batches: what a boundary freezes is still freed,
cycles are reclaimed by the periodic full collection, and the process's own collector setting
is given back when the loop ends."""

from __future__ import annotations

import gc
import weakref

from pipelines.warehouse.runner import BatchCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def make_cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_cycle_made_during_a_batch_is_reclaimed_by_the_periodic_full_collection() -> None:
    with BatchCollector(full_every_s=3600).owning_gc():
        assert not gc.isenabled()
        cycle = make_cycle()
        BatchCollector(full_every_s=3600).between_batches()
        assert cycle() is not None, "a boundary freezes what is alive, it does not scan it"
        BatchCollector(full_every_s=0).between_batches()
        assert cycle() is None, "the full collection unfreezes and reclaims it"


def test_what_a_boundary_freezes_is_still_freed_when_let_go() -> None:
    with BatchCollector(full_every_s=3600).owning_gc():
        batch = [Node() for _ in range(3)]
        first = weakref.ref(batch[0])
        frozen = gc.get_freeze_count()
        BatchCollector(full_every_s=3600).between_batches()
        assert gc.get_freeze_count() >= frozen + len(batch), "the boundary froze the live batch"
        batch.clear()
        assert first() is None, "reference counting frees a frozen object"


def test_the_collector_setting_is_restored() -> None:
    assert gc.isenabled()
    with BatchCollector().owning_gc():
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with BatchCollector().owning_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
