"""Synthetic canary: a probe travels the whole platform and proves every store answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from streams.contracts.base import Event, Identifier, NoNul


class PlatformProbe(Event):
    event_type: Literal["ops.probe"] = "ops.probe"
    schema_version: Literal[1] = 1
    run_id: Identifier = Field(description="Groups the probes of one canary or demo run.")
    seq: int = Field(ge=0)
    note: Annotated[str, StringConstraints(max_length=200), NoNul] = ""
