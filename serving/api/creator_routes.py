"""What the apps show around gifts and earnings: the gift catalog (public: prices come from the
server, never from the page) and a creator's statements (the CSV and Parquet files the payout
job writes per creator and day, served only to that creator, finance and admins)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from serving.api.params import UserPath
from serving.api.state import PrincipalDep, StateDep, require_self_or
from serving.exceptions import NotFound
from streams.contracts.base import NAME_PATTERN, Role
from streams.gifts.catalog import DEFAULT_CATALOG

router = APIRouter(prefix="/v1", tags=["creators"])
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


@router.get("/gifts/catalog", tags=["gifts"])
async def catalog() -> dict[str, Any]:
    """Every gift that can be sent and its price in coins, cheapest first."""
    return {
        "items": [
            {"sku": sku, "coins": coins} for sku, coins in sorted(DEFAULT_CATALOG.items(), key=lambda i: i[1])
        ]
    }


@router.get("/creators/{creator_id}/statements")
async def statements(creator_id: UserPath, state: StateDep, principal: PrincipalDep) -> dict[str, Any]:
    """The days the payout job wrote a statement for this creator, newest first."""
    require_self_or(principal, creator_id, Role.FINANCE, Role.ADMIN)
    root = state.settings.finance.statements_dir
    days = (
        sorted(
            (
                folder.name
                for folder in root.iterdir()
                if DAY.match(folder.name) and (folder / f"{creator_id}.csv").exists()
            ),
            reverse=True,
        )
        if root.exists()
        else []
    )
    return {
        "creator_id": creator_id,
        "items": [
            {
                "day": day,
                "csv": f"/v1/creators/{creator_id}/statements/{day}.csv",
                "parquet": f"/v1/creators/{creator_id}/statements/{day}.parquet",
            }
            for day in days
        ],
    }


@router.get(
    "/creators/{creator_id}/statements/{day}.{fmt}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in MEDIA_TYPES.values()}
        }
    },
)
async def statement_file(
    creator_id: UserPath,
    day: date,
    fmt: Annotated[Literal["csv", "parquet"], Path(description="csv or parquet")],
    state: StateDep,
    principal: PrincipalDep,
) -> FileResponse:
    """One day's statement as finance wrote it: every gift earned that day and the payout."""
    require_self_or(principal, creator_id, Role.FINANCE, Role.ADMIN)
    path = state.settings.finance.statements_dir / day.isoformat() / f"{creator_id}.{fmt}"
    if not path.is_file():
        raise NotFound(f"no statement for {creator_id} on {day.isoformat()}")
    return FileResponse(
        path, media_type=MEDIA_TYPES[fmt], filename=f"statement-{creator_id}-{day.isoformat()}.{fmt}"
    )


@router.get("/creators/{creator_id}/studio")
async def studio(
    creator_id: UserPath,
    state: StateDep,
    principal: PrincipalDep,
    stream_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NAME_PATTERN)] = None,
    minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 5,
) -> dict[str, Any]:
    """The creator studio's figures: their streams (one per room), earnings per day for 30 days
    from the warehouse and, with
    ``stream_id`` (one of theirs), the last ``minutes`` of that stream: startup, rebuffering and
    latency of its viewers, chat messages, gifts and coins, peak viewers."""
    require_self_or(principal, creator_id, Role.FINANCE, Role.ADMIN)
    days = await state.warehouse.rows("CREATOR_EARNINGS_DAYS", {"creator_id": creator_id, "days": 30})
    streams = [
        {"stream_id": s.stream_id, "room_id": s.room_id, "watch_url": f"/watch/{s.stream_id}"}
        for s in await state.stream_keys.streams_of(creator_id)
    ]
    result: dict[str, Any] = {"creator_id": creator_id, "streams": streams, "earnings": days}
    if stream_id is not None:
        stream = await state.stream_keys.stream(stream_id)
        if stream is None or stream.creator_id != creator_id:
            raise NotFound(f"{creator_id} has no stream {stream_id}")
        (live,) = await state.warehouse.rows(
            "STREAM_LIVE_STATS", {"stream_id": stream_id, "room_id": stream.room_id, "minutes": minutes}
        )
        result["live"] = {"stream_id": stream_id, "room_id": stream.room_id, "minutes": minutes, **live}
    return result
