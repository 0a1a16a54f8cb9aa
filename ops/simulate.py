"""Simulated platform traffic: viewers join rooms, chat, react, gift, watch; moderators and fraud
rules act. Used by `make demo` and `make bench-sink` until the real agents produce all of it.

Deterministic for a seed, so a run can be replayed; every event is a contract model.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from streams.contracts.base import Event, Role
from streams.contracts.chat import ChatMessageAccepted, ChatMessageRejected, RejectReason
from streams.contracts.fraud import FraudAlert, FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRejected, GiftRejectReason, GiftRequested, GiftSettled
from streams.contracts.ledger import LEDGER_OUTBOX, Asset, LedgerPosted, TransferKind, TransferState
from streams.contracts.moderation import ModerationAction, ModerationKind
from streams.contracts.presence import PresenceJoined, RoomOccupancy
from streams.contracts.qos import BeaconEvent, PlaybackBeacon
from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.gifts.catalog import DEFAULT_CATALOG

GIFTS = {sku: price for sku, price in DEFAULT_CATALOG.items() if price <= 500}
CREATOR_SHARE_PCT = 70
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
]
RENDITIONS = {"360p": 800, "240p": 400, "144p": 160}


def viewer_ids(run: str, events: int) -> list[str]:
    """The simulated viewers of a run (the demo tops up their wallets first)."""
    return [f"{run}-v{i}" for i in range(max(10, events // 40))]


def simulated_rooms(run: str, rooms: int = 5) -> dict[str, str]:
    """The simulation's rooms and their creators (room id -> creator id)."""
    return {f"{run}-room{i}": f"{run}-creator{i}" for i in range(rooms)}


def simulate(
    run: str,
    events: int,
    start: datetime,
    span: timedelta,
    seed: int = 1,
    rooms: int = 5,
    gift_requests: bool = False,
) -> Iterator[Event]:
    """About ``events`` events spread over ``span`` from ``start``, in time order per kind.

    ``gift_requests``: gifts are sent as requests for the real settlement agent to settle
    (the demo); otherwise as already-settled gifts with their ledger legs (benchmarks). Those
    legs carry the ledger outbox's producer name, as every posting must for the warehouse to take
    it: they go to a benchmark's own topics and databases only, never the platform's."""
    rng = random.Random(seed)
    producer = f"sim-{run}"[:64]
    viewers = viewer_ids(run, events)
    creators = simulated_rooms(run, rooms)
    room_ids = list(creators)
    step = span / max(events, 1)
    joined: dict[str, set[str]] = {room: set() for room in room_ids}
    for i in range(events):
        at = start + step * i
        room = room_ids[min(int(rng.paretovariate(1.2)) - 1, rooms - 1)]  # a few hot rooms
        user = rng.choice(viewers)
        roll = rng.random()
        if user not in joined[room] or roll < 0.05:
            joined[room].add(user)
            yield PresenceJoined(
                room_id=room,
                user_id=user,
                session_id=f"s{uuid.uuid4().hex[:12]}",
                node_id=f"gw-{rng.randint(1, 2)}",
                producer=producer,
                occurred_at=at,
            )
            if rng.random() < 0.3:
                yield RoomOccupancy(
                    room_id=room,
                    viewers=len(joined[room]),
                    connections=len(joined[room]),
                    producer=producer,
                    occurred_at=at,
                )
        elif roll < 0.35:
            yield ChatMessageAccepted(
                message_id=uuid.uuid4(),
                room_id=room,
                user_id=user,
                text=rng.choice(["hi!", "gg", "what a play", "hello from Lisbon", "lol"]),
                producer=producer,
                occurred_at=at,
            )
        elif roll < 0.38:
            yield ChatMessageRejected(
                message_id=uuid.uuid4(),
                room_id=room,
                user_id=user,
                reason=rng.choice(
                    [RejectReason.SLOW_MODE, RejectReason.RATE_LIMITED, RejectReason.BANNED_TERM]
                ),
                producer=producer,
                occurred_at=at,
            )
        elif roll < 0.65:
            yield ReactionSubmitted(
                room_id=room,
                user_id=user,
                reaction=rng.choice(list(ReactionKind)),
                producer=producer,
                occurred_at=at,
            )
        elif roll < 0.70:
            if gift_requests:
                sku = rng.choice(list(GIFTS))
                quantity = rng.choice([1, 1, 1, 2, 5])
                yield GiftRequested(
                    gift_id=uuid.uuid4(),
                    sender_id=user,
                    creator_id=creators[room],
                    room_id=room,
                    gift_sku=sku,
                    quantity=quantity,
                    unit_price_coins=GIFTS[sku],
                    total_coins=GIFTS[sku] * quantity,
                    producer=producer,
                    occurred_at=at,
                )
            else:
                yield from _gift(rng, producer, at, user, creators[room], room)
        elif roll < 0.985:
            yield _beacon(rng, producer, at, user, room)
        elif roll < 0.995:
            yield ModerationAction(
                action_id=uuid.uuid4(),
                room_id=room,
                kind=ModerationKind.TIMEOUT,
                actor_id=creators[room],
                actor_role=Role.CREATOR,
                target_user_id=user,
                duration_s=300,
                producer=producer,
                occurred_at=at,
            )
        else:
            yield FraudAlert(
                rule="gifts_per_minute",
                outcome=FraudOutcome.REVIEW,
                shadow=rng.random() < 0.5,
                subject_type=FraudSubject.USER,
                subject_id=user,
                user_id=user,
                reference_id=str(uuid.uuid4()),
                observed=31,
                threshold=30,
                window_s=60,
                producer=producer,
                occurred_at=at,
            )


def _gift(
    rng: random.Random, producer: str, at: datetime, sender: str, creator: str, room: str
) -> Iterator[Event]:
    sku = rng.choice(list(GIFTS))
    quantity = rng.choice([1, 1, 1, 2, 5])
    total = GIFTS[sku] * quantity
    gift_id = uuid.uuid4()
    if rng.random() < 0.08:
        yield GiftRejected(
            gift_id=gift_id,
            sender_id=sender,
            creator_id=creator,
            room_id=room,
            gift_sku=sku,
            total_coins=total,
            reason=GiftRejectReason.INSUFFICIENT_FUNDS,
            producer=producer,
            occurred_at=at,
        )
        return
    share = total * CREATOR_SHARE_PCT // 100
    posting = uuid.uuid4()
    yield GiftSettled(
        gift_id=gift_id,
        sender_id=sender,
        creator_id=creator,
        room_id=room,
        gift_sku=sku,
        quantity=quantity,
        total_coins=total,
        creator_share_coins=share,
        platform_fee_coins=total - share,
        transfer_id=posting,
        sender_balance_after=rng.randint(0, 5000),
        producer=producer,
        occurred_at=at,
    )
    for kind, account, amount in (
        (TransferKind.GIFT, f"creator_earnings:{creator}", share),
        (TransferKind.GIFT_FEE, "system:platform_revenue", total - share),
    ):
        if amount:
            yield LedgerPosted(
                transfer_id=uuid.uuid4(),
                posting_id=posting,
                kind=kind,
                state=TransferState.POSTED,
                asset=Asset.COINS,
                amount=amount,
                debit_account=f"user_coins:{sender}",
                credit_account=account,
                reference_id=str(gift_id),
                posted_at=at,
                producer=LEDGER_OUTBOX,
                occurred_at=at,
            )


def _beacon(rng: random.Random, producer: str, at: datetime, viewer: str, room: str) -> PlaybackBeacon:
    rendition = rng.choice(list(RENDITIONS))
    sid = f"{viewer}-{room}"[-64:]
    common: dict[str, Any] = {
        "sid": sid,
        "cid": room,
        "sn": rng.randint(0, 10_000),
        "ts": int(at.timestamp() * 1000),
        "viewer_id": viewer,
        "rendition": rendition,
        "br": RENDITIONS[rendition],
        "user_agent": rng.choice(USER_AGENTS),
        "producer": producer,
        "occurred_at": at,
    }
    roll = rng.random()
    if roll < 0.15:
        return PlaybackBeacon(e=BeaconEvent.PLAY_REQUEST, **common)
    if roll < 0.28:
        return PlaybackBeacon(e=BeaconEvent.START, startup_ms=int(rng.lognormvariate(6.5, 0.4)), **common)
    if roll < 0.30:
        return PlaybackBeacon(
            e=BeaconEvent.ERROR,
            fatal=rng.random() < 0.5,
            before_start=True,
            error_code="fragLoadError",
            **common,
        )
    stall = int(rng.expovariate(1 / 150)) if rng.random() < 0.2 else 0
    return PlaybackBeacon(
        e=BeaconEvent.HEARTBEAT,
        play_ms=10_000 - stall,
        stall_ms=stall,
        ltc=max(0, int(rng.gauss(2500, 400))),
        **common,
    )
