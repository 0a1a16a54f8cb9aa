"""Gift fraud rules, as plain data and arithmetic over counters (no I/O).

Each rule has an outcome when it fires (review: hold for an analyst; block) and may run in
shadow mode (the hit is an alert, the gift is not touched). The gift's decision is the
strongest outcome among the enforced rules that fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Outcome = Literal["allow", "review", "block"]
STRENGTH: Mapping[str, int] = {"allow": 0, "review": 1, "block": 2}


@dataclass(frozen=True)
class Rule:
    name: str
    outcome: Outcome
    threshold: int
    window_s: int
    shadow: bool = False


@dataclass(frozen=True)
class FraudConfig:
    gifts_per_minute: Rule = Rule("gifts_per_minute", "review", 30, 60)
    coins_per_hour: Rule = Rule("coins_per_hour", "block", 20_000, 3600)
    high_value_new_account: Rule = Rule("high_value_new_account", "review", 5_000, 24 * 3600)
    # Share (basis points) of a sender's coins in the window going to one creator, counted once
    # the sender has spent at least ``concentration_min_coins``.
    creator_concentration: Rule = Rule("creator_concentration", "review", 9_000, 3600, shadow=True)
    concentration_min_coins: int = 2_000


@dataclass(frozen=True)
class TopUpConfig:
    topups_per_user_hour: Rule = Rule("topups_per_user_hour", "block", 5, 3600)
    cents_per_user_hour: Rule = Rule("cents_per_user_hour", "review", 50_000, 3600)
    cents_per_instrument_hour: Rule = Rule("cents_per_instrument_hour", "block", 100_000, 3600)
    topups_per_device_hour: Rule = Rule("topups_per_device_hour", "review", 10, 3600)
    topups_per_ip_hour: Rule = Rule("topups_per_ip_hour", "review", 20, 3600)
    chargebacks: Rule = Rule("chargeback_history", "block", 2, 90 * 24 * 3600)


@dataclass(frozen=True)
class TopUpFacts:
    """What the counters say about a top-up attempt, counting the attempt itself."""

    topups_user_hour: int
    cents_user_hour: int
    cents_instrument_hour: int
    topups_device_hour: int
    topups_ip_hour: int
    chargebacks: int


def evaluate_topup(facts: TopUpFacts, config: TopUpConfig) -> Decision:
    checks = [
        (config.topups_per_user_hour, facts.topups_user_hour),
        (config.cents_per_user_hour, facts.cents_user_hour),
        (config.cents_per_instrument_hour, facts.cents_instrument_hour),
        (config.topups_per_device_hour, facts.topups_device_hour),
        (config.topups_per_ip_hour, facts.topups_ip_hour),
    ]
    hits = [Hit(rule, observed) for rule, observed in checks if observed > rule.threshold]
    if facts.chargebacks >= config.chargebacks.threshold:
        hits.append(Hit(config.chargebacks, facts.chargebacks))
    return Decision(strongest(hits), tuple(hits))


@dataclass(frozen=True)
class GiftFacts:
    """What the counters say about a gift, counting the gift itself."""

    gifts_last_minute: int
    coins_last_hour: int
    coins_to_creator_last_hour: int
    account_age_s: int
    total_coins: int


@dataclass(frozen=True)
class Hit:
    rule: Rule
    observed: int


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    hits: tuple[Hit, ...] = field(default=())

    @property
    def enforced(self) -> tuple[str, ...]:
        return tuple(h.rule.name for h in self.hits if not h.rule.shadow)

    @property
    def decisive(self) -> tuple[str, ...]:
        """The enforced rules whose outcome is the decision (what to tell the user)."""
        return tuple(h.rule.name for h in self.hits if not h.rule.shadow and h.rule.outcome == self.outcome)


def evaluate(facts: GiftFacts, config: FraudConfig) -> Decision:
    hits: list[Hit] = []
    if facts.gifts_last_minute > config.gifts_per_minute.threshold:
        hits.append(Hit(config.gifts_per_minute, facts.gifts_last_minute))
    if facts.coins_last_hour > config.coins_per_hour.threshold:
        hits.append(Hit(config.coins_per_hour, facts.coins_last_hour))
    rule = config.high_value_new_account
    if facts.total_coins >= rule.threshold and facts.account_age_s < rule.window_s:
        hits.append(Hit(rule, facts.total_coins))
    if facts.coins_last_hour >= config.concentration_min_coins:
        share_bps = facts.coins_to_creator_last_hour * 10_000 // max(facts.coins_last_hour, 1)
        if share_bps >= config.creator_concentration.threshold:
            hits.append(Hit(config.creator_concentration, share_bps))
    return Decision(strongest(hits), tuple(hits))


def strongest(hits: Sequence[Hit]) -> Outcome:
    outcome: Outcome = "allow"
    for hit in hits:
        if not hit.rule.shadow and STRENGTH[hit.rule.outcome] > STRENGTH[outcome]:
            outcome = hit.rule.outcome
    return outcome


@dataclass(frozen=True)
class GiftCount:
    """A gift as the counters see it."""

    gift_id: str
    sender: str
    creator: str
    coins: int


class Counters(Protocol):
    async def facts_many(self, gifts: Sequence[GiftCount], now_s: float) -> list[GiftFacts]:
        """Count each gift (once per gift id, however often it is delivered), in order, and read
        the windows as they stand after it: a batch's second gift from a sender sees the first."""
        ...


class FraudThresholds(Protocol):
    """The settings the rules are built from (``streams.settings.FraudSettings``)."""

    gifts_per_minute: int
    gifts_per_minute_shadow: bool
    coins_per_hour: int
    coins_per_hour_shadow: bool
    high_value_coins: int
    new_account_s: int
    high_value_new_account_shadow: bool
    concentration_bps: int
    concentration_min_coins: int
    concentration_shadow: bool
    topups_per_user_hour: int
    cents_per_user_hour: int
    cents_per_instrument_hour: int
    topups_per_device_hour: int
    topups_per_ip_hour: int
    chargebacks_block: int
    topup_rules_shadow: bool


def gift_rules(t: FraudThresholds) -> FraudConfig:
    return FraudConfig(
        gifts_per_minute=Rule(
            "gifts_per_minute", "review", t.gifts_per_minute, 60, t.gifts_per_minute_shadow
        ),
        coins_per_hour=Rule("coins_per_hour", "block", t.coins_per_hour, 3600, t.coins_per_hour_shadow),
        high_value_new_account=Rule(
            "high_value_new_account",
            "review",
            t.high_value_coins,
            t.new_account_s,
            t.high_value_new_account_shadow,
        ),
        creator_concentration=Rule(
            "creator_concentration", "review", t.concentration_bps, 3600, t.concentration_shadow
        ),
        concentration_min_coins=t.concentration_min_coins,
    )


def topup_rules(t: FraudThresholds) -> TopUpConfig:
    shadow = t.topup_rules_shadow
    return TopUpConfig(
        topups_per_user_hour=Rule("topups_per_user_hour", "block", t.topups_per_user_hour, 3600, shadow),
        cents_per_user_hour=Rule("cents_per_user_hour", "review", t.cents_per_user_hour, 3600, shadow),
        cents_per_instrument_hour=Rule(
            "cents_per_instrument_hour", "block", t.cents_per_instrument_hour, 3600, shadow
        ),
        topups_per_device_hour=Rule(
            "topups_per_device_hour", "review", t.topups_per_device_hour, 3600, shadow
        ),
        topups_per_ip_hour=Rule("topups_per_ip_hour", "review", t.topups_per_ip_hour, 3600, shadow),
        chargebacks=Rule("chargeback_history", "block", t.chargebacks_block, 90 * 24 * 3600, shadow),
    )
