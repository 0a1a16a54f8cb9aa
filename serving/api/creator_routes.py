"""What the apps show around gifts and earnings: the gift catalog (public: prices come from the
server, never from the page) and a creator's statements (the CSV and Parquet files the payout
job writes per creator and day, served only to that creator, finance and admins)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from serving.api.params import UserPath
from serving.api.state import PrincipalDep, StateDep, require_self_or
from serving.exceptions import NotFound
from streams.contracts.base import Role
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
