"""The console's live feed: the Socket.IO namespace ``/console``, analysts and admins only.

Every hold and every decision on one is a PostgreSQL notification (``console_holds``, from a
trigger on both hold tables, migration 0014). Each gateway node listens once and sends what it
hears to the analysts connected to it: ``hold`` (a new item, in the queue's shape) and
``decided`` (kind, id, decision, decided_by), so a second analyst's queue drops an item the
moment the first one decides it. Sent per socket, so each analyst gets it once whatever the
number of nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import socketio
import structlog

from serving.api.state import AppState
from serving.auth.tokens import verify
from serving.console.routes import CONSOLE_ROLES
from serving.console.views import chat_item, gift_item
from serving.exceptions import ApiProblem
from streams.bus.retry import Backoff
from streams.rooms.holds import UnknownHold

log = structlog.get_logger(__name__)
CHANNEL = "console_holds"


class ConsoleNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self, state: Callable[[], AppState]) -> None:
        super().__init__("/console")
        self._state = state
        self._analysts: dict[str, float] = {}  # sid -> token expiry
        self._listener: asyncio.Task[None] | None = None

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> None:
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        if not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "authentication required: connect with auth={token}"
            )
        state = self._state()
        try:
            principal = verify(state.settings.auth.token_secret.get_secret_value(), str(token))
        except ApiProblem as err:
            raise socketio.exceptions.ConnectionRefusedError(f"authentication failed: {err.detail}") from None
        if not principal.has(*CONSOLE_ROLES):
            raise socketio.exceptions.ConnectionRefusedError(
                "forbidden: the console is for analysts and admins"
            )
        self._analysts[sid] = principal.expires_at
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        self._analysts.pop(sid, None)

    async def _listen(self) -> None:
        """LISTEN for holds while analysts are connected here; reconnect with backoff."""
        backoff = Backoff(first_s=0.2, max_s=5.0)
        while self._analysts:
            try:
                dsn = self._state().settings.postgres.dsn()
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    backoff.reset()
                    while self._analysts:  # the timeout only lets the loop see who is left
                        async for note in conn.notifies(timeout=5.0):
                            await self._relay(json.loads(note.payload))
            except (psycopg.Error, OSError) as err:
                log.warning("console_listen_failed", error=str(err)[:200])
                await asyncio.sleep(backoff.next())

    async def _relay(self, note: dict[str, Any]) -> None:
        now = time.time()
        for sid, expires in list(self._analysts.items()):
            if expires <= now:  # a console lives no longer than its token
                self._analysts.pop(sid, None)
                with contextlib.suppress(Exception):
                    await self.disconnect(sid)
        if not self._analysts:
            return
        if note.get("decision"):
            event, payload = "decided", note
        else:
            item = await self._item(note["kind"], uuid.UUID(note["id"]))
            if item is None:
                return
            event, payload = "hold", item
        for sid in list(self._analysts):
            await self.emit(event, payload, to=sid)

    async def _item(self, kind: str, item_id: uuid.UUID) -> dict[str, Any] | None:
        state = self._state()
        if kind == "chat":
            try:
                return chat_item(await state.chat_holds.find(item_id))
            except UnknownHold:
                return None
        found = await state.holds.find(item_id)
        return gift_item(found[0], found[1]) if found is not None else None
