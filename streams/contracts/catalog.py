"""Every event model the platform carries, by ``event_type``: the one list to extend."""

from __future__ import annotations

from collections.abc import Mapping
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

EVENT_MODELS: tuple[type[Event], ...] = (
    ChatMessageSubmitted,
    ChatMessageAccepted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageDeleted,
    ReactionSubmitted,
    ReactionBurst,
    PresenceJoined,
    PresenceLeft,
    RoomOccupancy,
    GiftRequested,
    GiftScreened,
    GiftSettled,
    GiftRejected,
    TopUpPending,
    TopUpCaptured,
    TopUpFailed,
    TopUpRefunded,
    LedgerPosted,
    PayoutPending,
    PayoutPaid,
    PayoutFailed,
    PlaybackBeacon,
    StreamStarted,
    StreamEnded,
    StreamLadder,
    ModerationAction,
    FraudAlert,
    OpsAlert,
    PlatformProbe,
)


def _by_type() -> Mapping[str, type[Event]]:
    table: dict[str, type[Event]] = {}
    for model in EVENT_MODELS:
        if not model.EVENT_TYPE:
            raise TypeError(f"{model.__name__} has no event_type default")
        if model.EVENT_TYPE in table:
            raise TypeError(f"event_type {model.EVENT_TYPE!r} is used twice")
        table[model.EVENT_TYPE] = model
    return MappingProxyType(table)


EVENTS_BY_TYPE: Mapping[str, type[Event]] = _by_type()
