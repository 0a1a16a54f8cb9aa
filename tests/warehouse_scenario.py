"""A small, fully known day of platform activity, for warehouse tests and the demo.

Every number the tests assert can be checked by reading this file.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from streams.bus.consumer import Received
from streams.contracts.base import Event, Role
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageDeleted,
    ChatMessageHeld,
    ChatMessageRejected,
    RejectReason,
)
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRejected, GiftRejectReason, GiftSettled
from streams.contracts.ledger import Asset, LedgerPosted, TransferKind, TransferState
from streams.contracts.lifecycle import EndReason, IngestProtocol, StreamEnded, StreamStarted
from streams.contracts.moderation import ModerationAction, ModerationKind
from streams.contracts.presence import PresenceJoined, RoomOccupancy
from streams.contracts.qos import BeaconEvent, PlaybackBeacon
from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.topics import TOPICS

DAY = date(2026, 11, 20)
T10 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T11 = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
P = "scenario"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def delivered(batch: list[Event], offsets: dict[str, int]) -> list[Received]:
    """The events as the sink receives them, at the next offsets of their topics (partition 0)."""
    out = []
    for event in batch:
        topic = TOPICS.for_event(type(event)).name
        out.append(Received(event, topic, 0, offsets[topic], 0))
        offsets[topic] += 1
    return out


def _at(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=seconds)


def events() -> list[Event]:
    out: list[Event] = []
    # Presence: room-1 has u1..u5, room-2 has u4..u6 (u4 in both).
    for i, user in enumerate(["u1", "u2", "u3", "u4", "u5"]):
        out.append(
            PresenceJoined(
                room_id="room-1",
                user_id=user,
                session_id=f"s-{user}",
                node_id="gw-a",
                producer=P,
                occurred_at=_at(T10, i),
            )
        )
    for i, user in enumerate(["u4", "u5", "u6"]):
        out.append(
            PresenceJoined(
                room_id="room-2",
                user_id=user,
                session_id=f"s2-{user}",
                node_id="gw-b",
                producer=P,
                occurred_at=_at(T11, i),
            )
        )
    out += [
        RoomOccupancy(room_id="room-1", viewers=5, connections=6, producer=P, occurred_at=_at(T10, 10)),
        RoomOccupancy(room_id="room-1", viewers=3, connections=3, producer=P, occurred_at=_at(T10, 70)),
        RoomOccupancy(room_id="room-2", viewers=3, connections=3, producer=P, occurred_at=_at(T11, 10)),
    ]
    # Chat: room-1 accepted u1 x3 + u2 x1 in minute 10:00; room-2 accepted u4 x2 at 11:00.
    for i, user in enumerate(["u1", "u1", "u1", "u2"]):
        out.append(
            ChatMessageAccepted(
                message_id=uuid.uuid4(),
                room_id="room-1",
                user_id=user,
                text=f"hi {i}",
                producer=P,
                occurred_at=_at(T10, 20 + i),
            )
        )
    for i in range(2):
        out.append(
            ChatMessageAccepted(
                message_id=uuid.uuid4(),
                room_id="room-2",
                user_id="u4",
                text="yo",
                user_role=Role.VIEWER,
                producer=P,
                occurred_at=_at(T11, 20 + i),
            )
        )
    for i in range(2):
        out.append(
            ChatMessageRejected(
                message_id=uuid.uuid4(),
                room_id="room-1",
                user_id="u3",
                reason=RejectReason.SLOW_MODE,
                producer=P,
                occurred_at=_at(T10, 30 + i),
            )
        )
    out.append(
        ChatMessageRejected(
            message_id=uuid.uuid4(),
            room_id="room-2",
            user_id="u6",
            reason=RejectReason.BANNED_TERM,
            producer=P,
            occurred_at=_at(T11, 30),
        )
    )
    out.append(
        ChatMessageHeld(
            message_id=uuid.uuid4(),
            room_id="room-1",
            user_id="u5",
            text="buy followers",
            score=0.93,
            held_reason="spam",
            producer=P,
            occurred_at=_at(T10, 40),
        )
    )
    out.append(
        ChatMessageDeleted(
            message_id=uuid.uuid4(),
            room_id="room-1",
            deleted_by="mod-1",
            producer=P,
            occurred_at=_at(T10, 50),
        )
    )
    # Reactions: 7 in room-1, 3 in room-2.
    kinds = list(ReactionKind)
    out += [
        ReactionSubmitted(
            room_id="room-1",
            user_id=f"u{1 + i % 3}",
            reaction=kinds[i % 6],
            producer=P,
            occurred_at=_at(T10, 5 + i),
        )
        for i in range(7)
    ]
    out += [
        ReactionSubmitted(
            room_id="room-2",
            user_id="u6",
            reaction=ReactionKind.FIRE,
            producer=P,
            occurred_at=_at(T11, 5 + i),
        )
        for i in range(3)
    ]
    # Gifts: settled u1 3 roses (30) and u2 1 rocket (500) to c1 in room-1; u4 1 rose (10) to c2 in room-2.
    gifts = [
        ("u1", "c1", "room-1", "rose", 3, 30, 21),
        ("u2", "c1", "room-1", "rocket", 1, 500, 350),
        ("u4", "c2", "room-2", "rose", 1, 10, 7),
    ]
    for i, (sender, creator, room, sku, qty, total, share) in enumerate(gifts):
        gift_id, transfer = uuid.uuid4(), uuid.uuid4()
        at = _at(T10 if room == "room-1" else T11, 45 + i)
        out.append(
            GiftSettled(
                gift_id=gift_id,
                sender_id=sender,
                creator_id=creator,
                room_id=room,
                gift_sku=sku,
                quantity=qty,
                total_coins=total,
                creator_share_coins=share,
                platform_fee_coins=total - share,
                transfer_id=transfer,
                sender_balance_after=100,
                producer=P,
                occurred_at=at,
            )
        )
        for kind, account, amount in (
            (TransferKind.GIFT, f"creator_earnings:{creator}", share),
            (TransferKind.GIFT_FEE, "system:platform_revenue", total - share),
        ):
            out.append(
                LedgerPosted(
                    transfer_id=uuid.uuid4(),
                    posting_id=transfer,
                    kind=kind,
                    state=TransferState.POSTED,
                    asset=Asset.COINS,
                    amount=amount,
                    debit_account=f"user_coins:{sender}",
                    credit_account=account,
                    reference_id=str(gift_id),
                    posted_at=at,
                    producer=P,
                    occurred_at=at,
                )
            )
    out.append(
        GiftRejected(
            gift_id=uuid.uuid4(),
            sender_id="u5",
            creator_id="c1",
            room_id="room-1",
            gift_sku="rocket",
            total_coins=500,
            reason=GiftRejectReason.INSUFFICIENT_FUNDS,
            producer=P,
            occurred_at=_at(T10, 55),
        )
    )
    # Ledger: a posted payout of 100 from c1's earnings; a pending one that must not count.
    for state, amount in ((TransferState.POSTED, 100), (TransferState.PENDING, 999)):
        out.append(
            LedgerPosted(
                transfer_id=uuid.uuid4(),
                posting_id=uuid.uuid4(),
                kind=TransferKind.PAYOUT,
                state=state,
                asset=Asset.COINS,
                amount=amount,
                debit_account="creator_earnings:c1",
                credit_account="system:payout_clearing",
                reference_id="payout-1",
                posted_at=_at(T11, 59),
                producer=P,
                occurred_at=_at(T11, 59),
            )
        )

    # QoS for stream-1: sessions a (360p, Chrome) and b (240p, Firefox) start; c fails before start.
    def beacon(sid: str, e: BeaconEvent, sn: int, at: float, **kw: object) -> PlaybackBeacon:
        return PlaybackBeacon(
            e=e,
            sid=sid,
            cid="stream-1",
            sn=sn,
            ts=int(_at(T10, at).timestamp() * 1000),
            producer=P,
            occurred_at=_at(T10, at),
            **kw,
        )  # type: ignore[arg-type]

    out += [
        beacon("a", BeaconEvent.PLAY_REQUEST, 0, 1, viewer_id="u1", user_agent=CHROME, rendition="360p"),
        beacon("a", BeaconEvent.START, 1, 2, startup_ms=500, br=800, rendition="360p", user_agent=CHROME),
        beacon(
            "a",
            BeaconEvent.HEARTBEAT,
            2,
            12,
            play_ms=10_000,
            stall_ms=500,
            br=800,
            ltc=2000,
            rendition="360p",
            user_agent=CHROME,
        ),
        beacon("b", BeaconEvent.PLAY_REQUEST, 0, 3, viewer_id="u2", user_agent=FIREFOX, rendition="240p"),
        beacon("b", BeaconEvent.START, 1, 4, startup_ms=900, br=400, rendition="240p", user_agent=FIREFOX),
        beacon(
            "b",
            BeaconEvent.HEARTBEAT,
            2,
            14,
            play_ms=9_000,
            stall_ms=0,
            br=400,
            ltc=3000,
            rendition="240p",
            user_agent=FIREFOX,
        ),
        beacon("c", BeaconEvent.PLAY_REQUEST, 0, 5, viewer_id="u3", user_agent=CHROME),
        beacon(
            "c",
            BeaconEvent.ERROR,
            1,
            6,
            fatal=True,
            before_start=True,
            error_code="manifestLoadError",
            user_agent=CHROME,
        ),
    ]
    # Moderation and fraud.
    out += [
        ModerationAction(
            action_id=uuid.uuid4(),
            room_id="room-1",
            kind=ModerationKind.TIMEOUT,
            actor_id="mod-1",
            actor_role=Role.MODERATOR,
            target_user_id="u3",
            duration_s=600,
            producer=P,
            occurred_at=_at(T10, 33 + i),
        )
        for i in range(2)
    ]
    out.append(
        ModerationAction(
            action_id=uuid.uuid4(),
            room_id="room-2",
            kind=ModerationKind.BAN,
            actor_id="c2",
            actor_role=Role.CREATOR,
            target_user_id="u6",
            producer=P,
            occurred_at=_at(T11, 31),
        )
    )
    for i, (outcome, shadow) in enumerate(
        [(FraudOutcome.REVIEW, False), (FraudOutcome.REVIEW, False), (FraudOutcome.BLOCK, True)]
    ):
        out.append(
            FraudAlert(
                rule="gifts_per_minute",
                outcome=outcome,
                shadow=shadow,
                subject_type=FraudSubject.USER,
                subject_id="u2",
                user_id="u2",
                reference_id=f"g{i}",
                observed=31,
                threshold=30,
                window_s=60,
                producer=P,
                occurred_at=_at(T10, 46 + i),
            )
        )
    # stream-1 is room-1's broadcast by c1, on air 10:00:00-10:01:59.
    out += [
        StreamStarted(
            stream_id="stream-1",
            creator_id="c1",
            room_id="room-1",
            protocol=IngestProtocol.RTMP,
            epoch="e1",
            producer=P,
            occurred_at=_at(T10, 0),
        ),
        StreamEnded(
            stream_id="stream-1",
            creator_id="c1",
            room_id="room-1",
            epoch="e1",
            reason=EndReason.BROADCASTER_STOPPED,
            duration_s=119.0,
            producer=P,
            occurred_at=_at(T10, 119),
        ),
    ]
    return out
