"""Faust side of the consumer base: decode every record with its topic's contract, hand the
events to a handler, and let Faust acknowledge them only once the handler is done.

Agents subscribe to raw bytes (``value_serializer="raw"``) and call
``process_batches(stream, spec, dead_letters, handle, ...)`` or ``process_events(...)``:

- a record that fails its contract is moved to the topic's dead-letter topic (acknowledged by
  the broker before the agent goes on, so the offset Faust commits never skips an unrecorded
  failure);
- a handler that fails on a broker, database or cache outage is retried with backoff, for as
  long as it takes: the batch is neither skipped nor reordered;
- a handler that fails otherwise, or names poison events, has those records dead-lettered with
  the reason, and the agent carries on.

Faust acknowledges a batch in a ``finally`` (``Stream.take_events``), even when the code using
it raised: a batch that failed, or one cut short by a shutdown, would be committed as done.
Each message therefore carries one extra reference while its handler runs (``Message.incref``),
released only when the handler returned; until then Faust's own acknowledgement does not make
its offset committable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from streams.bus.deadletter import DeadLetterPublisher, SourceRecord
from streams.bus.retry import Backoff, is_transient
from streams.contracts.base import Event
from streams.contracts.codec import decode
from streams.exceptions import ContractViolation, PoisonRecord
from streams.metrics import AGENT_BATCH_SECONDS, AGENT_RETRIES, RECORDS_CONSUMED, series
from streams.topics import TopicSpec
from streams.tracing import handling, header_value, traced

log = structlog.get_logger(__name__)

Poison = tuple[Event, str]
"""An event the handler gives up on, and why (it goes to the dead-letter topic)."""
BatchHandler = Callable[[list[Event]], Awaitable[Sequence[Poison] | None]]
EventHandler = Callable[[Event], Awaitable[None]]


def _source(record: Any) -> SourceRecord:
    message = record.message
    return SourceRecord(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=[(k, v) for k, v in (message.headers or [])],
    )


async def _dead_letter(dead_letters: DeadLetterPublisher, record: Any, poison: PoisonRecord) -> None:
    await dead_letters.send(_source(record), poison)
    message = record.message
    log.warning(
        "record_dead_lettered",
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        kind=poison.kind,
        reason=poison.reason,
    )


async def decode_events(
    records: Sequence[Any], spec: TopicSpec, dead_letters: DeadLetterPublisher
) -> list[tuple[Any, Event]]:
    """Decode Faust events with the topic's contract; dead-letter (and await) the ones that fail."""
    decoded: list[tuple[Any, Event]] = []
    for record in records:
        try:
            decoded.append((record, decode(record.message.value, spec.events)))
        except ContractViolation as violation:
            await _dead_letter(dead_letters, record, violation)
    if decoded:
        series(RECORDS_CONSUMED, dead_letters.consumer, spec.name).inc(len(decoded))
    return decoded


async def _handle(
    pairs: list[tuple[Any, Event]],
    handle: BatchHandler,
    dead_letters: DeadLetterPublisher,
    agent: str,
) -> None:
    backoff = Backoff()
    events = [event for _, event in pairs]
    started = time.monotonic()
    while True:
        try:
            poison = await handle(events)
            break
        except Exception as err:
            if is_transient(err):
                AGENT_RETRIES.labels(agent).inc()
                wait = backoff.next()
                log.warning("agent_waiting", agent=agent, error=repr(err), retry_in_s=wait, batch=len(events))
                await asyncio.sleep(wait)
                continue
            log.exception("agent_handler_failed", agent=agent, batch=len(events))
            poison = [(event, f"{agent} failed on it: {err!r}"[:500]) for event in events]
            break
    series(AGENT_BATCH_SECONDS, agent).observe(time.monotonic() - started)
    if poison:
        records = {id(event): record for record, event in pairs}
        for event, reason in poison:
            await _dead_letter(dead_letters, records[id(event)], PoisonRecord("processing_failed", reason))


async def process_batches(
    stream: Any,
    spec: TopicSpec,
    dead_letters: DeadLetterPublisher,
    handle: BatchHandler,
    *,
    max_records: int,
    within_s: float,
    agent: str,
) -> None:
    """Batches of decoded events (up to ``max_records``, waiting at most ``within_s``) to
    ``handle``; a batch's offsets become committable only once it is handled."""
    async for records in stream.take_events(max_records, within=within_s):
        held = [record.message for record in records]
        for message in held:
            message.incref()
        pairs = await decode_events(records, spec, dead_letters)
        if pairs:
            traces = ((event, header_value(record.message.headers)) for record, event in pairs)
            with (
                structlog.contextvars.bound_contextvars(topic=spec.name, batch=len(pairs)),
                handling(traces, agent),
            ):
                await _handle(pairs, handle, dead_letters, agent)
        for message in held:
            message.decref()


async def process_events(
    stream: Any, spec: TopicSpec, dead_letters: DeadLetterPublisher, handle: EventHandler, *, agent: str
) -> None:
    """One event at a time, with the same guarantees as :func:`process_batches`."""

    async def one(events: list[Event]) -> None:
        for event in events:
            await handle(event)

    async for record in stream.events():
        message = record.message
        message.incref()
        pairs = await decode_events([record], spec, dead_letters)
        if pairs:
            with (
                traced(header_value(message.headers), agent, "consumer") as trace_id,
                structlog.contextvars.bound_contextvars(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    event_id=str(pairs[0][1].event_id),
                    trace_id=trace_id,
                ),
            ):
                await _handle(pairs, one, dead_letters, agent)
        message.decref()


def guarded(name: str, tick: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A timer body that logs its failures instead of crashing the worker (a Faust timer that
    raises stops the whole app: one broker outage used to take the worker down this way)."""

    async def run() -> None:
        try:
            await tick()
        except Exception as err:
            log.warning("timer_failed", timer=name, error=repr(err), transient=is_transient(err))

    run.__name__ = name
    run.__qualname__ = name
    return run
