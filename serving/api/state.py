"""What the API's routes need, built once by the composition root and reached through typed
dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from serving.api.auth_limits import AuthLimits, client_address
from serving.api.idempotency import IdempotencyStore
from serving.api.warehouse_reads import WarehouseReads
from serving.auth.tokens import Principal, verify
from serving.exceptions import Forbidden, Unauthorized
from streams.accounts.passwords import Passwords
from streams.accounts.signin import AccountStore
from streams.broadcast.keys import StreamKeys
from streams.broadcast.playback import PlaybackSessions
from streams.bus.producer import EventProducer
from streams.contracts.base import Role
from streams.fraud.alert_acks import AlertAcks
from streams.fraud.counters import RedisCounters
from streams.fraud.rules import TopUpConfig
from streams.gifts.holds import GiftHolds
from streams.ledger.store import PostgresLedger
from streams.rooms.directory import RoomDirectory
from streams.rooms.history import ChatHistory
from streams.rooms.holds import ChatHolds
from streams.rooms.platform_bans import PlatformBans
from streams.rooms.presence import PresenceBoard
from streams.settings import Settings
from streams.wallet.store import PostgresTopUps


@dataclass
class AppState:
    settings: Settings
    pool: AsyncConnectionPool
    ledger: PostgresLedger
    producer: EventProducer
    idempotency: IdempotencyStore
    counters: RedisCounters
    holds: GiftHolds
    topup_rules: TopUpConfig
    redis: Redis
    rooms: RoomDirectory
    chat_holds: ChatHolds
    history: ChatHistory
    presence: PresenceBoard
    stream_keys: StreamKeys
    playback: PlaybackSessions
    auth_limits: AuthLimits
    topups: PostgresTopUps
    platform_bans: PlatformBans
    alert_acks: AlertAcks
    warehouse: WarehouseReads
    accounts: AccountStore
    passwords: Passwords


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.platform
    return state


StateDep = Annotated[AppState, Depends(get_state)]


# Declares bearer security in the OpenAPI document for every route that depends on the principal;
# the errors stay ours (auto_error=False).
BEARER = HTTPBearer(scheme_name="bearer", auto_error=False)


async def current_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> Principal:
    if credentials is None:
        raise Unauthorized("send a bearer token: Authorization: Bearer <token>")
    try:
        return verify(state.settings.auth.token_secret.get_secret_value(), credentials.credentials.strip())
    except Unauthorized:
        await state.auth_limits.hit("failed", client_address(request))
        raise


PrincipalDep = Annotated[Principal, Depends(current_principal)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def require_self_or(principal: Principal, user_id: str, *roles: Role) -> None:
    """A user sees their own money; the given roles (finance, admin) see everyone's."""
    if principal.user_id != user_id and not principal.has(*roles):
        raise Forbidden(f"{principal.user_id} may not see {user_id}'s money")
