"""``python -m ops trace EVENT_ID``: one event's path across the platform's processes.

The event's row in the warehouse names its trace (``_trace_id``, from the ``traceparent`` its
Kafka record carried); every row of that trace, in any raw table, is one hop: which process
produced what, when, and how long after the previous hop. A gift shows its request (the API),
its fraud alert if a rule fired, and its settlement (the worker).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warehouse.schema import RAW_TABLES


@dataclass(frozen=True)
class Hop:
    table: str
    event_type: str
    event_id: str
    producer: str
    occurred_at: datetime
    ingested_at: datetime


def _union(select: str, where: str) -> str:
    return " UNION ALL ".join(
        f"SELECT '{t.name}' AS tbl, {select} FROM {t.name} WHERE {where}" for t in RAW_TABLES
    )


def find_trace(client: Any, event_id: uuid.UUID) -> tuple[str, list[Hop]]:
    """The trace id of ``event_id`` and every hop of that trace, in time order ('' if untraced)."""
    rows = client.query(
        f"SELECT _trace_id FROM ({_union('_trace_id', 'event_id = {id:UUID}')}) LIMIT 1",
        parameters={"id": event_id},
    ).result_rows
    if not rows or not rows[0][0]:
        return "", []
    trace_id = str(rows[0][0])
    hops = client.query(
        f"SELECT * FROM ({_union('event_type, toString(event_id), producer, occurred_at, _ingested_at', '_trace_id = {t:String}')})"
        " ORDER BY occurred_at, _ingested_at",
        parameters={"t": trace_id},
    ).result_rows
    return trace_id, [Hop(*row) for row in hops]


def render(trace_id: str, hops: list[Hop]) -> str:
    lines = [f"trace {trace_id}: {len(hops)} hop{'s' if len(hops) != 1 else ''}"]
    previous: datetime | None = None
    for hop in hops:
        since = "" if previous is None else f"+{(hop.occurred_at - previous).total_seconds() * 1000:,.0f} ms"
        stored = (hop.ingested_at - hop.occurred_at).total_seconds() * 1000
        lines.append(
            f"  {hop.occurred_at:%H:%M:%S.%f}"[:-3]
            + f"  {since:>10}  {hop.producer:<16} {hop.event_type:<24} {hop.table:<16} in warehouse after {stored:,.0f} ms"
        )
        previous = hop.occurred_at
    return "\n".join(lines)
