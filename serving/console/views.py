"""How the console shows a hold or an alert: one shape for the REST answer and the live push."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.contracts.gifts import GiftScreened
from streams.rooms.holds import HeldMessage


def chat_item(held: HeldMessage) -> dict[str, Any]:
    m = held.message
    return {
        "kind": "chat",
        "id": str(m.message_id),
        "room_id": m.room_id,
        "user_id": m.user_id,
        "text": m.text,
        "score": round(held.score, 3),
        "reason": held.held_reason,
        "held_at": held.held_at.isoformat(),
    }


def gift_item(gift: GiftScreened, held_at: datetime) -> dict[str, Any]:
    return {
        "kind": "gift",
        "id": str(gift.gift_id),
        "room_id": gift.room_id,
        "user_id": gift.sender_id,
        "text": f"{gift.quantity} x {gift.gift_sku} ({gift.total_coins} coins) to {gift.creator_id}",
        "score": None,
        "reason": ", ".join(gift.rules) or gift.decision,
        "held_at": held_at.isoformat(),
    }


def alert_view(row: dict[str, Any]) -> dict[str, Any]:
    """A fraud alert from ClickHouse."""
    return {
        "alert_id": str(row["event_id"]),
        "source": "fraud",
        "rule": row["rule"],
        "outcome": row["outcome"],
        "shadow": bool(row["shadow"]),
        "room_id": None,
        "user_id": row["user_id"],
        "subject_id": row["subject_id"],
        "reference_id": row["reference_id"],
        "observed": row["observed"],
        "threshold": row["threshold"],
        "detail": row["detail"],
        "occurred_at": _utc(row["occurred_at"]).isoformat(),
    }


# A moderation spike's id names its room and minute, so it can be found again.
SPIKE_PREFIX = "spike."
SPIKE_MINUTE = "%Y%m%dT%H%M"


def spike_id(room_id: str, minute: datetime) -> str:
    return f"{SPIKE_PREFIX}{room_id}.{minute.strftime(SPIKE_MINUTE)}"


def parse_spike_id(alert_id: str) -> tuple[str, datetime] | None:
    if not alert_id.startswith(SPIKE_PREFIX):
        return None
    room_id, _, stamp = alert_id.removeprefix(SPIKE_PREFIX).rpartition(".")
    try:
        minute = datetime.strptime(stamp, SPIKE_MINUTE).replace(tzinfo=UTC)
    except ValueError:
        return None
    return (room_id, minute) if room_id else None


def spike_view(row: dict[str, Any]) -> dict[str, Any]:
    minute = _utc(row["minute"])
    baseline = float(row["baseline"])
    return {
        "alert_id": spike_id(row["room_id"], minute),
        "source": "moderation",
        "rule": "hold_spike",
        "outcome": "review",
        "shadow": False,
        "room_id": row["room_id"],
        "user_id": None,
        "subject_id": row["room_id"],
        "reference_id": minute.isoformat(),
        "observed": int(row["holds"]),
        "threshold": max(3, int(3 * baseline + 0.999)),
        "detail": f"{row['holds']} messages held in a minute, {baseline:.2f} a minute in the hour before",
        "occurred_at": minute.isoformat(),
    }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
