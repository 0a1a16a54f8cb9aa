"""Ids in paths and query strings, checked like the same ids in bodies and events (a bad one is
a 422 naming the parameter, never a lookup, a store key or a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from streams.contracts.base import NAME_PATTERN

_ID = {"min_length": 1, "max_length": 64, "pattern": NAME_PATTERN}

RoomPath = Annotated[str, Path(description="A room id.", **_ID)]
UserPath = Annotated[str, Path(description="A user id.", **_ID)]
StreamPath = Annotated[str, Path(description="A stream id.", **_ID)]
UserQuery = Annotated[str | None, Query(description="A user id.", **_ID)]
RoomQuery = Annotated[str | None, Query(description="A room id.", **_ID)]
