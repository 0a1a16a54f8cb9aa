"""The trust-and-safety console's API (``/v1/console``): analysts and admins only.

The hold queue across every room (held chat and fraud-held gifts, newest first) with the
decisions on it, alerts (fraud rules and moderation spikes) with acknowledgements, a user's
history and platform-wide ban, the audit trail (searchable, CSV), and chart series. Every
action is carried out by the same code as the room moderators' and finance's routes, and every
one is an audit event on ``moderation.actions``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field

from serving.api.fraud_routes import decide_gift_hold
from serving.api.params import RoomQuery, UserPath, UserQuery
from serving.api.room_routes import (
    Acting,
    Reason,
    _Body,
    audit,
    ban_in_room,
    decide_chat_hold,
    delete_held_message,
    staff_acting,
)
from serving.api.state import AppState, PrincipalDep, StateDep
from serving.auth.tokens import Principal
from serving.console.views import alert_view, chat_item, gift_item, parse_spike_id, spike_view
from serving.exceptions import Conflict, Forbidden, NotFound, Unprocessable
from streams.contracts.base import Role, RoomId
from streams.contracts.moderation import ModerationKind
from streams.rooms.model import Room

router = APIRouter(prefix="/v1/console", tags=["console"])
CONSOLE_ROLES = (Role.ANALYST, Role.ADMIN)
Limit = Annotated[int, Query(ge=1, le=500)]
Since = Annotated[datetime | None, Query(description="From (ISO 8601); default: 24 hours ago.")]
Until = Annotated[datetime | None, Query(description="Until (ISO 8601, exclusive); default: now.")]
Text = Annotated[str, Query(max_length=100, pattern=r"^[^\x00]*$")]


async def as_analyst(principal: PrincipalDep) -> Principal:
    if not principal.has(*CONSOLE_ROLES):
        raise Forbidden("the trust-and-safety console is for analysts and admins")
    return principal


AnalystDep = Annotated[Principal, Depends(as_analyst)]


# What the warehouse's DateTime64 holds; anything outside is a mistake, not a query.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(f"{name}: give a timezone (e.g. 2026-12-07T10:00:00Z)")
        if value is not None and not EARLIEST <= value < LATEST:
            raise Unprocessable(f"{name}: must be between {EARLIEST.date()} and {LATEST.date()}")
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=24)
    if start >= end:
        raise Unprocessable("since: must be before until")
    return start, end


async def in_room(state: AppState, principal: Principal, room_id: str) -> Acting:
    room: Room = await state.rooms.require(room_id)
    return Acting(room, principal, staff_acting(principal).role)


# -- the hold queue -------------------------------------------------------------------------


@router.get("/queue")
async def queue(state: StateDep, analyst: AnalystDep, limit: Limit = 100) -> dict[str, Any]:
    """Undecided holds in every room, newest first: chat AutoMod held and gifts fraud held."""
    chats = [chat_item(h) for h in await state.chat_holds.recent(limit)]
    gifts = [gift_item(g, at) for g, at in await state.holds.recent(limit)]
    items = sorted(chats + gifts, key=lambda item: item["held_at"], reverse=True)[:limit]
    return {"items": items}


@router.post("/queue/chat/{message_id}/{decision}")
async def decide_chat(
    message_id: uuid.UUID,
    decision: Literal["approve", "deny", "delete"],
    state: StateDep,
    analyst: AnalystDep,
) -> dict[str, Any]:
    """approve: the room receives it; deny: its sender is told; delete: denied and removed
    wherever it was kept. The first decision stands; a later one is 409 naming who made it."""
    held = await state.chat_holds.find(message_id)
    acting = await in_room(state, analyst, held.message.room_id)
    result = await decide_chat_hold(state, acting, message_id, approve=decision == "approve")
    if decision == "delete":
        result = await delete_held_message(state, acting, message_id, "deleted from the console")
    return {**result, "decision": decision, "message_id": str(message_id)}


@router.post("/queue/gift/{gift_id}/{decision}")
async def decide_gift(
    gift_id: uuid.UUID, decision: Literal["approve", "deny"], state: StateDep, analyst: AnalystDep
) -> dict[str, Any]:
    """approve: settled like any gift (funds still checked); deny: rejected, the sender told.
    The first decision stands; a later one is 409 naming who made it."""
    return await decide_gift_hold(gift_id, "approved" if decision == "approve" else "denied", state, analyst)


# -- users ----------------------------------------------------------------------------------


class UserAction(_Body):
    room_id: RoomId | None = Field(
        default=None, description="The room to act in; none for a platform-wide ban (ban only)."
    )
    reason: Reason = ""


class UserTimeout(_Body):
    room_id: RoomId
    duration_s: int = Field(ge=1, le=14 * 24 * 3600)
    reason: Reason = ""


@router.post("/users/{user_id}/ban")
async def ban_user(
    user_id: UserPath, body: UserAction, state: StateDep, analyst: AnalystDep
) -> dict[str, Any]:
    """In one room (``room_id``) or, without it, from every room on the platform."""
    if body.room_id is None:
        await state.platform_bans.set(user_id, True, analyst.user_id, body.reason)
        return await audit(
            state, staff_acting(analyst), ModerationKind.PLATFORM_BAN, target=user_id, reason=body.reason
        )
    acting = await in_room(state, analyst, body.room_id)
    if user_id == acting.room.creator_id:
        raise Conflict("the room's creator cannot be banned in their own room; ban them platform-wide")
    return await ban_in_room(state, acting, user_id, None, body.reason)


@router.delete("/users/{user_id}/ban")
async def lift_platform_ban(user_id: UserPath, state: StateDep, analyst: AnalystDep) -> dict[str, Any]:
    history = await state.platform_bans.history(user_id)
    if not history or not history[0].banned:
        raise NotFound(f"{user_id} is not banned from the platform")
    await state.platform_bans.set(user_id, False, analyst.user_id)
    return await audit(state, staff_acting(analyst), ModerationKind.PLATFORM_UNBAN, target=user_id)


@router.post("/users/{user_id}/timeout")
async def timeout_user(
    user_id: UserPath, body: UserTimeout, state: StateDep, analyst: AnalystDep
) -> dict[str, Any]:
    acting = await in_room(state, analyst, body.room_id)
    if user_id == acting.room.creator_id:
        raise Conflict("the room's creator cannot be timed out in their own room")
    return await ban_in_room(state, acting, user_id, body.duration_s, body.reason)


@router.get("/users/{user_id}")
async def user_view(user_id: UserPath, state: StateDep, analyst: AnalystDep) -> dict[str, Any]:
    """A user across rooms: recent messages, moderation history, gifts, top-ups, fraud signals,
    and their platform-wide ban."""
    sections = {
        "messages": "USER_MESSAGES",
        "moderation": "USER_MODERATION",
        "gifts": "USER_GIFTS",
        "topups": "USER_TOPUPS",
        "fraud_alerts": "USER_FRAUD",
    }
    found = await asyncio.gather(*(state.warehouse.rows(q, {"user_id": user_id}) for q in sections.values()))
    bans = await state.platform_bans.history(user_id)
    return {
        "user_id": user_id,
        "platform_banned": bool(bans and bans[0].banned),
        "platform_ban_history": [
            {"banned": b.banned, "by": b.actor_id, "reason": b.reason, "at": b.at} for b in bans
        ],
        **dict(zip(sections, found, strict=True)),
    }


# -- alerts ---------------------------------------------------------------------------------


@router.get("/alerts")
async def alerts(
    state: StateDep,
    analyst: AnalystDep,
    room_id: RoomQuery = None,
    user_id: UserQuery = None,
    rule: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    """Fraud alerts and moderation spikes (a room holding at least 3 messages in a minute and 3x
    its average minute of the hour before), newest first, each with its acknowledgement."""
    start, end = window(since, until)
    params = {
        "since": start,
        "until": end,
        "room_id": room_id or "",
        "user_id": user_id or "",
        "rule": rule or "",
        "limit": limit,
    }
    items = [alert_view(r) for r in await state.warehouse.rows("FRAUD_ALERTS", params)]
    if not user_id and rule in (None, "hold_spike"):
        spikes = await state.warehouse.rows("HOLD_SPIKES", {**params, "min_holds": 3})
        items += [spike_view(r) for r in spikes]
    items.sort(key=lambda a: a["occurred_at"], reverse=True)
    items = items[:limit]
    acks = await state.alert_acks.of([a["alert_id"] for a in items])
    for item in items:
        item["ack"] = acks.get(item["alert_id"])
    return {"items": items}


class AckBody(_Body):
    note: Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")] = ""


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(
    alert_id: Annotated[str, Field(max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$")],
    body: AckBody,
    state: StateDep,
    analyst: AnalystDep,
) -> dict[str, Any]:
    """Acknowledge an alert with a note, once: a second acknowledgement is 409 naming the first."""
    if not await alert_exists(state, alert_id):
        raise NotFound(f"no alert {alert_id}")
    first, recorded_now = await state.alert_acks.ack(alert_id, analyst.user_id, body.note)
    if recorded_now:
        await audit(
            state,
            staff_acting(analyst),
            ModerationKind.ACK_ALERT,
            params={"alert_id": alert_id},
            reason=body.note,
        )
    elif first["by"] != analyst.user_id or first["note"] != body.note:
        raise Conflict(f"alert {alert_id} was already acknowledged by {first['by']}", reason="already_acked")
    return {"alert_id": alert_id, "ack": first}


async def alert_exists(state: AppState, alert_id: str) -> bool:
    spike = parse_spike_id(alert_id)
    if spike is not None:
        room, minute = spike
        spikes = await state.warehouse.rows(
            "HOLD_SPIKES",
            {
                "since": minute,
                "until": minute + timedelta(minutes=1),
                "room_id": room,
                "min_holds": 3,
                "limit": 1,
            },
        )
        return bool(spikes)
    try:
        event_id = uuid.UUID(alert_id)
    except ValueError:
        return False
    found = await state.warehouse.rows("FRAUD_ALERT", {"event_id": event_id})
    return bool(found)


# -- the audit trail ------------------------------------------------------------------------


AUDIT_COLUMNS = [
    "occurred_at",
    "kind",
    "room_id",
    "actor_id",
    "actor_role",
    "target_user_id",
    "message_id",
    "duration_s",
    "reason",
    "params",
    "action_id",
]


@dataclass(frozen=True)
class AuditFilter:
    q: str | None
    actor_id: str | None
    kind: ModerationKind | None
    room_id: str | None
    since: datetime | None
    until: datetime | None


def audit_filter(
    q: Text | None = None,
    actor_id: UserQuery = None,
    kind: ModerationKind | None = None,
    room_id: RoomQuery = None,
    since: Since = None,
    until: Until = None,
) -> AuditFilter:
    """``q`` searches the reason, the target, the actor and the parameters."""
    return AuditFilter(q, actor_id, kind, room_id, since, until)


AuditDep = Annotated[AuditFilter, Depends(audit_filter)]


async def _audit_rows(state: AppState, f: AuditFilter, limit: int) -> list[dict[str, Any]]:
    start, end = window(f.since, f.until)
    return await state.warehouse.rows(
        "AUDIT",
        {
            "since": start,
            "until": end,
            "q": f.q or "",
            "actor_id": f.actor_id or "",
            "kind": f.kind.value if f.kind else "",
            "room_id": f.room_id or "",
            "limit": limit,
        },
    )


@router.get("/audit")
async def audit_trail(
    state: StateDep, analyst: AnalystDep, filters: AuditDep, limit: Limit = 200
) -> dict[str, Any]:
    """Every moderation and fraud action (who, when, what, why), newest first."""
    return {"items": await _audit_rows(state, filters, limit)}


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}},
)
async def audit_csv(
    state: StateDep,
    analyst: AnalystDep,
    filters: AuditDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The same trail as CSV (a header row, then one row per action)."""
    rows = await _audit_rows(state, filters, limit)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


# -- charts ---------------------------------------------------------------------------------


@router.get("/charts")
async def charts(
    state: StateDep, analyst: AnalystDep, hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24
) -> dict[str, Any]:
    """Series for the console's charts over the last ``hours``: holds per minute, actions per
    hour by kind, fraud alerts by rule, and the most-flagged rooms."""
    params = {"since": datetime.now(UTC) - timedelta(hours=hours)}
    return {
        "holds_per_minute": await state.warehouse.rows("HOLDS_PER_MINUTE", params),
        "actions_per_hour": await state.warehouse.rows("ACTIONS_PER_HOUR", params),
        "fraud_alerts_by_rule": await state.warehouse.rows("FRAUD_BY_RULE", params),
        "flagged_rooms": await state.warehouse.rows("FLAGGED_ROOMS", params),
    }
