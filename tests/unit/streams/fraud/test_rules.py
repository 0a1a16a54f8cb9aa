"""Fraud rules on known facts, and screening with an in-memory fake of the counters port."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from streams.contracts.gifts import GiftRejectReason, GiftRequested, GiftRoomProblem
from streams.fraud.rules import FraudConfig, GiftCount, GiftFacts, Rule, evaluate
from streams.fraud.screening import screen
from streams.gifts.settlement import fraud_problem

CONFIG = FraudConfig()


def facts(**overrides: int) -> GiftFacts:
    base = {
        "gifts_last_minute": 1,
        "coins_last_hour": 10,
        "coins_to_creator_last_hour": 10,
        "account_age_s": 10 * 24 * 3600,
        "total_coins": 10,
    }
    return GiftFacts(**{**base, **overrides})


def test_an_ordinary_gift_is_allowed() -> None:
    assert evaluate(facts(), CONFIG).outcome == "allow"


def test_too_many_gifts_a_minute_are_held_for_review() -> None:
    decision = evaluate(facts(gifts_last_minute=31), CONFIG)
    assert decision.outcome == "review"
    assert decision.enforced == ("gifts_per_minute",)


def test_the_strongest_enforced_outcome_wins() -> None:
    decision = evaluate(
        facts(gifts_last_minute=31, coins_last_hour=25_000, coins_to_creator_last_hour=0), CONFIG
    )
    assert decision.outcome == "block"
    assert set(decision.enforced) == {"gifts_per_minute", "coins_per_hour"}


def test_high_value_gifts_from_new_accounts_are_reviewed() -> None:
    assert evaluate(facts(total_coins=5000, account_age_s=60), CONFIG).outcome == "review"
    assert evaluate(facts(total_coins=5000, account_age_s=2 * 24 * 3600), CONFIG).outcome == "allow"


def test_shadow_rules_alert_without_touching_the_gift() -> None:
    decision = evaluate(facts(coins_last_hour=3000, coins_to_creator_last_hour=3000), CONFIG)
    assert decision.outcome == "allow"
    assert [h.rule.name for h in decision.hits] == ["creator_concentration"]
    assert decision.hits[0].observed == 10_000  # basis points: all of it to one creator
    enforced = FraudConfig(creator_concentration=Rule("creator_concentration", "review", 9000, 3600))
    assert (
        evaluate(facts(coins_last_hour=3000, coins_to_creator_last_hour=3000), enforced).outcome == "review"
    )


class FakeCounters:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.gifts = 0

    async def facts_many(self, gifts: Sequence[GiftCount], now_s: float) -> list[GiftFacts]:
        out = []
        for g in gifts:
            if g.gift_id not in self.seen:
                self.seen.add(g.gift_id)
                self.gifts += 1
            out.append(facts(gifts_last_minute=self.gifts, total_coins=g.coins))
        return out


async def test_screening_emits_one_alert_per_hit_with_stable_ids() -> None:
    counters = FakeCounters()
    gifts = [
        GiftRequested(
            gift_id=uuid.uuid4(),
            sender_id="u1",
            creator_id="c1",
            room_id="r",
            gift_sku="rose",
            quantity=1,
            unit_price_coins=10,
            total_coins=10,
            producer="t",
        )
        for _ in range(32)
    ]
    screened, alerts = await screen(gifts, counters, CONFIG, now_s=0)
    assert [s.decision for s in screened].count("review") == 2  # the 31st and 32nd
    assert [a.rule for a in alerts] == ["gifts_per_minute", "gifts_per_minute"]
    again, again_alerts = await screen(gifts[-1:], counters, CONFIG, now_s=0)  # redelivered
    assert again[0].event_id == screened[-1].event_id
    assert again_alerts[0].event_id == alerts[-1].event_id
    assert counters.gifts == 32


def test_rules_come_from_settings(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from streams.fraud.rules import gift_rules, topup_rules
    from streams.settings import FraudSettings

    monkeypatch.setenv("FRAUD_GIFTS_PER_MINUTE", "3")
    monkeypatch.setenv("FRAUD_GIFTS_PER_MINUTE_SHADOW", "true")
    monkeypatch.setenv("FRAUD_TOPUPS_PER_USER_HOUR", "1")
    settings = FraudSettings()
    rules = gift_rules(settings)
    decision = evaluate(facts(gifts_last_minute=4), rules)
    assert decision.outcome == "allow"  # shadow: alert only
    assert [h.rule.name for h in decision.hits] == ["gifts_per_minute"]
    assert topup_rules(settings).topups_per_user_hour.threshold == 1
    assert gift_rules(FraudSettings(_env_file=None)).gifts_per_minute.threshold >= 1


class FakeRooms:
    async def gift_problems(self, gifts: Sequence[tuple[str, str, str]]) -> list[GiftRoomProblem | None]:
        return [
            GiftRoomProblem.UNKNOWN_CREATOR
            if room != "r"
            else GiftRoomProblem.SENDER_BANNED
            if sender == "troll"
            else None
            for room, sender, _ in gifts
        ]


async def test_gifts_to_a_room_that_is_not_the_creators_or_from_a_banned_sender_are_blocked() -> None:
    counters = FakeCounters()

    def gift(sender: str, room: str) -> GiftRequested:
        return GiftRequested(
            gift_id=uuid.uuid4(),
            sender_id=sender,
            creator_id="c1",
            room_id=room,
            gift_sku="rose",
            quantity=1,
            unit_price_coins=10,
            total_coins=10,
            producer="t",
        )

    screened, alerts = await screen(
        [gift("u1", "r"), gift("u1", "elsewhere"), gift("troll", "r")],
        counters,
        CONFIG,
        now_s=0,
        rooms=FakeRooms(),
    )
    assert [(s.decision, s.rules, s.room_problem) for s in screened] == [
        ("allow", (), None),
        ("block", (), GiftRoomProblem.UNKNOWN_CREATOR),
        ("block", (), GiftRoomProblem.SENDER_BANNED),
    ]
    assert counters.gifts == 1  # refused gifts are not counted against the fraud windows
    assert alerts == []
    assert [fraud_problem(s) for s in screened] == [
        None,
        (GiftRejectReason.UNKNOWN_CREATOR, "the room is not open or is not this creator's"),
        (GiftRejectReason.SENDER_BANNED, "the sender is banned or timed out in this room"),
    ]
