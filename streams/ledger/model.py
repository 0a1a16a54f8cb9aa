"""Ledger domain: accounts, transfers and the rules of money. No I/O, no framework.

Conventions (TigerBeetle-like): a transfer moves ``amount`` of one asset from its debit
account to its credit account; an account's balance is credits - debits of posted transfers;
pending transfers reserve the debit side until posted or voided. User wallets and creator
earnings may never be overdrawn; system accounts may (issuance is negative by the coins in
circulation). Per asset the balances always sum to zero. Transfer ids are idempotency keys,
derived deterministically from what caused them (a gift, a top-up), so a replay maps to the
same ids.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from streams.exceptions import PlatformError
from streams.ids import derived_ids

COINS = "COINS"


class LedgerError(PlatformError):
    pass


class InsufficientFunds(LedgerError):
    pass


class IdempotencyConflict(LedgerError):
    """The same id was used again for a different request."""


class UnknownTransfer(LedgerError):
    pass


class Flags(StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


class AccountKind(StrEnum):
    USER_COINS = "user_coins"
    CREATOR_EARNINGS = "creator_earnings"
    USER_DEBT = "user_debt"
    SYSTEM = "system"


NEGATIVE_ALLOWED = {AccountKind.SYSTEM, AccountKind.USER_DEBT}


def account(kind: AccountKind, owner: str) -> str:
    return f"{kind.value}:{owner}"


def kind_of(account_id: str) -> AccountKind:
    return AccountKind(account_id.split(":", 1)[0])


def owner_of(account_id: str) -> str:
    return account_id.split(":", 1)[1]


COIN_ISSUANCE = account(AccountKind.SYSTEM, "coin_issuance")
PLATFORM_REVENUE = account(AccountKind.SYSTEM, "platform_revenue")
PAYOUT_CLEARING = account(AccountKind.SYSTEM, "payout_clearing")


@dataclass(frozen=True)
class Transfer:
    id: uuid.UUID
    posting_id: uuid.UUID
    kind: str
    flags: Flags
    asset: str
    amount: int
    debit_account: str
    credit_account: str
    reference_id: str
    pending_id: uuid.UUID | None = None
    reverses: uuid.UUID | None = None
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise LedgerError(f"transfer amount must be a positive integer, got {self.amount!r}")
        if self.debit_account == self.credit_account:
            raise LedgerError("a transfer needs two different accounts")
        if (self.flags in (Flags.POST_PENDING, Flags.VOID_PENDING)) != (self.pending_id is not None):
            raise LedgerError("post_pending and void_pending (only) name the pending transfer")


@dataclass
class Totals:
    """Running totals of one account."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending


def apply(totals: dict[str, Totals], transfer: Transfer, pending: Transfer | None = None) -> None:
    """Add ``transfer`` to the running totals (``pending``: the transfer it resolves)."""
    debit = totals.setdefault(transfer.debit_account, Totals())
    credit = totals.setdefault(transfer.credit_account, Totals())
    amount = transfer.amount
    if transfer.flags is Flags.POSTED:
        debit.debits_posted += amount
        credit.credits_posted += amount
    elif transfer.flags is Flags.PENDING:
        debit.debits_pending += amount
        credit.credits_pending += amount
    else:
        if pending is None:
            raise UnknownTransfer(f"{transfer.flags} of an unknown pending transfer {transfer.pending_id}")
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if transfer.flags is Flags.POST_PENDING:
            debit.debits_posted += pending.amount
            credit.credits_posted += pending.amount


def overdrawn(totals: Mapping[str, Totals]) -> list[str]:
    """Accounts that may not go negative but would (the database refuses these too)."""
    return [a for a, t in totals.items() if kind_of(a) not in NEGATIVE_ALLOWED and t.available < 0]


def conserved(totals: Mapping[str, Totals], assets: Mapping[str, str]) -> dict[str, int]:
    """Sum of balances per asset; every value must be 0."""
    sums: dict[str, int] = {}
    for account_id, t in totals.items():
        sums[assets[account_id]] = sums.get(assets[account_id], 0) + t.balance
    return sums


# Gifts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftRequest:
    """A gift for the ledger. ``refusal`` (reason, detail): refused before the ledger (catalog,
    room standing, fraud, an analyst): the ledger records that as the outcome unless the gift
    was already decided."""

    gift_id: uuid.UUID
    sender_id: str
    creator_id: str
    room_id: str
    gift_sku: str
    quantity: int
    total_coins: int
    refusal: tuple[str, str] | None = None

    def fingerprint(self) -> str:
        text = f"{self.sender_id}|{self.creator_id}|{self.room_id}|{self.gift_sku}|{self.quantity}|{self.total_coins}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def wallet(self) -> str:
        return account(AccountKind.USER_COINS, self.sender_id)

    @property
    def earnings(self) -> str:
        return account(AccountKind.CREATOR_EARNINGS, self.creator_id)


@dataclass(frozen=True)
class GiftOutcome:
    """What became of a gift, as recorded the first time it was decided. ``conflict``: this id
    was decided before for a different request (the recorded outcome is not this one's)."""

    gift_id: uuid.UUID
    settled: bool
    reason: str | None
    posting_id: uuid.UUID | None
    sender_balance_after: int | None
    creator_share: int = 0
    platform_fee: int = 0
    transfers: tuple[Transfer, ...] = field(default=(), repr=False)
    detail: str = ""
    decided_at: datetime | None = None
    conflict: bool = False


def split(total: int, creator_share_bps: int) -> tuple[int, int]:
    """(creator share, platform fee); integer, rounding down in the platform's disfavour never
    creates coins: the two always add up to ``total``."""
    if not 0 <= creator_share_bps <= 10_000:
        raise LedgerError("creator share must be between 0 and 10000 basis points")
    share = total * creator_share_bps // 10_000
    return share, total - share


def gift_transfers(gift: GiftRequest, creator_share_bps: int) -> tuple[uuid.UUID, list[Transfer], int, int]:
    posting, share_id, fee_id = derived_ids("gift", gift.gift_id, 3)
    share, fee = split(gift.total_coins, creator_share_bps)
    reference = str(gift.gift_id)
    legs = []
    if share:
        legs.append(
            Transfer(
                share_id, posting, "gift", Flags.POSTED, COINS, share, gift.wallet, gift.earnings, reference
            )
        )
    if fee:
        legs.append(
            Transfer(
                fee_id,
                posting,
                "gift_fee",
                Flags.POSTED,
                COINS,
                fee,
                gift.wallet,
                PLATFORM_REVENUE,
                reference,
            )
        )
    return posting, legs, share, fee


def decide_gifts(
    gifts: Sequence[GiftRequest], available: dict[str, int], creator_share_bps: int
) -> list[GiftOutcome]:
    """Settle in order while the sender's wallet covers it; ``available`` is updated in place."""
    outcomes = []
    for gift in gifts:
        if gift.refusal is not None:
            outcomes.append(
                GiftOutcome(gift.gift_id, False, gift.refusal[0], None, None, detail=gift.refusal[1])
            )
            continue
        if gift.sender_id == gift.creator_id:
            outcomes.append(
                GiftOutcome(
                    gift.gift_id, False, "self_gift", None, None, detail="a creator cannot gift themselves"
                )
            )
            continue
        if gift.total_coins <= 0:
            outcomes.append(GiftOutcome(gift.gift_id, False, "unknown_gift", None, None, detail="no price"))
            continue
        funds = available.get(gift.wallet, 0)
        if funds < gift.total_coins:
            detail = f"insufficient funds: {gift.total_coins:,} coins needed, {funds:,} available"
            outcomes.append(
                GiftOutcome(gift.gift_id, False, "insufficient_funds", None, funds, detail=detail)
            )
            continue
        posting, legs, share, fee = gift_transfers(gift, creator_share_bps)
        available[gift.wallet] = funds - gift.total_coins
        outcomes.append(
            GiftOutcome(gift.gift_id, True, None, posting, funds - gift.total_coins, share, fee, tuple(legs))
        )
    return outcomes


def unique_by_id(gifts: Iterable[GiftRequest]) -> list[GiftRequest]:
    """First request per gift id (a batch may carry the same gift twice)."""
    seen: set[uuid.UUID] = set()
    out = []
    for gift in gifts:
        if gift.gift_id not in seen:
            seen.add(gift.gift_id)
            out.append(gift)
    return out
