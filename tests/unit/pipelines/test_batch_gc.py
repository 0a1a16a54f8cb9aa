"""The sink's loop collects garbage between batches: cycles are still reclaimed, and the
process's own collector setting is given back when the loop ends."""

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


def test_a_cycle_made_during_a_batch_is_reclaimed_at_the_batch_boundary() -> None:
    collector = BatchCollector(full_every_s=3600, young_every_s=0)
    with collector.owning_gc():
        assert not gc.isenabled()
        cycle = make_cycle()
        assert cycle() is not None, "with automatic collection off the cycle lives until the boundary"
        collector.between_batches()
        assert cycle() is None


def test_young_collections_are_spaced_in_time_not_run_at_every_boundary() -> None:
    with BatchCollector(full_every_s=3600, young_every_s=3600).owning_gc():
        cycle = make_cycle()
        BatchCollector(full_every_s=3600, young_every_s=3600).between_batches()
        assert cycle() is not None, "a boundary before young_every_s has passed collects nothing"
        BatchCollector(full_every_s=3600, young_every_s=0).between_batches()
        assert cycle() is None


def old_cycle() -> weakref.ref[Node]:
    """A cycle that lived through two collections (now in the oldest generation), then dropped."""
    holder = [Node()]
    holder[0].other = holder[0]
    gc.collect(1)
    gc.collect(1)
    ref = weakref.ref(holder[0])
    holder.clear()
    return ref


def test_old_cycles_wait_for_the_periodic_full_collection() -> None:
    with BatchCollector(full_every_s=3600).owning_gc():
        survivor = old_cycle()
        BatchCollector(full_every_s=3600, young_every_s=0).between_batches()
        assert survivor() is not None, "a young collection does not look at the oldest generation"
        BatchCollector(full_every_s=0).between_batches()
        assert survivor() is None


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
