"""Socket.IO events of a gateway node. Each handler validates, stamps the event id, produces to
Kafka (waiting for the broker, without blocking the loop) and acknowledges the sender with
``{"ok": true, ...}`` or ``{"ok": false, "reason": ...}`` (``"unavailable"`` with
``retry_after_ms`` when the broker, database or cache does not answer).

Connect with ``auth={"token": "<bearer token>"}``; without a valid token the connection is
refused. Events: ``join`` {room_id, last_message_id?}, ``leave`` {room_id}, ``chat`` {room_id, text},
``react`` {room_id, reaction}, ``send_gift`` {room_id, creator_id, gift_sku, quantity, client_id}.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import socketio
import structlog
from fastapi import FastAPI
from pydantic import ValidationError

from serving.api.models import GiftBody
from serving.api.state import AppState
from serving.auth.tokens import verify
from serving.console.namespace import ConsoleNamespace
from serving.exceptions import ApiProblem, TooManyRequests
from serving.gateway.limits import TokenBucket
from serving.gateway.recovery import RecoveringRedisManager
from serving.metrics import SOCKET_EVENTS, SOCKET_ROOMS, SOCKET_SECONDS, SOCKETS_CONNECTED
from streams.bus.retry import TRANSIENT
from streams.contracts.base import Event, Role
from streams.contracts.chat import ChatMessageSubmitted
from streams.contracts.codec import describe, from_json_values
from streams.contracts.presence import LeaveReason, PresenceJoined, PresenceLeft
from streams.contracts.reactions import ReactionSubmitted
from streams.fanout.ports import moderators_room, user_room
from streams.gifts.requests import GiftOrder, GiftRefused, request_gift
from streams.metrics import series
from streams.settings import RoomSettings
from streams.tracing import traced

log = structlog.get_logger(__name__)

REACTIONS_PER_S = 20.0
REACTIONS_BURST = 40.0


ROLE_PRIORITY = (Role.ADMIN, Role.MODERATOR, Role.CREATOR, Role.VIEWER)

E = TypeVar("E", bound=Event)


Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]
Method = Callable[[Any, str, Any], Awaitable[dict[str, Any]]]
SessionMethod = Callable[[Any, str, Any, dict[str, Any]], Awaitable[dict[str, Any]]]


def refuse(reason: str) -> dict[str, Any]:
    return {"ok": False, "reason": reason}


REASON_CODE = re.compile(r"[a-z_]{1,32}")


def outcome_of(ack: dict[str, Any]) -> str:
    """An ack as a metric label: ``ok``, a reason code (``rate_limited``, ``unavailable``), or
    ``refused`` for a reason worded for the user (one label per sentence would never end)."""
    if ack.get("ok"):
        return "ok"
    reason = str(ack.get("reason", ""))
    return reason if REASON_CODE.fullmatch(reason) else "refused"


def outage(event: str, err: Exception) -> dict[str, Any]:
    """The ack for a broker, database or cache that did not answer: the client may retry."""
    log.warning("socket_event_unavailable", socket_event=event, error=str(err)[:300])
    return {"ok": False, "reason": "unavailable", "retry_after_ms": 2000}


def acks_outages(handler: Handler) -> Handler:
    """A broker, database or cache that does not answer is acknowledged as such (the client may
    retry) instead of leaving the client's ack to time out."""

    @functools.wraps(handler)
    async def run(sid: str, data: Any) -> dict[str, Any]:
        try:
            return await handler(sid, data)
        except TRANSIENT as err:
            return outage(handler.__name__, err)

    return run


def client_event(method: SessionMethod) -> Method:
    """A client event, given the socket's session (read once here): refused with
    ``token_expired`` once the socket's token has expired, and an outage acknowledged as such
    (:func:`acks_outages`)."""

    event = method.__name__.removeprefix("on_")

    @functools.wraps(method)
    async def run(self: GatewayNamespace, sid: str, data: Any) -> dict[str, Any]:
        started = time.monotonic()
        with (
            traced(name=f"socket {event}") as trace_id,
            structlog.contextvars.bound_contextvars(socket_event=event, trace_id=trace_id),
        ):
            ack = await _acknowledge(self, sid, data)
        series(SOCKET_EVENTS, event, outcome_of(ack)).inc()
        series(SOCKET_SECONDS, event).observe(time.monotonic() - started)
        return ack

    async def _acknowledge(self: GatewayNamespace, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        if session.get("expires_at", 0) <= time.time():
            self._end(sid)
            return refuse("token_expired")
        try:
            return await method(self, sid, data, session)
        except TRANSIENT as err:
            return outage(method.__name__, err)

    return run


class GatewayNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace, one method per client event (``on_<event>``): each parses, calls
    the platform and maps the outcome to an ack. ``node_id`` names the node (logs, producer);
    ``instance`` is this process's presence identity (a restarted node is a new instance: its
    predecessor's connections expire)."""

    def __init__(
        self,
        state: Callable[[], AppState],
        manager: RecoveringRedisManager,
        limits: RoomSettings,
        node_id: str,
        instance: str,
    ) -> None:
        super().__init__("/")
        self._state = state
        self._manager = manager
        self._limits = limits
        self._node_id = node_id
        self._instance = instance
        # A socket lives no longer than the token it connected with: it is disconnected when
        # the token expires (the client reconnects with a fresh one), and an event that races
        # the timer is refused with ``token_expired``.
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        self._ending: set[asyncio.Task[None]] = set()
        SOCKET_ROOMS.set_function(self._rooms_held)

    def _rooms_held(self) -> int:
        """Named rooms with a socket here (python-socketio also keeps one room per socket)."""
        rooms = self._manager.rooms.get("/", {})
        sockets = rooms.get(None, {})
        return sum(1 for name in rooms if name is not None and name not in sockets)

    @property
    def state(self) -> AppState:
        return self._state()

    def _end(self, sid: str) -> None:
        task = asyncio.get_running_loop().create_task(self.disconnect(sid))
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        if not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "authentication required: connect with auth={token}"
            )
        try:
            principal = verify(self.state.settings.auth.token_secret.get_secret_value(), str(token))
        except ApiProblem as err:
            try:
                await self.state.auth_limits.hit("failed", str(environ.get("REMOTE_ADDR", "unknown")))
            except TooManyRequests as limited:
                raise socketio.exceptions.ConnectionRefusedError(f"rate_limited: {limited.detail}") from None
            raise socketio.exceptions.ConnectionRefusedError(f"authentication failed: {err.detail}") from None
        await self.enter_room(sid, user_room(principal.user_id))
        await self.save_session(
            sid,
            {
                "user_id": principal.user_id,
                "roles": sorted(r.value for r in principal.roles),
                "rooms": [],
                "bucket": TokenBucket(self._limits.socket_chat_per_s, self._limits.socket_chat_burst),
                "reactions": TokenBucket(REACTIONS_PER_S, REACTIONS_BURST),
                "expires_at": principal.expires_at,
            },
        )
        delay = max(0.0, principal.expires_at - time.time())
        self._expiry_timers[sid] = asyncio.get_running_loop().call_later(delay, self._end, sid)
        SOCKETS_CONNECTED.inc()

    async def _left(self, sid: str, user_id: str, room: str, reason: LeaveReason) -> None:
        await self.state.producer.send(
            PresenceLeft(
                room_id=room,
                user_id=user_id,
                session_id=f"s{sid}",
                node_id=self._instance,
                reason=reason,
                producer=self._node_id,
            )
        )

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        SOCKETS_CONNECTED.dec()
        timer = self._expiry_timers.pop(sid, None)
        if timer is not None:
            timer.cancel()
        session = await self.get_session(sid)
        for room in session.get("rooms", []):
            await self._left(sid, session["user_id"], room, LeaveReason.DISCONNECTED)

    @client_event
    async def on_join(self, sid: str, data: Any, session: dict[str, Any]) -> dict[str, Any]:
        """``{room_id, last_message_id?}``: with the id of the last message seen, the socket first
        receives what it missed (``chat`` events, in order, once), then live events."""
        if not isinstance(data, dict):
            return refuse("send an object: {room_id, last_message_id?}")
        last = data.get("last_message_id")
        if last is not None and not (isinstance(last, str) and 0 < len(last) <= 64):
            return refuse("last_message_id: the id of the last chat message you received")
        try:
            event = from_json_values(
                PresenceJoined,
                room_id=data.get("room_id"),
                user_id=session["user_id"],
                session_id=f"s{sid}",
                node_id=self._instance,
                producer=self._node_id,
            )
        except ValidationError as err:
            return refuse(describe(err))
        room = await self.state.rooms.get(event.room_id)
        if room is None:
            return refuse(f"there is no room {event.room_id}")
        if room.closed:
            return refuse(f"room {event.room_id} is closed")
        if last is not None:
            self._manager.hold(room.room_id, sid)
        await self.enter_room(sid, room.room_id)
        if room.is_privileged(session["user_id"], admin=Role.ADMIN.value in session["roles"]):
            await self.enter_room(sid, moderators_room(room.room_id))
        session["rooms"] = sorted({*session["rooms"], room.room_id})
        await self.save_session(sid, session)
        await self.state.producer.send(event)
        if last is None:
            return {"ok": True, "room_id": room.room_id}

        async def send(name: str, payload: Any) -> None:
            await self.emit(name, payload, to=sid, ignore_queue=True)

        recovery = await self.state.history.since(room.room_id, last)
        for message in recovery.messages:
            await send("chat", message)
        await self._manager.release(room.room_id, sid, recovery.head_seq, send)
        return {
            "ok": True,
            "room_id": room.room_id,
            "recovered": recovery.recovered,
            "missed": len(recovery.messages),
        }

    @client_event
    async def on_leave(self, sid: str, data: Any, session: dict[str, Any]) -> dict[str, Any]:
        room = data.get("room_id") if isinstance(data, dict) else None
        if not isinstance(room, str) or room not in session["rooms"]:
            return refuse("not in that room")
        await self.leave_room(sid, room)
        await self.leave_room(sid, moderators_room(room))
        session["rooms"] = [r for r in session["rooms"] if r != room]
        await self.save_session(sid, session)
        await self._left(sid, session["user_id"], room, LeaveReason.LEFT)
        return {"ok": True}

    @client_event
    async def on_chat(self, sid: str, data: Any, session: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data, dict):
            return refuse("send an object: {room_id, text}")
        if data.get("room_id") not in session["rooms"]:
            return refuse("join the room before chatting in it")
        wait = session["bucket"].take(time.monotonic())
        if wait:
            return {"ok": False, "reason": "rate_limited", "retry_after_ms": int(wait * 1000)}
        roles = set(session["roles"])
        role = next((r for r in ROLE_PRIORITY if r.value in roles), Role.VIEWER)
        try:
            event = from_json_values(
                ChatMessageSubmitted,
                message_id=uuid.uuid4(),
                room_id=data.get("room_id"),
                user_id=session["user_id"],
                user_role=role.value,
                text=data.get("text"),
                producer=self._node_id,
            )
        except ValidationError as err:
            return refuse(describe(err))
        await self.state.producer.send(event)
        return {"ok": True, "message_id": str(event.message_id), "event_id": str(event.event_id)}

    @client_event
    async def on_react(self, sid: str, data: Any, session: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("room_id") not in session["rooms"]:
            return refuse("join the room before reacting in it")
        wait = session["reactions"].take(time.monotonic())
        if wait:
            return {"ok": False, "reason": "rate_limited", "retry_after_ms": int(wait * 1000)}
        try:
            event = from_json_values(
                ReactionSubmitted,
                room_id=data.get("room_id"),
                user_id=session["user_id"],
                reaction=data.get("reaction"),
                producer=self._node_id,
            )
        except ValidationError as err:
            return refuse(describe(err))
        await self.state.producer.send(event)
        return {"ok": True}

    @client_event
    async def on_send_gift(self, sid: str, data: Any, session: dict[str, Any]) -> dict[str, Any]:
        """Like POST /v1/gifts (the same ``request_gift``): ``client_id`` is the idempotency key
        (a resend is the same gift); the socket must have joined the room."""
        client_id = data.get("client_id") if isinstance(data, dict) else None
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 255:
            return refuse("send {room_id, creator_id, gift_sku, quantity, client_id}")
        try:
            body = from_json_values(
                GiftBody,
                **{k: data[k] for k in ("room_id", "creator_id", "gift_sku", "quantity") if k in data},
            )
        except ValidationError as err:
            return refuse(describe(err))
        if body.room_id not in session["rooms"]:
            return refuse("join the room before sending a gift in it")
        order = GiftOrder(
            sender_id=session["user_id"],
            creator_id=body.creator_id,
            room_id=body.room_id,
            gift_sku=body.gift_sku,
            quantity=body.quantity,
            idempotency_key=client_id,
        )
        try:
            event = await request_gift(order, self.state.rooms, self.state.producer, self._node_id)
        except GiftRefused as refused:
            return refuse(refused.detail)
        return {"ok": True, "gift_id": str(event.gift_id), "total_coins": event.total_coins}


def register(
    sio: socketio.AsyncServer,
    api: FastAPI,
    manager: RecoveringRedisManager,
    limits: RoomSettings,
    node_id: str,
    instance: str,
) -> GatewayNamespace:
    """The gateway's events on ``sio``, against the API app's platform state."""

    def state() -> AppState:
        current: AppState = api.state.platform
        return current

    namespace = GatewayNamespace(state, manager, limits, node_id, instance)
    sio.register_namespace(namespace)
    sio.register_namespace(ConsoleNamespace(state))
    return namespace
