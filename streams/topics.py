"""The topic registry: the only place a Kafka topic name is written.

Each topic names its event models, the field that is its key (which decides ordering),
its partitions, its retention or compaction, and its dead-letter topic. Producers find a
topic from an event's type; consumers decode with the topic's models; ``make up`` creates
every topic from here through the admin API.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import MappingProxyType

from streams.contracts.base import Event
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageDeleted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
)
from streams.contracts.fraud import FraudAlert
from streams.contracts.gifts import GiftRejected, GiftRequested, GiftScreened, GiftSettled
from streams.contracts.ledger import LedgerPosted
from streams.contracts.lifecycle import StreamEnded, StreamLadder, StreamStarted
from streams.contracts.moderation import ModerationAction
from streams.contracts.ops import OpsAlert
from streams.contracts.payouts import PayoutFailed, PayoutPaid, PayoutPending
from streams.contracts.presence import PresenceJoined, PresenceLeft, RoomOccupancy
from streams.contracts.probes import PlatformProbe
from streams.contracts.qos import PlaybackBeacon
from streams.contracts.reactions import ReactionBurst, ReactionSubmitted
from streams.contracts.wallet import TopUpCaptured, TopUpFailed, TopUpPending, TopUpRefunded
from streams.exceptions import UnknownTopic

DEAD_LETTER_SUFFIX = ".dlq"
DEAD_LETTER_RETENTION = timedelta(days=14)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    events: tuple[type[Event], ...]
    key: str
    partitions: int
    retention: timedelta | None = timedelta(days=7)
    compacted: bool = False
    description: str = ""
    dead_letter_of: str | None = field(default=None, repr=False)

    @property
    def dead_letter(self) -> str:
        return self.name + DEAD_LETTER_SUFFIX

    @property
    def is_dead_letter(self) -> bool:
        return self.dead_letter_of is not None

    def key_of(self, event: Event) -> bytes:
        value = getattr(event, self.key)
        return str(value).encode()

    def kafka_config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        config["retention.ms"] = (
            "-1" if self.retention is None else str(int(self.retention.total_seconds() * 1000))
        )
        if self.compacted:
            config["min.cleanable.dirty.ratio"] = "0.1"
            config["segment.ms"] = str(int(timedelta(hours=1).total_seconds() * 1000))
        return config

    def dead_letter_spec(self) -> TopicSpec:
        return TopicSpec(
            name=self.dead_letter,
            events=(),
            key="",
            partitions=1,
            retention=DEAD_LETTER_RETENTION,
            description=f"Records of {self.name} that failed their contract, with the reason in headers.",
            dead_letter_of=self.name,
        )


class TopicRegistry:
    def __init__(self, topics: tuple[TopicSpec, ...]) -> None:
        self._topics = topics
        self._by_name: Mapping[str, TopicSpec] = MappingProxyType({t.name: t for t in topics})
        by_event: dict[type[Event], TopicSpec] = {}
        for topic in topics:
            for model in topic.events:
                if model in by_event:
                    raise ValueError(f"{model.__name__} is on {by_event[model].name} and {topic.name}")
                by_event[model] = topic
        self._by_event: Mapping[type[Event], TopicSpec] = MappingProxyType(by_event)

    def __iter__(self) -> Iterator[TopicSpec]:
        return iter(self._topics)

    def __len__(self) -> int:
        return len(self._topics)

    def get(self, name: str) -> TopicSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownTopic(f"no topic named {name!r} in the registry") from None

    def for_event(self, model: type[Event]) -> TopicSpec:
        try:
            return self._by_event[model]
        except KeyError:
            raise UnknownTopic(f"{model.__name__} is not carried by any registered topic") from None

    def with_dead_letters(self) -> Iterator[TopicSpec]:
        for topic in self._topics:
            yield topic
            yield topic.dead_letter_spec()

    def namespaced(self, prefix: str) -> TopicRegistry:
        """The same topics under ``prefix`` (``bench.chat.submitted``, and its ``.dlq``): a
        benchmark or a replay writes and reads its own copy, never the platform's topics, whose
        consumer groups would otherwise have to work through what it produced."""
        if not prefix or not prefix.endswith("."):
            raise ValueError(f"a topic namespace ends with a dot, e.g. 'bench.': {prefix!r}")
        return TopicRegistry(tuple(replace(spec, name=prefix + spec.name) for spec in self._topics))


DAY = timedelta(days=1)

TOPICS = TopicRegistry(
    (
        TopicSpec(
            "chat.submitted",
            (ChatMessageSubmitted,),
            key="room_id",
            partitions=6,
            retention=3 * DAY,
            description="Chat as sent by viewers, before moderation. Keyed by room: one room is ordered.",
        ),
        TopicSpec(
            "chat.decisions",
            (ChatMessageAccepted, ChatMessageHeld, ChatMessageRejected, ChatMessageDeleted),
            key="room_id",
            partitions=6,
            retention=7 * DAY,
            description="Moderation outcomes and deletions, in room order, so a delete follows its message.",
        ),
        TopicSpec(
            "reactions.submitted",
            (ReactionSubmitted,),
            key="room_id",
            partitions=6,
            retention=DAY,
            description="Every reaction tap.",
        ),
        TopicSpec(
            "reactions.bursts",
            (ReactionBurst,),
            key="room_id",
            partitions=6,
            retention=3 * DAY,
            description="Reactions coalesced per room over ~250 ms windows.",
        ),
        TopicSpec(
            "presence.events",
            (PresenceJoined, PresenceLeft),
            key="room_id",
            partitions=6,
            retention=DAY,
            description="Joins and leaves per room and gateway node.",
        ),
        TopicSpec(
            "presence.occupancy",
            (RoomOccupancy,),
            key="room_id",
            partitions=6,
            retention=None,
            compacted=True,
            description="Latest occupancy per room (compacted: one record per room survives).",
        ),
        TopicSpec(
            "gifts.requested",
            (GiftRequested,),
            key="sender_id",
            partitions=6,
            retention=30 * DAY,
            description="Gift requests, keyed by the paying wallet so one wallet's gifts are serialised.",
        ),
        TopicSpec(
            "gifts.screened",
            (GiftScreened,),
            key="sender_id",
            partitions=6,
            retention=30 * DAY,
            description="Gift requests after the fraud rules, keyed by the paying wallet; settlement reads these.",
        ),
        TopicSpec(
            "gifts.outcomes",
            (GiftSettled, GiftRejected),
            key="sender_id",
            partitions=6,
            retention=30 * DAY,
            description="Settled or rejected gifts, keyed by the paying wallet.",
        ),
        TopicSpec(
            "wallet.topups",
            (TopUpPending, TopUpCaptured, TopUpFailed, TopUpRefunded),
            key="user_id",
            partitions=6,
            retention=30 * DAY,
            description="Top-up lifecycle per user: pending, captured or failed, refunded.",
        ),
        TopicSpec(
            "ledger.postings",
            (LedgerPosted,),
            key="transfer_id",
            partitions=6,
            retention=30 * DAY,
            description="Every ledger transfer, published from the PostgreSQL outbox exactly once by id.",
        ),
        TopicSpec(
            "payouts.events",
            (PayoutPending, PayoutPaid, PayoutFailed),
            key="creator_id",
            partitions=3,
            retention=90 * DAY,
            description="Creator payout lifecycle.",
        ),
        TopicSpec(
            "qos.beacons",
            (PlaybackBeacon,),
            key="sid",
            partitions=6,
            retention=3 * DAY,
            description="Player QoS beacons (CMCD v2 names), keyed by playback session.",
        ),
        TopicSpec(
            "streams.lifecycle",
            (StreamStarted, StreamEnded, StreamLadder),
            key="stream_id",
            partitions=3,
            retention=30 * DAY,
            description="Live stream started, ladder, ended.",
        ),
        TopicSpec(
            "moderation.actions",
            (ModerationAction,),
            key="room_id",
            partitions=6,
            retention=90 * DAY,
            description="The moderation audit trail: who did what to whom, in which room.",
        ),
        TopicSpec(
            "fraud.alerts",
            (FraudAlert,),
            key="user_id",
            partitions=3,
            retention=90 * DAY,
            description="Every fraud rule hit, enforced or shadow.",
        ),
        TopicSpec(
            "ops.alerts",
            (OpsAlert,),
            key="fingerprint",
            partitions=1,
            retention=90 * DAY,
            description="Operational alerts firing and resolving (Prometheus rules via Alertmanager).",
        ),
        TopicSpec(
            "ops.probes",
            (PlatformProbe,),
            key="run_id",
            partitions=1,
            retention=DAY,
            description="Synthetic canary probes that cross every store.",
        ),
    )
)
