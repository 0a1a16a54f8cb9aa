"""The Faust application factory. Only the worker's composition root calls it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust

from streams.heap import prepare_heap_for_serving
from streams.settings import Settings
from streams.topics import TopicSpec

Hook = Callable[[], Awaitable[None]]


class PlatformApp(faust.App):
    """A Faust app that opens its resources (pools, producers) on start and closes them on stop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_start_hooks: list[Hook] = []
        self._on_stop_hooks: list[Hook] = []

    def add_lifecycle(self, on_start: Hook | None = None, on_stop: Hook | None = None) -> None:
        if on_start is not None:
            self._on_start_hooks.append(on_start)
        if on_stop is not None:
            self._on_stop_hooks.insert(0, on_stop)

    async def on_start(self) -> None:
        for hook in self._on_start_hooks:
            await hook()
        await super().on_start()

    async def on_started(self) -> None:
        await super().on_started()
        prepare_heap_for_serving()

    async def on_stop(self) -> None:
        await super().on_stop()
        for hook in self._on_stop_hooks:
            await hook()

    def raw_topic(self, spec: TopicSpec) -> Any:
        """A Faust topic for a registered spec, carrying raw bytes (decoded by the contract)."""
        return self.topic(
            spec.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=spec.partitions,
        )


def create_app(
    settings: Settings, *, app_id: str = "live-platform", web_port: int | None = None
) -> PlatformApp:
    kafka = settings.kafka
    return PlatformApp(
        app_id,
        broker=kafka.faust_broker,
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
        store="memory://",
        datadir=str(settings.local.data_dir / "faust" / app_id),
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
        topic_replication_factor=kafka.replication_factor,
        producer_acks=-1,
        stream_wait_empty=False,
    )
