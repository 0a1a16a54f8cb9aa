"""Faust side of the consumer base: decode every record with its topic's contract.

Agents subscribe to raw bytes (``value_serializer="raw"``) and iterate
``contract_events(stream, spec, dead_letters)``: a record that fails its contract is moved
to the topic's dead-letter topic (acknowledged by the broker before the agent goes on, so
the offset Faust commits never skips an unrecorded failure) and the agent carries on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from streams.bus.deadletter import DeadLetterPublisher, SourceRecord
from streams.contracts.base import Event
from streams.contracts.codec import decode
from streams.exceptions import ContractViolation
from streams.topics import TopicSpec

log = structlog.get_logger(__name__)


async def decode_events(
    records: Sequence[Any], spec: TopicSpec, dead_letters: DeadLetterPublisher
) -> list[Event]:
    """Decode Faust events with the topic's contract; dead-letter (and await) the ones that fail."""
    decoded: list[Event] = []
    for record in records:
        message = record.message
        raw = message.value
        try:
            decoded.append(decode(raw, spec.events))
        except ContractViolation as violation:
            source = SourceRecord(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=raw,
                headers=[(k, v) for k, v in (message.headers or [])],
            )
            await dead_letters.send(source, violation)
            log.warning(
                "record_dead_lettered",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                kind=violation.kind,
                reason=violation.reason,
            )
    return decoded


async def contract_events(
    stream: Any, spec: TopicSpec, dead_letters: DeadLetterPublisher
) -> AsyncIterator[Event]:
    async for record in stream.events():
        message = record.message
        for event in await decode_events([record], spec, dead_letters):
            with structlog.contextvars.bound_contextvars(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                event_id=str(event.event_id),
            ):
                yield event


async def contract_batches(
    stream: Any, spec: TopicSpec, dead_letters: DeadLetterPublisher, *, max_records: int, within_s: float
) -> AsyncIterator[list[Event]]:
    """Batches of decoded events (up to ``max_records``, waiting at most ``within_s``). Faust
    acknowledges a batch's offsets only when the agent asks for the next one."""
    async for records in stream.take_events(max_records, within=within_s):
        events = await decode_events(records, spec, dead_letters)
        if events:
            yield events
