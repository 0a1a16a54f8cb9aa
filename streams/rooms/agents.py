"""The room agents: moderation, chat fan-out, the audit trail to rooms, reactions, presence.

chat.submitted      -> moderation (batched)         -> chat.decisions
chat.decisions      -> history + fan-out (Redis)    -> room / sender / moderators
moderation.actions  -> fan-out                      -> room / moderators
reactions.submitted -> coalescer, flushed per window -> reactions.bursts + fan-out
presence.events     -> presence board; counted every interval -> presence.occupancy + fan-out
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from prometheus_client import Gauge

from streams.bus.deadletter import DeadLetterPublisher
from streams.bus.faust_io import guarded, process_batches, process_events
from streams.bus.producer import EventProducer
from streams.contracts.base import Event
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageDeleted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
)
from streams.contracts.moderation import ModerationAction
from streams.contracts.presence import PresenceJoined, PresenceLeft, RoomOccupancy
from streams.contracts.reactions import ReactionSubmitted
from streams.fanout.ports import RoomEmitter
from streams.fanout.rooms import History, fan_out_burst, fan_out_chat, fan_out_moderation, fan_out_occupancy
from streams.faust_app import PlatformApp
from streams.rooms.coalesce import ReactionCoalescer
from streams.rooms.moderation import ChatModerator
from streams.rooms.presence import PresenceBoard
from streams.settings import RoomSettings
from streams.topics import TOPICS

log = structlog.get_logger(__name__)

TOXICITY_FAILURES = Gauge(
    "toxicity_classifier_failures",
    "Chat batches decided by the rules alone because the toxicity classifier failed, since start",
)


def register_room_agents(
    app: PlatformApp,
    *,
    moderator: ChatModerator,
    history: History,
    board: PresenceBoard,
    emitter: RoomEmitter,
    producer: EventProducer,
    dead_letters: DeadLetterPublisher,
    settings: RoomSettings,
) -> None:
    submitted = TOPICS.for_event(ChatMessageSubmitted)
    decisions = TOPICS.for_event(ChatMessageAccepted)
    actions = TOPICS.for_event(ModerationAction)
    taps = TOPICS.for_event(ReactionSubmitted)
    presence = TOPICS.for_event(PresenceJoined)
    TOXICITY_FAILURES.set_function(lambda: moderator.classifier_failures)

    @app.agent(app.raw_topic(submitted), name="chat-moderation")
    async def chat_moderation(stream: Any) -> None:
        async def handle(batch: list[Event]) -> None:
            messages = [e for e in batch if isinstance(e, ChatMessageSubmitted)]
            outcomes = await moderator.decide(messages)
            # Queued to Kafka first, then shown while the broker acknowledges: its round trip
            # (~2.5 ms, half the agent's time per message, measured) is off the viewers' path,
            # and the decision skips a second Kafka hop (chat-fanout below leaves these alone).
            # Faust acknowledges the batch only once both are done, so a publish or a fan-out
            # that fails redelivers it: the gate gives each message the decision it remembered,
            # under the same event id, and clients show a message once by its id.
            acks = [asyncio.wrap_future(producer.submit(event)) for event in outcomes]
            try:
                for decision in outcomes:
                    if isinstance(decision, ChatMessageAccepted | ChatMessageHeld | ChatMessageRejected):
                        await fan_out_chat(decision, emitter, history)
            finally:
                await asyncio.gather(*acks)

        await process_batches(
            stream, submitted, dead_letters, handle, max_records=500, within_s=0.001, agent="chat-moderation"
        )

    @app.agent(app.raw_topic(decisions), name="chat-fanout")
    async def chat_fanout(stream: Any) -> None:
        # Decisions made elsewhere: deletions, and held messages a moderator approved or denied
        # through the API. The moderation agent's own decisions were shown when they were made.
        async def handle(event: Event) -> None:
            if event.producer == moderator.producer:
                return
            if isinstance(
                event, ChatMessageAccepted | ChatMessageHeld | ChatMessageRejected | ChatMessageDeleted
            ):
                await fan_out_chat(event, emitter, history)

        await process_events(stream, decisions, dead_letters, handle, agent="chat-fanout")

    @app.agent(app.raw_topic(actions), name="moderation-fanout")
    async def moderation_fanout(stream: Any) -> None:
        async def handle(event: Event) -> None:
            if isinstance(event, ModerationAction):
                await fan_out_moderation(event, emitter)

        await process_events(stream, actions, dead_letters, handle, agent="moderation-fanout")

    coalescer = ReactionCoalescer(producer=app.conf.id)

    @app.agent(app.raw_topic(taps), name="reaction-coalescer")
    async def reaction_coalescer(stream: Any) -> None:
        # Taps are best effort: a window not yet flushed when the worker dies is lost (at most
        # one window, ~250 ms of reactions), which is the trade the product accepts for them.
        async def handle(event: Event) -> None:
            if isinstance(event, ReactionSubmitted):
                coalescer.add(event)

        await process_events(stream, taps, dead_letters, handle, agent="reaction-coalescer")

    async def flush_reactions() -> None:
        bursts = coalescer.flush()
        for burst in bursts:
            await fan_out_burst(burst, emitter)
        await asyncio.gather(*(producer.send(burst) for burst in bursts))

    app.timer(interval=settings.reaction_window_ms / 1000)(guarded("flush_reactions", flush_reactions))

    @app.agent(app.raw_topic(presence), name="presence")
    async def presence_agent(stream: Any) -> None:
        async def handle(event: Event) -> None:
            if isinstance(event, PresenceJoined):
                await board.joined(event.room_id, event.node_id, event.session_id, event.user_id)
            elif isinstance(event, PresenceLeft):
                await board.left(event.room_id, event.node_id, event.session_id)

        await process_events(stream, presence, dead_letters, handle, agent="presence")

    published: dict[str, tuple[int, int]] = {}
    counter_id = uuid.uuid4().hex
    lease_ms = int(settings.occupancy_interval_s * 3000)

    async def count_occupancy() -> None:
        if not await board.lead(counter_id, lease_ms):
            published.clear()  # another worker counts; start afresh if the lease comes back
            return
        for room in await board.count():
            figures = (room.viewers, room.connections)
            if published.get(room.room_id) == figures:
                continue
            published[room.room_id] = figures
            occupancy = RoomOccupancy(
                room_id=room.room_id, viewers=room.viewers, connections=room.connections, producer=app.conf.id
            )
            await fan_out_occupancy(occupancy, emitter)
            await producer.send(occupancy)
            if room.connections == 0:
                published.pop(room.room_id, None)

    app.timer(interval=settings.occupancy_interval_s)(guarded("count_occupancy", count_occupancy))
