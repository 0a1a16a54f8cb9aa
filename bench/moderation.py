"""bench-moderation: the chat moderation agent's handler with the toxicity classifier against
rules only, in the same run, on the real Redis (rooms, the gate's Lua) and PostgreSQL.

Batches of 500 submitted messages (the agent's batch size; texts cycled from the labelled chat
set, each from its own user so no rate limit refuses them) over 20 rooms in shadow mode, so
both sides make the same decisions and the difference is the classifier's. Alternated A/B/A/B.
A message waits for its whole batch, so the added latency per message is the added batch time.

    make bench-moderation            (QUICK=1: short)

Writes bench/results/moderation.json and prints it.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from ops.seed import open_rooms_async
from streams.contracts.chat import ChatMessageSubmitted
from streams.redis_pool import connect_redis
from streams.rooms.classifiers import ShippedModel
from streams.rooms.directory import RoomDirectory
from streams.rooms.evaluate import LABELLED, read_labelled
from streams.rooms.gate import ChatGate
from streams.rooms.holds import ChatHolds
from streams.rooms.moderation import ChatModerator
from streams.settings import REPO_ROOT, Settings

QUICK = os.environ.get("QUICK") == "1"
MESSAGES = 10_000 if QUICK else 40_000
BATCH = 500
ROUNDS = 2
RESULTS = REPO_ROOT / "bench" / "results" / "moderation.json"
TARGETS = {"messages_per_s_with_classifier": 2000, "added_p99_ms": 20}


def p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


async def side(moderator: ChatModerator, batches: list[list[ChatMessageSubmitted]]) -> dict[str, Any]:
    times = []
    started = time.perf_counter()
    cpu = time.process_time()
    for batch in batches:
        t = time.perf_counter()
        await moderator.decide(batch)
        times.append((time.perf_counter() - t) * 1000)
    wall = time.perf_counter() - started
    messages = sum(len(b) for b in batches)
    return {
        "messages_per_s": round(messages / wall),
        "p50_batch_ms": round(statistics.median(times), 1),
        "p99_batch_ms": round(p99(times), 1),
        "cpu_us_per_message": round((time.process_time() - cpu) / messages * 1e6, 1),
    }


async def main_async() -> dict[str, Any]:
    settings = Settings()
    run = uuid.uuid4().hex[:6]
    rooms = {f"bench-mod-{run}-{i}": f"bench-mod-{run}-creator{i}" for i in range(20)}
    await open_rooms_async(settings, rooms)
    texts = [text for _, text in read_labelled(LABELLED)]
    room_ids = list(rooms)

    def batches(tag: str) -> list[list[ChatMessageSubmitted]]:
        messages = [
            ChatMessageSubmitted(
                message_id=uuid.uuid4(),
                room_id=room_ids[i % len(room_ids)],
                user_id=f"bm{run}{tag}u{i}",
                text=texts[i % len(texts)],
                producer="bench",
            )
            for i in range(MESSAGES // ROUNDS)
        ]
        return [messages[i : i + BATCH] for i in range(0, len(messages), BATCH)]

    pool = AsyncConnectionPool(settings.postgres.dsn(), min_size=2, max_size=4, open=False)
    await pool.open(wait=True)
    redis = connect_redis(settings.redis.url)
    try:
        directory = RoomDirectory(pool, redis)
        gate, holds = ChatGate(redis), ChatHolds(pool)
        rules = ChatModerator(directory, gate, holds, settings.rooms, "bench")
        classified = ChatModerator(directory, gate, holds, settings.rooms, "bench", classifier=ShippedModel())
        await rules.decide(batches("warm")[0])  # rooms cached, Lua loaded
        await classified.decide(batches("warm2")[0])
        results: dict[str, list[dict[str, Any]]] = {"rules": [], "classifier": []}
        for r in range(ROUNDS):
            for name, moderator in (("rules", rules), ("classifier", classified)):
                print(
                    f"round {r + 1}: {name}, {MESSAGES // ROUNDS:,} messages in batches of {BATCH} ...",
                    flush=True,
                )
                results[name].append(await side(moderator, batches(f"{name}{r}")))
                print(f"  {results[name][-1]}", flush=True)
    finally:
        await redis.aclose()
        await pool.close()

    def median(name: str, key: str) -> float:
        return float(statistics.median(run[key] for run in results[name]))

    with_model = median("classifier", "messages_per_s")
    added_p99 = median("classifier", "p99_batch_ms") - median("rules", "p99_batch_ms")
    return {
        "quick": QUICK,
        "messages": MESSAGES,
        "batch": BATCH,
        "model": ShippedModel.name,
        "messages_per_s_rules_only": median("rules", "messages_per_s"),
        "messages_per_s_with_classifier": with_model,
        "throughput_ratio": round(with_model / median("rules", "messages_per_s"), 3),
        "p99_batch_ms_rules_only": median("rules", "p99_batch_ms"),
        "p99_batch_ms_with_classifier": median("classifier", "p99_batch_ms"),
        "added_p99_ms": round(added_p99, 1),
        "cpu_us_per_message_added": round(
            median("classifier", "cpu_us_per_message") - median("rules", "cpu_us_per_message"), 1
        ),
        "runs": results,
        "targets": TARGETS,
        "met": with_model >= TARGETS["messages_per_s_with_classifier"]
        and added_p99 <= TARGETS["added_p99_ms"],
        "measured_at": datetime.now(UTC).isoformat(),
    }


def main() -> int:
    result = asyncio.run(main_async())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
