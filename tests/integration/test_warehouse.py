"""The warehouse on the real ClickHouse server: tables match the contracts, every named query
returns the right numbers on a known day, and each live aggregate equals a direct aggregate
of its raw table."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from pipelines.warehouse.sink import WarehouseWriter
from streams.bus.consumer import Received
from streams.contracts.base import Event
from streams.contracts.chat import ChatMessageAccepted
from streams.contracts.gifts import GiftSettled
from streams.contracts.qos import BeaconEvent, PlaybackBeacon
from streams.contracts.reactions import ReactionKind, ReactionSubmitted
from streams.settings import REPO_ROOT, Settings
from streams.topics import TOPICS
from tests.warehouse_scenario import DAY, T10, delivered, events
from warehouse.catalog import get
from warehouse.client import connect
from warehouse.migrate import migrate
from warehouse.schema import RAW_TABLES, expected_columns


def as_received(batch: list[Event], start: dict[str, int] | None = None) -> list[Received]:
    return delivered(batch, defaultdict(int, start or {}))


@pytest.fixture(scope="module")
def wh(settings: Settings) -> Iterator[Any]:
    database = f"test_wh_{uuid.uuid4().hex[:10]}"
    client = connect(settings.clickhouse.url, database=database)
    migrate(client)
    WarehouseWriter(client, "test")(as_received(events()))
    yield client
    client.command(f"DROP DATABASE IF EXISTS {database}")
    client.close()


def run(client: Any, name: str, **params: str) -> list[dict[str, Any]]:
    query = get(name)
    result = client.query(query.sql, parameters=query.bind(params))
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


DAYS = {"from_day": DAY.isoformat(), "to_day": DAY.isoformat()}


@pytest.mark.parametrize("database", ["live", "fresh"])
def test_every_raw_table_matches_its_contracts(settings: Settings, wh: Any, database: str) -> None:
    client = (
        wh if database == "fresh" else connect(settings.clickhouse.url, database=settings.clickhouse.database)
    )
    for table in RAW_TABLES:
        rows = client.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
            "ORDER BY position",
            parameters={"t": table.name},
        ).result_rows
        live = {name: type_ for name, type_ in rows}
        assert live == expected_columns(table), (
            f"{table.name} differs from its contracts: write a migration for the contract change"
        )


def test_top_streams_and_room_engagement(wh: Any) -> None:
    top = run(wh, "top_streams", day=DAY.isoformat(), limit="10")
    assert [r["room_id"] for r in top] == ["room-1", "room-2"]
    r1 = top[0]
    assert (
        r1["messages"],
        r1["chatters"],
        r1["reactions"],
        r1["gifts"],
        r1["gift_coins"],
        r1["peak_viewers"],
    ) == (
        4,
        2,
        7,
        2,
        530,
        5,
    )
    minutes = run(wh, "room_engagement", room="room-1", day=DAY.isoformat())
    assert [m["peak_viewers"] for m in minutes] == [5, 3]  # 10:00 then 10:01


def test_chat_activity_and_rejections(wh: Any) -> None:
    rows = {r["room_id"]: r for r in run(wh, "chat_activity", day=DAY.isoformat())}
    assert (rows["room-1"]["accepted"], rows["room-1"]["chatters"], rows["room-1"]["held"]) == (4, 2, 1)
    assert (rows["room-1"]["rejected"], rows["room-1"]["deleted"]) == (2, 1)
    assert rows["room-2"]["accepted"] == 2
    reasons = {r["reason"]: r["rejected"] for r in run(wh, "rejection_reasons", **DAYS)}
    assert reasons == {"slow_mode": 2, "banned_term": 1}


def test_gift_revenue(wh: Any) -> None:
    by_creator = {r["creator_id"]: r for r in run(wh, "gift_revenue_by_creator", **DAYS)}
    assert (
        by_creator["c1"]["coins"],
        by_creator["c1"]["creator_share_coins"],
        by_creator["c1"]["gifters"],
    ) == (
        530,
        371,
        2,
    )
    assert by_creator["c2"]["coins"] == 10
    by_type = {r["gift_sku"]: r for r in run(wh, "gift_revenue_by_type", **DAYS)}
    assert (by_type["rose"]["gifts"], by_type["rose"]["items"], by_type["rose"]["coins"]) == (2, 4, 40)
    assert (by_type["rocket"]["coins"], by_type["rocket"]["rejected"]) == (500, 1)


def test_creator_earnings_count_only_posted_transfers(wh: Any) -> None:
    rows = {r["creator_id"]: r for r in run(wh, "creator_earnings", **DAYS)}
    assert (rows["c1"]["credited"], rows["c1"]["debited"], rows["c1"]["net"]) == (371, 100, 271)
    assert rows["c2"]["net"] == 7


def test_conversion_and_retention(wh: Any) -> None:
    conv = {r["room_id"]: r for r in run(wh, "viewer_to_gifter_conversion", **DAYS)}
    assert (conv["room-1"]["viewers"], conv["room-1"]["gifters"], conv["room-1"]["conversion"]) == (5, 2, 0.4)
    assert conv["room-2"]["conversion"] == pytest.approx(1 / 3, abs=1e-4)
    cohorts = run(wh, "retention_cohorts", **DAYS)
    assert [(r["weeks_later"], r["viewers"]) for r in cohorts] == [(0, 6)]


def test_qoe(wh: Any) -> None:
    (stream,) = run(wh, "qoe_by_stream", **DAYS)
    assert stream["stream"] == "stream-1"
    assert stream["play_requests"] == 3
    assert stream["startup_p50_ms"] in (500, 900)
    assert stream["video_start_failure_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert stream["rebuffer_ratio"] == pytest.approx(500 / 19_500, abs=1e-4)
    assert stream["avg_bitrate_kbps"] == (800 * 10_000 + 400 * 9_000) // 19_000
    assert stream["peak_concurrent_viewers"] == 2
    by = {(r["rendition"], r["browser"]): r for r in run(wh, "qoe_by_rendition_and_browser", **DAYS)}
    assert by[("360p", "Chrome")]["startup_p50_ms"] == 500
    assert by[("240p", "Firefox")]["rebuffer_ratio"] == 0
    assert by[("unknown", "Chrome")]["errors"] == 1
    viewers = run(wh, "unique_viewers", **DAYS)
    assert (viewers[0]["unique_viewers"], viewers[0]["sessions"], viewers[0]["starts"]) == (3, 3, 2)
    assert viewers[0]["peak_concurrent_viewers"] == 2
    minutes = run(wh, "concurrent_viewers", stream="stream-1", day=DAY.isoformat())
    assert [m["concurrent_viewers"] for m in minutes] == [2]


def test_each_broadcast_joins_its_rooms_engagement_and_revenue_with_its_qoe(wh: Any) -> None:
    (b,) = run(wh, "broadcast_summary", **DAYS)
    assert (b["stream_id"], b["creator_id"], b["room_id"], b["end_reason"]) == (
        "stream-1",
        "c1",
        "room-1",
        "broadcaster_stopped",
    )
    # room-1's engagement while on air (as top_streams counts it for the day) ...
    assert (b["messages"], b["chatters"], b["reactions"], b["gifts"], b["gift_coins"]) == (4, 2, 7, 2, 530)
    assert b["peak_room_viewers"] == 5
    # ... beside stream-1's QoE (as qoe_by_stream reports it).
    assert (b["play_requests"], b["peak_concurrent_viewers"]) == (3, 2)
    assert b["video_start_failure_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert b["rebuffer_ratio"] == pytest.approx(500 / 19_500, abs=1e-4)


def test_moderation_and_fraud(wh: Any) -> None:
    mod = {(r["room_id"], r["kind"]): r["actions"] for r in run(wh, "moderation_summary", **DAYS)}
    assert mod == {("room-1", "timeout"): 2, ("room-2", "ban"): 1}
    fraud = {(r["outcome"], r["shadow"]): r["alerts"] for r in run(wh, "fraud_summary", **DAYS)}
    assert fraud == {("review", False): 2, ("block", True): 1}


def random_load(seed: int, n: int) -> list[Event]:
    rng = random.Random(seed)
    out: list[Event] = []
    for i in range(n):
        at = T10 + timedelta(seconds=rng.uniform(0, 3 * 3600))
        room = f"room-{rng.randint(1, 7)}"
        user = f"u{rng.randint(1, 60)}"
        roll = rng.random()
        if roll < 0.4:
            out.append(
                ChatMessageAccepted(
                    message_id=uuid.uuid4(),
                    room_id=room,
                    user_id=user,
                    text="x",
                    producer="t",
                    occurred_at=at,
                )
            )
        elif roll < 0.7:
            out.append(
                ReactionSubmitted(
                    room_id=room,
                    user_id=user,
                    reaction=rng.choice(list(ReactionKind)),
                    producer="t",
                    occurred_at=at,
                )
            )
        elif roll < 0.8:
            qty, price = rng.randint(1, 5), rng.choice([1, 10, 100])
            share = qty * price * 7 // 10
            out.append(
                GiftSettled(
                    gift_id=uuid.uuid4(),
                    sender_id=user,
                    creator_id="c1",
                    room_id=room,
                    gift_sku="rose",
                    quantity=qty,
                    total_coins=qty * price,
                    creator_share_coins=share,
                    platform_fee_coins=qty * price - share,
                    transfer_id=uuid.uuid4(),
                    sender_balance_after=0,
                    producer="t",
                    occurred_at=at,
                )
            )
        else:
            e = rng.choice([BeaconEvent.START, BeaconEvent.HEARTBEAT, BeaconEvent.PLAY_REQUEST])
            out.append(
                PlaybackBeacon(
                    e=e,
                    sid=f"sid{rng.randint(1, 40)}",
                    cid=f"stream-{rng.randint(1, 3)}",
                    sn=i,
                    ts=int(at.timestamp() * 1000),
                    producer="t",
                    occurred_at=at,
                    startup_ms=rng.randint(200, 4000) if e is BeaconEvent.START else None,
                    play_ms=rng.randint(0, 10_000) if e is BeaconEvent.HEARTBEAT else None,
                    stall_ms=rng.randint(0, 2000) if e is BeaconEvent.HEARTBEAT else None,
                    br=rng.choice([200, 400, 800]),
                    ltc=rng.randint(500, 5000),
                )
            )
    return out


def test_each_live_aggregate_equals_the_direct_aggregate_of_its_raw_table(settings: Settings) -> None:
    database = f"test_mv_{uuid.uuid4().hex[:10]}"
    client = connect(settings.clickhouse.url, database=database)
    try:
        migrate(client)
        writer = WarehouseWriter(client, "test")
        load = random_load(7, 6000)
        writer(as_received(load[:3000]))  # two inserts: the views aggregate across parts
        writer(as_received(load[3000:], start={t.name: 10_000 for t in TOPICS}))
        writer(as_received(events(), start={t.name: 20_000 for t in TOPICS}))  # ledger, moderation, fraud
        pairs = [
            (
                "SELECT room_id, minute, sum(messages), uniqExactMerge(chatters) FROM room_engagement_minute "
                "GROUP BY room_id, minute HAVING sum(messages) > 0 ORDER BY room_id, minute",
                "SELECT room_id, toStartOfMinute(occurred_at) AS minute, count(), uniqExact(user_id) FROM chat_events "
                "WHERE event_type = 'chat.message.accepted' GROUP BY room_id, minute ORDER BY room_id, minute",
            ),
            (
                "SELECT room_id, minute, sum(reactions) FROM room_engagement_minute GROUP BY room_id, minute "
                "HAVING sum(reactions) > 0 ORDER BY room_id, minute",
                "SELECT room_id, toStartOfMinute(occurred_at) AS minute, count() FROM reactions "
                "GROUP BY room_id, minute ORDER BY room_id, minute",
            ),
            (
                "SELECT room_id, minute, sum(gifts), sum(gift_coins) FROM room_engagement_minute "
                "GROUP BY room_id, minute HAVING sum(gifts) > 0 ORDER BY room_id, minute",
                "SELECT room_id, toStartOfMinute(occurred_at) AS minute, count(), sum(total_coins) FROM gift_events "
                "WHERE event_type = 'gift.settled' GROUP BY room_id, minute ORDER BY room_id, minute",
            ),
            (
                "SELECT cid, minute, sum(play_requests), sum(starts), quantilesExactMerge(0.5, 0.9, 0.99)(startup_ms), "
                "sum(play_ms), sum(stall_ms), sum(bitrate_play_ms), uniqExactMerge(viewers) "
                "FROM qoe_stream_minute GROUP BY cid, minute ORDER BY cid, minute",
                "SELECT cid, toStartOfMinute(occurred_at) AS minute, countIf(e = 'play_request'), countIf(e = 'start'), "
                "quantilesExactIf(0.5, 0.9, 0.99)(ifNull(startup_ms, 0), e = 'start' AND startup_ms IS NOT NULL), "
                "sumIf(ifNull(play_ms, 0), e = 'heartbeat'), sumIf(ifNull(stall_ms, 0), e = 'heartbeat'), "
                "sumIf(ifNull(br, 0) * ifNull(play_ms, 0), e = 'heartbeat'), uniqExactIf(sid, e IN ('start', 'heartbeat')) "
                "FROM qos_beacons GROUP BY cid, minute ORDER BY cid, minute",
            ),
        ]
        pairs.append(
            (
                "SELECT room_id, day, sum(messages), uniqExactMerge(chatters), sum(reactions), sum(gift_coins), "
                "max(peak_viewers) FROM room_engagement_daily GROUP BY room_id, day ORDER BY room_id, day",
                "SELECT room_id, toDate(minute) AS day, sum(messages), uniqExactMerge(chatters), sum(reactions), "
                "sum(gift_coins), max(peak_viewers) FROM room_engagement_minute GROUP BY room_id, day "
                "ORDER BY room_id, day",
            )
        )
        pairs += [
            (
                "SELECT creator_id, day, asset, sum(credited), sum(debited), sum(postings) FROM creator_earnings_daily FINAL "
                "GROUP BY creator_id, day, asset ORDER BY creator_id, day, asset",
                "SELECT if(startsWith(credit_account, 'creator_earnings:'), substring(credit_account, 18), "
                "substring(debit_account, 18)) AS creator_id, toDate(posted_at) AS day, toString(asset) AS a, "
                "sumIf(amount, startsWith(credit_account, 'creator_earnings:')), "
                "sumIf(amount, startsWith(debit_account, 'creator_earnings:')), count() FROM ledger_postings "
                "WHERE state = 'posted' AND (startsWith(credit_account, 'creator_earnings:') "
                "OR startsWith(debit_account, 'creator_earnings:')) GROUP BY creator_id, day, a ORDER BY creator_id, day, a",
            ),
            (
                "SELECT day, room_id, kind, sum(actions) FROM moderation_daily GROUP BY day, room_id, kind "
                "ORDER BY day, room_id, kind",
                "SELECT toDate(occurred_at) AS day, room_id, toString(kind) AS k, count() FROM moderation_actions "
                "GROUP BY day, room_id, k ORDER BY day, room_id, k",
            ),
            (
                "SELECT day, rule, outcome, shadow, sum(alerts) FROM fraud_daily GROUP BY day, rule, outcome, shadow "
                "ORDER BY day, rule, outcome, shadow",
                "SELECT toDate(occurred_at) AS day, rule, toString(outcome) AS o, shadow, count() FROM fraud_alerts "
                "GROUP BY day, rule, o, shadow ORDER BY day, rule, o, shadow",
            ),
        ]
        for via_view, direct in pairs:
            view_rows = client.query(via_view).result_rows
            assert view_rows, via_view
            assert view_rows == client.query(direct).result_rows, via_view
    finally:
        client.command(f"DROP DATABASE IF EXISTS {database}")
        client.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warehouse", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_cli_runs_a_named_query_and_refuses_bad_input() -> None:
    ok = cli(
        "query", "top_streams", "--param", f"day={DAY.isoformat()}", "--param", "limit=3", "--format", "json"
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().startswith("[")
    unknown = cli("query", "top_stream")
    assert unknown.returncode == 2
    assert "no query named 'top_stream'" in unknown.stderr
    bad = cli("query", "top_streams", "--param", "day=28/11/2026", "--param", "limit=3")
    assert bad.returncode == 2
    assert "parameter 'day' expects Date" in bad.stderr
    extra = cli("query", "top_streams", "--param", f"day={DAY}", "--param", "limit=3", "--param", "room=x")
    assert extra.returncode == 2
    assert "has no parameter room" in extra.stderr
    listed = cli("list")
    assert "viewer_to_gifter_conversion" in listed.stdout
