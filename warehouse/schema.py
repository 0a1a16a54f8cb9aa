"""ClickHouse raw tables derived from the event contracts: one source of truth.

Each raw table names the contract events it stores; its columns are the union of their
fields, typed for analytics (``LowCardinality`` for repeated labels, ``DateTime64(3, 'UTC')``
for instants, ``Enum8`` for closed sets, ``Nullable`` where a field is optional or absent in
one of the table's events), plus the sink's own columns (``_topic``, ``_partition``,
``_offset``, ``_ingested_at``). ``python -m warehouse ddl`` prints the CREATE statements a
migration starts from; an integration test compares the live tables with
``expected_columns`` so a contract change without its migration fails.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import AwareDatetime, BaseModel

from streams.contracts.base import Event
from streams.contracts.chat import (
    ChatMessageAccepted,
    ChatMessageDeleted,
    ChatMessageHeld,
    ChatMessageRejected,
    ChatMessageSubmitted,
)
from streams.contracts.fraud import FraudAlert
from streams.contracts.gifts import GiftRejected, GiftRequested, GiftSettled
from streams.contracts.ledger import LEDGER_OUTBOX, LedgerPosted
from streams.contracts.lifecycle import StreamEnded, StreamLadder, StreamStarted
from streams.contracts.moderation import ModerationAction
from streams.contracts.ops import OpsAlert
from streams.contracts.payouts import PayoutFailed, PayoutPaid, PayoutPending
from streams.contracts.presence import PresenceJoined, PresenceLeft, RoomOccupancy
from streams.contracts.qos import PlaybackBeacon
from streams.contracts.reactions import ReactionBurst, ReactionSubmitted
from streams.contracts.wallet import TopUpCaptured, TopUpFailed, TopUpPending, TopUpRefunded
from streams.topics import TOPICS

SINK_COLUMNS: dict[str, str] = {
    "_topic": "LowCardinality(String)",
    "_partition": "UInt16",
    "_offset": "UInt64",
    "_trace_id": "String DEFAULT ''",
    "_ingested_at": "DateTime64(3, 'UTC') DEFAULT now64(3)",
}

# Labels that repeat a lot: dictionary-encoded. Everything else string-typed stays String.
LOW_CARDINALITY = {
    "event_type",
    "producer",
    "room_id",
    "node_id",
    "gift_sku",
    "currency",
    "rule",
    "cid",
    "rendition",
    "creator_id",
    "stream_id",
    "epoch",
    "error_code",
    "asset",
    "reference_kind",
    "alertname",
    "severity",
    "owner",
}


@dataclass(frozen=True)
class RawTable:
    name: str
    events: tuple[type[Event], ...]
    order_by: tuple[str, ...]
    ttl_days: int | None = None
    description: str = ""
    json_columns: frozenset[str] = field(default_factory=frozenset)
    producers: frozenset[str] = field(default_factory=frozenset)
    """The only producers whose events this table takes (empty: any). The sink dead-letters the
    others: a stray publisher to a money topic must not become earnings in the warehouse."""

    def key(self) -> str:
        return ", ".join((*self.order_by, "event_id"))


RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        "chat_events",
        (ChatMessageSubmitted, ChatMessageAccepted, ChatMessageHeld, ChatMessageRejected, ChatMessageDeleted),
        order_by=("room_id", "event_type", "occurred_at"),
        ttl_days=180,
        description="Every chat message as submitted, and what moderation decided (accepted, held, rejected) or deleted.",
    ),
    RawTable(
        "reactions",
        (ReactionSubmitted,),
        order_by=("room_id", "occurred_at"),
        ttl_days=90,
        description="Every reaction tap.",
    ),
    RawTable(
        "reaction_bursts",
        (ReactionBurst,),
        order_by=("room_id", "occurred_at"),
        ttl_days=90,
        description="Reactions coalesced per room over ~250 ms windows, as sent to clients.",
    ),
    RawTable(
        "presence_events",
        (PresenceJoined, PresenceLeft),
        order_by=("room_id", "occurred_at"),
        ttl_days=180,
        description="Viewers joining and leaving rooms, per gateway node.",
    ),
    RawTable(
        "room_occupancy",
        (RoomOccupancy,),
        order_by=("room_id", "occurred_at"),
        ttl_days=180,
        description="Occupancy snapshots per room (at most every ~2 s while it changes).",
    ),
    RawTable(
        "gift_events",
        (GiftRequested, GiftSettled, GiftRejected),
        order_by=("creator_id", "event_type", "occurred_at"),
        description="Gift funnel: requested, then settled (with the ledger split) or rejected (with the reason).",
    ),
    RawTable(
        "topups",
        (TopUpPending, TopUpCaptured, TopUpFailed, TopUpRefunded),
        order_by=("event_type", "occurred_at"),
        description="Wallet top-up lifecycle: pending, captured or failed, refunded or charged back.",
    ),
    RawTable(
        "ledger_postings",
        (LedgerPosted,),
        order_by=("kind", "occurred_at"),
        description="Every ledger transfer leg, published from the PostgreSQL outbox (one row per transfer id).",
        producers=frozenset({LEDGER_OUTBOX}),
    ),
    RawTable(
        "payouts",
        (PayoutPending, PayoutPaid, PayoutFailed),
        order_by=("creator_id", "occurred_at"),
        description="Creator payout lifecycle: pending, paid or failed.",
    ),
    RawTable(
        "qos_beacons",
        (PlaybackBeacon,),
        order_by=("cid", "occurred_at"),
        ttl_days=90,
        description="Player QoS beacons (CMCD v2 names) per playback session.",
    ),
    RawTable(
        "stream_lifecycle",
        (StreamStarted, StreamEnded, StreamLadder),
        order_by=("stream_id", "occurred_at"),
        description="Live streams started, their ABR ladder, and how they ended.",
        json_columns=frozenset({"renditions"}),
    ),
    RawTable(
        "moderation_actions",
        (ModerationAction,),
        order_by=("room_id", "occurred_at"),
        description="The moderation audit trail: who did what to whom, in which room.",
        json_columns=frozenset({"params"}),
    ),
    RawTable(
        "fraud_alerts",
        (FraudAlert,),
        order_by=("rule", "occurred_at"),
        description="Every fraud rule hit, enforced or shadow.",
    ),
    RawTable(
        "ops_alerts",
        (OpsAlert,),
        order_by=("alertname", "occurred_at"),
        description="Operational alerts firing and resolving, with their labels (from Alertmanager).",
    ),
)

TABLES_BY_EVENT: dict[type[Event], RawTable] = {model: t for t in RAW_TABLES for model in t.events}


class UnmappedType(TypeError):
    pass


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _enum(annotation: type[Enum]) -> str:
    values = ", ".join(f"'{m.value}' = {i}" for i, m in enumerate(annotation, start=1))
    return f"Enum8({values})"


def clickhouse_type(name: str, annotation: Any, *, json: bool = False) -> tuple[str, bool]:
    """The ClickHouse type of a contract field, and whether it is nullable."""
    annotation, nullable = _strip_optional(_unwrap(annotation))
    annotation = _unwrap(annotation)
    if json:
        return "String", nullable
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        base = "UInt16" if all(isinstance(v, int) for v in values) else "LowCardinality(String)"
        return base, nullable
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum(annotation), nullable
    if annotation is uuid.UUID:
        return "UUID", nullable
    if annotation is dt.datetime or annotation is AwareDatetime:
        return "DateTime64(3, 'UTC')", nullable
    if annotation is dt.date:
        return "Date", nullable
    if annotation is bool:
        return "Bool", nullable
    if annotation is int:
        return "Int64", nullable
    if annotation is float:
        return "Float64", nullable
    if annotation is str:
        return ("LowCardinality(String)" if name in LOW_CARDINALITY else "String"), nullable
    if origin is dict:
        key, value = (_unwrap(a) for a in get_args(annotation))
        key_type = (
            "LowCardinality(String)" if isinstance(key, type) and issubclass(key, (Enum, str)) else "String"
        )
        value_type, _ = clickhouse_type(name, value)
        return f"Map({key_type}, {value_type})", False
    if origin in (list, tuple):
        inner = _unwrap(get_args(annotation)[0])
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            raise UnmappedType(f"{name}: nested models need json_columns")
        inner_type, _ = clickhouse_type(name, inner)
        return f"Array({inner_type})", False
    raise UnmappedType(f"{name}: no ClickHouse type for {annotation!r}")


def _nullable(type_: str) -> str:
    if type_.startswith("LowCardinality("):
        return f"LowCardinality(Nullable({type_[len('LowCardinality(') : -1]}))"
    if type_.startswith(("Map(", "Array(")):
        return type_
    return f"Nullable({type_})"


def expected_columns(table: RawTable) -> dict[str, str]:
    """Column name -> ClickHouse type, in a stable order: envelope, fields, sink columns."""
    columns: dict[str, str] = {}
    seen_in: dict[str, int] = {}
    optional: set[str] = set()
    for model in table.events:
        for name, info in model.model_fields.items():
            type_, nullable = clickhouse_type(name, info.annotation, json=name in table.json_columns)
            if nullable:
                optional.add(name)
            if name in columns and columns[name] != type_:
                raise UnmappedType(f"{table.name}.{name}: {columns[name]} in one event, {type_} in another")
            columns.setdefault(name, type_)
            seen_in[name] = seen_in.get(name, 0) + 1
    for name in list(columns):
        if name in optional or seen_in[name] < len(table.events):
            columns[name] = _nullable(columns[name])
    if len(table.events) > 1:
        columns["event_type"] = "LowCardinality(String)"
    base = {name: type_.split(" DEFAULT")[0] for name, type_ in SINK_COLUMNS.items()}
    return {**columns, **base}


def create_statement(table: RawTable) -> str:
    columns = expected_columns(table)
    width = max(len(c) for c in columns)
    lines = []
    for name, type_ in columns.items():
        full = SINK_COLUMNS.get(name, type_) if name.startswith("_") else type_
        lines.append(f"    `{name}`{' ' * (width - len(name))} {full}")
    ttl = f"\nTTL toDateTime(occurred_at) + INTERVAL {table.ttl_days} DAY" if table.ttl_days else ""
    return (
        f"-- {table.description}\n"
        f"CREATE TABLE IF NOT EXISTS {table.name}\n(\n" + ",\n".join(lines) + "\n)\n"
        "ENGINE = ReplacingMergeTree(_ingested_at)\n"
        "PARTITION BY toYYYYMMDD(occurred_at)\n"
        f"ORDER BY ({table.key()})"
        f"{ttl}\n"
        "SETTINGS non_replicated_deduplication_window = 1000;\n"
    )


def all_create_statements() -> Iterator[str]:
    for table in RAW_TABLES:
        yield create_statement(table)


# First-seen gates ------------------------------------------------------------------------
# A record can reach the sink more than once with the same event id: redelivered after a
# crash, re-published by an outbox relay or an agent that restarted (often with a new
# occurred_at), retried by a player, replayed by an operator. Each raw table has a gate, a
# RocksDB key-value table of the event ids it holds, written by the sink once the INSERT into
# the table returned (a view in that INSERT could be committed while others were not:
# migration 0011). The sink asks the gates which ids of a batch are already there and inserts
# only the others, so the raw tables and every view fed by them see each id once.
# A gate remembers an id for as long as Kafka can deliver it again (the longest retention of
# the table's topics, plus a day); compacted topics keep only the latest record per key,
# whose repeats the views absorb (occupancy is a max), so 30 days is kept for them.
COMPACTED_GATE_DAYS = 30


def gate_name(table: RawTable) -> str:
    return f"{table.name}_seen"


def gate_ttl_days(table: RawTable) -> int:
    days = [
        COMPACTED_GATE_DAYS if spec.retention is None else spec.retention.days
        for spec in TOPICS
        if any(model in table.events for model in spec.events)
    ]
    return max(days, default=COMPACTED_GATE_DAYS) + 1


GATE_COLUMNS = {"event_id": "UUID", "occurred_at": "DateTime64(3, 'UTC')"}
"""A first-seen gate's columns and their types (the sink writes them)."""


def gate_statements(table: RawTable) -> str:
    gate = gate_name(table)
    ttl_s = gate_ttl_days(table) * 86_400
    width = max(len(name) for name in GATE_COLUMNS) + 2
    columns = ",\n".join(f"    {f'`{name}`':<{width}} {type_}" for name, type_ in GATE_COLUMNS.items()) + "\n"
    return (
        f"-- Event ids already in {table.name}, remembered {gate_ttl_days(table)} days.\n"
        f"CREATE TABLE IF NOT EXISTS {gate}\n(\n"
        f"{columns}"
        f")\nENGINE = EmbeddedRocksDB({ttl_s})\nPRIMARY KEY event_id;\n"
    )


def all_gate_statements() -> Iterator[str]:
    for table in RAW_TABLES:
        yield gate_statements(table)
