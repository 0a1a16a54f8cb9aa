"""One valid example of every event contract, for tests. Adding a contract without a sample fails."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from streams.contracts.base import Event, Role
from streams.contracts.catalog import EVENT_MODELS
from streams.contracts.chat import RejectReason
from streams.contracts.fraud import FraudOutcome, FraudSubject
from streams.contracts.gifts import GiftRejectReason
from streams.contracts.ledger import Asset, TransferKind, TransferState
from streams.contracts.lifecycle import EndReason, IngestProtocol, Rendition
from streams.contracts.moderation import ModerationKind
from streams.contracts.ops import AlertStatus
from streams.contracts.presence import LeaveReason
from streams.contracts.qos import BeaconEvent, PlayerState
from streams.contracts.reactions import ReactionKind
from streams.contracts.wallet import ClawbackKind

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def _fields() -> dict[str, dict[str, Any]]:
    m = uuid.UUID("00000000-0000-4000-8000-000000000001")
    gift = uuid.UUID("00000000-0000-4000-8000-000000000002")
    transfer = uuid.UUID("00000000-0000-4000-8000-000000000003")
    topup = uuid.UUID("00000000-0000-4000-8000-000000000004")
    payout = dict(
        payout_id=uuid.UUID("00000000-0000-4000-8000-000000000005"),
        creator_id="creator-7",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        amount_cents=12_345,
        currency="USD",
    )
    chat = dict(message_id=m, room_id="room-1", user_id="viewer-1")
    return {
        "chat.message.submitted": {**chat, "text": "hello", "display_name": "Vi"},
        "chat.message.accepted": {**chat, "text": "hello", "user_role": Role.VIEWER},
        "chat.message.held": {**chat, "text": "buy followers", "score": 0.91, "held_reason": "spam"},
        "chat.message.rejected": {**chat, "reason": RejectReason.SLOW_MODE, "retry_after_ms": 2500},
        "chat.message.deleted": {"message_id": m, "room_id": "room-1", "deleted_by": "mod-1"},
        "reaction.submitted": {"room_id": "room-1", "user_id": "viewer-1", "reaction": ReactionKind.HEART},
        "reaction.burst": {
            "room_id": "room-1",
            "window_start": T0,
            "window_end": T0 + timedelta(milliseconds=250),
            "counts": {ReactionKind.HEART: 12, ReactionKind.FIRE: 3},
            "unique_users": 9,
        },
        "presence.joined": {
            "room_id": "room-1",
            "user_id": "viewer-1",
            "session_id": "s1",
            "node_id": "gw-a",
        },
        "presence.left": {
            "room_id": "room-1",
            "user_id": "viewer-1",
            "session_id": "s1",
            "node_id": "gw-a",
            "reason": LeaveReason.EXPIRED,
        },
        "room.occupancy": {"room_id": "room-1", "viewers": 10, "connections": 12},
        "gift.requested": {
            "gift_id": gift,
            "sender_id": "viewer-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "gift_sku": "rose",
            "quantity": 3,
            "unit_price_coins": 10,
            "total_coins": 30,
        },
        "gift.screened": {
            "gift_id": gift,
            "sender_id": "viewer-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "gift_sku": "rose",
            "quantity": 3,
            "unit_price_coins": 10,
            "total_coins": 30,
            "decision": "review",
            "rules": ("gifts_per_minute",),
        },
        "gift.settled": {
            "gift_id": gift,
            "sender_id": "viewer-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "gift_sku": "rose",
            "quantity": 3,
            "total_coins": 30,
            "creator_share_coins": 21,
            "platform_fee_coins": 9,
            "transfer_id": transfer,
            "sender_balance_after": 70,
        },
        "gift.rejected": {
            "gift_id": gift,
            "sender_id": "viewer-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "gift_sku": "rose",
            "total_coins": 30,
            "reason": GiftRejectReason.INSUFFICIENT_FUNDS,
        },
        "wallet.topup.pending": {
            "topup_id": topup,
            "user_id": "viewer-1",
            "amount_cents": 499,
            "currency": "USD",
            "coins": 500,
            "payment_instrument_id": "card-1",
        },
        "wallet.topup.captured": {
            "topup_id": topup,
            "user_id": "viewer-1",
            "amount_cents": 499,
            "currency": "USD",
            "coins": 500,
            "provider_ref": "ch_1",
            "transfer_id": transfer,
        },
        "wallet.topup.failed": {"topup_id": topup, "user_id": "viewer-1", "reason": "card declined"},
        "wallet.topup.refunded": {
            "topup_id": topup,
            "user_id": "viewer-1",
            "kind": ClawbackKind.CHARGEBACK,
            "amount_cents": 499,
            "currency": "USD",
            "coins_clawed_back": 200,
            "debt_coins": 300,
        },
        "ledger.posted": {
            "transfer_id": transfer,
            "posting_id": gift,
            "kind": TransferKind.GIFT,
            "state": TransferState.POSTED,
            "asset": Asset.COINS,
            "amount": 21,
            "debit_account": "user_coins:viewer-1",
            "credit_account": "creator_earnings:creator-7",
            "reference_id": str(gift),
            "posted_at": T0,
        },
        "payout.pending": payout,
        "payout.paid": {**payout, "provider_ref": "po_1"},
        "payout.failed": {**payout, "reason": "bank account closed"},
        "qos.beacon": {
            "e": BeaconEvent.START,
            "sid": "play-1",
            "cid": "stream-1",
            "sn": 2,
            "ts": 1_795_000_000_000,
            "startup_ms": 640,
            "br": 800,
            "sta": PlayerState.PLAYING,
        },
        "stream.started": {
            "stream_id": "stream-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "protocol": IngestProtocol.RTMP,
            "epoch": "e1",
        },
        "stream.ended": {
            "stream_id": "stream-1",
            "creator_id": "creator-7",
            "room_id": "room-1",
            "epoch": "e1",
            "reason": EndReason.BROADCASTER_STOPPED,
            "duration_s": 3600.5,
        },
        "stream.ladder": {
            "stream_id": "stream-1",
            "room_id": "room-1",
            "epoch": "e1",
            "renditions": (Rendition(name="360p", width=640, height=360, video_kbps=800, fps=30.0),),
            "audio_kbps": 96,
            "segment_s": 2.0,
            "part_s": 0.333,
        },
        "moderation.action": {
            "action_id": m,
            "room_id": "room-1",
            "kind": ModerationKind.TIMEOUT,
            "actor_id": "mod-1",
            "actor_role": Role.MODERATOR,
            "target_user_id": "viewer-1",
            "duration_s": 600,
            "params": {"slow_mode_s": 5, "emote_only": False, "terms": ["spam"]},
        },
        "fraud.alert": {
            "rule": "gifts_per_minute",
            "outcome": FraudOutcome.REVIEW,
            "shadow": False,
            "subject_type": FraudSubject.USER,
            "subject_id": "viewer-1",
            "user_id": "viewer-1",
            "reference_id": str(gift),
            "observed": 31,
            "threshold": 30,
            "window_s": 60,
        },
        "ops.probe": {"run_id": "run-1", "seq": 0},
        "ops.alert": {
            "alertname": "ConsumerLagHigh",
            "status": AlertStatus.FIRING,
            "severity": "page",
            "owner": "data-platform",
            "summary": "sink.warehouse is 12,000 records behind",
            "labels": {"group": "sink.warehouse", "alertname": "ConsumerLagHigh"},
            "starts_at": T0,
            "fingerprint": "3f2a9c1b7d4e5f60",
        },
    }


SAMPLE_FIELDS = _fields()


def sample(model: type[Event], **overrides: Any) -> Event:
    fields = {**SAMPLE_FIELDS[model.EVENT_TYPE], "producer": "test", "occurred_at": T0, **overrides}
    return model(**fields)


ALL_SAMPLES = [sample(model) for model in EVENT_MODELS]
