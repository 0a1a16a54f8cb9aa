"""docs/warehouse.md, generated: every table and column, the live aggregates, the named queries.

Column meanings come from the contract's field descriptions where they exist, else from
``COLUMN_DOCS`` below (per table first, then by column name). A test fails when a column
has no description or when docs/warehouse.md is not what this module renders.
"""

from __future__ import annotations

from enum import Enum
from typing import get_args

from warehouse.catalog import all_queries
from warehouse.schema import RAW_TABLES, RawTable, expected_columns

COLUMN_DOCS: dict[str, str] = {
    "event_id": "Idempotency key of the event, minted once where it entered the platform. One row per event_id.",
    "event_type": "Which event this row is (see the table's event types).",
    "schema_version": "Contract version of the event.",
    "occurred_at": "When it happened, UTC, millisecond precision. Tables are partitioned by its day.",
    "producer": "The service or node that minted the event.",
    "_topic": "Kafka topic the row was read from.",
    "_partition": "Kafka partition the row was read from.",
    "_offset": "Kafka offset of the row (the sink never writes an offset twice).",
    "_trace_id": "W3C trace id the record carried (its traceparent header), '' if none: `python -m ops trace` follows it.",
    "_ingested_at": "When the row was written to ClickHouse; ingested_at - occurred_at is the freshness.",
    "room_id": "The room: one per live stream.",
    "user_id": "The viewer or creator concerned.",
    "user_role": "Role of the sender: viewer, creator, moderator, analyst, finance or admin.",
    "display_name": "Name shown in chat.",
    "message_id": "Chat message id, shared by its submitted, accepted/held/rejected and deleted events.",
    "text": "Chat message text (at most 500 characters).",
    "released_by": "Moderator who approved a held message.",
    "score": "AutoMod score between 0 and 1.",
    "held_reason": "Why AutoMod held the message.",
    "reason": "Why: the rejection, failure, end or action reason.",
    "detail": "Free-text detail for the reason.",
    "retry_after_ms": "For rate limits and slow mode: when the sender may try again.",
    "deleted_by": "Moderator or creator who deleted the message.",
    "delete_reason": "Why the message was deleted.",
    "reaction": "Reaction type: heart, laugh, wow, clap, fire, sad.",
    "window_start": "Start of the coalescing window.",
    "window_end": "End of the coalescing window.",
    "counts": "Reactions per type in the window.",
    "unique_users": "Distinct users who reacted in the window.",
    "session_id": "Socket session (one user may have several).",
    "node_id": "Gateway node the viewer is connected to.",
    "viewers": "Distinct users in the room.",
    "connections": "Open sockets in the room.",
    "gift_id": "Gift id: the gift's idempotency key, shared by requested, settled and rejected.",
    "sender_id": "Viewer who paid for the gift (the paying wallet).",
    "creator_id": "Creator who receives it.",
    "gift_sku": "Gift type from the catalog (rose, heart, rocket, ...).",
    "quantity": "How many of the gift.",
    "unit_price_coins": "Catalog price of one, in coins.",
    "total_coins": "Coins paid in total (integer).",
    "creator_share_coins": "Coins credited to the creator's earnings.",
    "platform_fee_coins": "Coins credited to platform revenue.",
    "transfer_id": "Ledger transfer id.",
    "sender_balance_after": "Sender's coin balance right after settlement.",
    "device_id": "Device fingerprint, for fraud rules.",
    "ip": "Client IP, for fraud rules.",
    "topup_id": "Top-up id (idempotency key of the purchase).",
    "amount_cents": "Money amount in the currency's minor unit (integer).",
    "currency": "ISO 4217 currency code.",
    "coins": "Coins bought.",
    "payment_instrument_id": "Tokenised card or wallet used.",
    "provider_ref": "Payment provider's reference.",
    "kind": "Kind of transfer, clawback or action.",
    "coins_clawed_back": "Coins taken back from the wallet.",
    "debt_coins": "Coins already spent, recorded as debt.",
    "state": "Transfer state: pending, posted or voided.",
    "asset": "Asset of the amount: COINS or a currency's cents.",
    "amount": "Amount moved, in the asset's unit (integer, positive).",
    "debit_account": "Account debited (kind:owner, e.g. user_coins:u42).",
    "credit_account": "Account credited (e.g. creator_earnings:c7, system:platform_revenue).",
    "posted_at": "Ledger time of the posting.",
    "reverses": "The transfer this one reverses, for corrections.",
    "period_start": "First day of the payout period.",
    "period_end": "Last day of the payout period.",
    "stream_id": "Live stream id.",
    "protocol": "Ingest protocol: rtmp or srt.",
    "epoch": "Per-session id used in media paths.",
    "duration_s": "Duration in seconds.",
    "renditions": "ABR ladder as JSON: name, width, height, video_kbps, fps per rung.",
    "audio_kbps": "Audio bitrate.",
    "segment_s": "HLS segment duration.",
    "part_s": "LL-HLS part duration.",
    "action_id": "Moderation action id.",
    "actor_id": "Who acted.",
    "actor_role": "The actor's role.",
    "target_user_id": "Who was acted on.",
    "params": "Action parameters as JSON (modes, terms, ...).",
    "rule": "Fraud rule name.",
    "outcome": "allow, review (held for an analyst) or block.",
    "shadow": "Shadow-mode rule: logged, not enforced.",
    "subject_type": "What the rule counted: user, payment_instrument, device, ip, sender_creator_pair.",
    "subject_id": "The counted subject's id.",
    "reference_id": "The gift, top-up or payout concerned.",
    "observed": "Measured value (count, coins, cents, share in basis points).",
    "threshold": "The rule's threshold.",
    "window_s": "The rule's window in seconds.",
    "viewer_id": "Signed-in viewer, when known.",
    "rendition": "Rendition name playing (e.g. 360p).",
    "error_code": "Player error code.",
    "user_agent": "Browser user agent.",
}

TABLE_DOCS: dict[tuple[str, str], str] = {
    (
        "ledger_postings",
        "kind",
    ): "Transfer kind: topup, gift, gift_fee, payout, refund, chargeback, reversal, adjustment.",
    (
        "moderation_actions",
        "kind",
    ): "ban, unban, timeout, delete_message, set_modes, set_banned_terms, approve_held, deny_held.",
    ("topups", "kind"): "refund or chargeback.",
    (
        "chat_events",
        "reason",
    ): "Rejection reason (rate_limited, slow_mode, emote_only, duplicate, link_blocked, banned_term, ...).",
    (
        "gift_events",
        "reason",
    ): "Rejection reason (insufficient_funds, fraud_block, sender_banned, unknown_gift, ...).",
}

AGGREGATES = [
    (
        "room_engagement_minute",
        "AggregatingMergeTree, per room per minute, fed by chat_events (accepted), reactions, "
        "gift_events (settled) and room_occupancy.",
        [
            ("room_id", "The room."),
            ("minute", "UTC minute."),
            ("messages", "Accepted chat messages: sum(messages)."),
            ("chatters", "Distinct chatters: uniqExactMerge(chatters)."),
            ("reactions", "Reactions: sum(reactions)."),
            ("gifts", "Settled gifts: sum(gifts)."),
            ("gift_coins", "Coins of settled gifts: sum(gift_coins)."),
            ("peak_viewers", "Peak occupancy: max(peak_viewers)."),
        ],
    ),
    (
        "room_engagement_daily",
        "AggregatingMergeTree, per room per UTC day, rolled up from room_engagement_minute as minutes "
        "arrive (what top_streams reads: one row per room instead of 1,440). Same measures and merge "
        "functions as room_engagement_minute.",
        [
            ("room_id", "The room."),
            ("day", "UTC day."),
            ("messages", "Accepted chat messages: sum(messages)."),
            ("chatters", "Distinct chatters over the day: uniqExactMerge(chatters)."),
            ("reactions", "Reactions: sum(reactions)."),
            ("gifts", "Settled gifts: sum(gifts)."),
            ("gift_coins", "Coins of settled gifts: sum(gift_coins)."),
            ("peak_viewers", "Peak occupancy: max(peak_viewers)."),
        ],
    ),
    (
        "creator_earnings_daily",
        "ReplacingMergeTree, one row per posted transfer into or out of a creator's earnings account, "
        "fed by ledger_postings and replaced by transfer id: read it with FINAL and sum per creator, day "
        "and asset (what creator_earnings does). A transfer written twice, even by an insert cut off by a "
        "crash and retried in another batch, counts once.",
        [
            ("creator_id", "The creator."),
            ("day", "Ledger day (posted_at)."),
            ("asset", "Asset."),
            ("transfer_id", "The ledger transfer (the replacing key)."),
            ("credited", "Posted into the creator's earnings account."),
            ("debited", "Posted out of it (payouts, reversals)."),
            ("postings", "1 per transfer: sum(postings) counts them."),
        ],
    ),
    (
        "qoe_stream_minute",
        "AggregatingMergeTree, per stream per minute, fed by qos_beacons.",
        [
            ("cid", "The stream."),
            ("minute", "UTC minute."),
            ("play_requests", "Plays requested: sum()."),
            ("starts", "Videos started: sum()."),
            ("startup_ms", "Video startup time: quantilesExactMerge(0.5, 0.9, 0.99)(startup_ms)."),
            ("start_failures", "Video start failures (fatal error before start): sum()."),
            ("exits_before_start", "Exits before video start: sum()."),
            ("errors", "Player errors: sum()."),
            ("fatal_errors", "Playback failures: sum()."),
            ("play_ms", "Time playing (heartbeats): sum()."),
            (
                "stall_ms",
                "Time rebuffering (heartbeats): sum(); rebuffer ratio = stall_ms / (play_ms + stall_ms).",
            ),
            (
                "bitrate_play_ms",
                "Bitrate x play time: sum(); time-weighted average bitrate = bitrate_play_ms / play_ms.",
            ),
            ("viewers", "Concurrent viewers (sessions active in the minute): uniqExactMerge(viewers)."),
            ("latency_ms", "Live latency: quantilesExactMerge(0.5, 0.99)(latency_ms)."),
        ],
    ),
    (
        "moderation_daily",
        "SummingMergeTree, per day, room and action kind, fed by moderation_actions.",
        [
            ("day", "UTC day."),
            ("room_id", "The room."),
            ("kind", "Action kind."),
            ("actions", "Count: sum(actions)."),
        ],
    ),
    (
        "fraud_daily",
        "SummingMergeTree, per day, rule, outcome and shadow flag, fed by fraud_alerts.",
        [
            ("day", "UTC day."),
            ("rule", "Rule."),
            ("outcome", "allow, review or block."),
            ("shadow", "Shadow mode."),
            ("alerts", "Count: sum(alerts)."),
        ],
    ),
]

INTRO = """# The analytics warehouse

Everything the platform carries lands in ClickHouse within seconds: one **raw table** per
family of events (below), loaded from Kafka by the warehouse sink with exactly-once effect,
and **live aggregates** (materialized views) updated on every insert. Product managers,
trust-and-safety and finance read the same tables.

*This file is generated by `python -m warehouse docs > docs/warehouse.md` from the event
contracts, the migrations and the named queries; a test fails when it is out of date.*

## How to query

- Run a named query: `python -m warehouse query top_streams --param day=2026-11-28 --param limit=10`
  (`--format table|csv|json`). `python -m warehouse list` shows them all with their parameters.
- Ad-hoc, read-only: `python -m warehouse sql "SELECT count() FROM gift_events WHERE toDate(occurred_at) = {day:Date}" --param day=2026-11-28`
  (or the SQL on stdin; `--format table|csv|json`, `--max-seconds 60`). It runs with
  `readonly=2`, so it can read but never insert, alter or drop.
- Any ClickHouse client: the HTTP interface (`curl 'http://127.0.0.1:8123/?database=live'
  --data-binary 'SELECT count() FROM chat_events'`), native TCP on 127.0.0.1:9000 (DBeaver,
  `clickhouse client` where installed), or from Python
  `clickhouse_connect.get_client(host="127.0.0.1", database="live")`.
- Write your own: any SQL client on `http://127.0.0.1:8123` (database `live`), or add a file
  `warehouse/queries/NAME.sql`. Its first comment lines are its description, each parameter is
  documented by a line `-- param NAME: meaning` and written in the SQL as `{NAME:Type}`
  (`Date`, `String`, `UInt32`, ...). Parameters are bound by the server, never pasted in.
- Each `event_id` is written once. Every raw table has a first-seen gate (`<table>_seen`, a
  RocksDB table of the ids it holds, written by the sink once the insert returned); the sink
  inserts only ids the gate does not hold, so a record delivered again (a crash before the
  offset commit, a relay or agent re-publishing, a player retry, a replay), even with a new
  `occurred_at`, changes no raw table, aggregate or query. A gate remembers an id longer than
  Kafka keeps it. A ClickHouse outage that cuts an insert off is exact too, however long it
  lasts: the sink keeps the insert it gave up on and finishes it with the same rows and
  deduplication token before writing anything else, so ClickHouse fills in the views it missed
  and skips those it has. Two exceptions: rows loaded by hand around the sink, and a sink
  process that dies while ClickHouse is down in the middle of its insert (the next process
  batches the records differently, so that batch can land twice in count-like aggregates).
  Money is exact either way:
  `creator_earnings_daily` keeps one row per transfer and is read with `FINAL`, as are the
  raw tables when exact counts matter.
- Live aggregates hold partial states: always `GROUP BY` their key and combine with
  `sum(...)`, `max(...)` or the `-Merge` functions named below.
- Instants are `DateTime64(3, 'UTC')`; filter days with `toDate(occurred_at) = '2026-11-28'`.
  Money is integers: coins, or cents of `currency`.

Example: gift revenue per creator yesterday, with the creator's share:

```sql
SELECT creator_id, sum(total_coins) AS coins, sum(creator_share_coins) AS share, uniqExact(sender_id) AS gifters
FROM gift_events FINAL
WHERE event_type = 'gift.settled' AND toDate(occurred_at) = yesterday()
GROUP BY creator_id ORDER BY coins DESC
```
"""


def describe(table: RawTable, column: str) -> str:
    if (table.name, column) in TABLE_DOCS:
        return TABLE_DOCS[(table.name, column)]
    for model in table.events:
        info = model.model_fields.get(column)
        if info is not None and info.description:
            return info.description
    return COLUMN_DOCS.get(column, "")


def _enum_values(table: RawTable, column: str) -> str:
    for model in table.events:
        info = model.model_fields.get(column)
        if info is None:
            continue
        for candidate in (info.annotation, *get_args(info.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, Enum):
                return " Values: " + ", ".join(f"`{m.value}`" for m in candidate) + "."
    return ""


def render_reference() -> str:
    out = [INTRO, "## Raw tables\n"]
    for table in RAW_TABLES:
        types = ", ".join(f"`{m.EVENT_TYPE}`" for m in table.events)
        ttl = f" Kept {table.ttl_days} days." if table.ttl_days else " Kept indefinitely."
        out.append(
            f"### `{table.name}`\n\n{table.description} Event types: {types}. "
            f"Sorted by `({table.key()})`, partitioned by day.{ttl}\n"
        )
        out.append("| column | type | meaning |\n|---|---|---|")
        for column, type_ in expected_columns(table).items():
            text = describe(table, column) + (_enum_values(table, column) if "Enum8" not in type_ else "")
            out.append(f"| `{column}` | `{type_}` | {text} |")
        out.append("")
    out.append("## Live aggregates\n")
    for name, text, columns in AGGREGATES:
        out.append(f"### `{name}`\n\n{text}\n\n| column | meaning |\n|---|---|")
        out += [f"| `{c}` | {d} |" for c, d in columns]
        out.append("")
    out.append("## Named queries\n")
    for query in all_queries().values():
        params = " ".join(f"--param {p.name}=…" for p in query.parameters)
        out.append(f"### `{query.name}`\n\n{query.description}\n")
        if query.parameters:
            out += [f"- `{p.name}` (`{p.type}`): {p.doc}" for p in query.parameters]
        out.append(f"\n`python -m warehouse query {query.name} {params}`\n")
    out.append(
        "## Also\n\n`event_log` holds every event's envelope and raw JSON (`payload`), including ones "
        "without a typed table; use it to debug what arrived. `schema_migrations` lists applied migrations.\n"
    )
    return "\n".join(out)
