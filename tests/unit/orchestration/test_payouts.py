"""The payout planner on known payables: minimums, exclusions, reruns, failures, backfills."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from orchestration.payouts import PayoutLine, payout_id, plan, read_settlement_file
from streams.settings import FinanceSettings

DAY = date(2026, 11, 20)
FINANCE = FinanceSettings(min_payout_cents=1_000, cents_per_coin_bps=5_000, currency="EUR")


def test_payouts_are_integer_cents_above_the_minimum_with_reasons_for_the_rest() -> None:
    lines, excluded = plan(DAY, {"a": 5_001, "b": 1_999, "c": 0, "d": -300}, {}, FINANCE)
    assert [(x.creator_id, x.coins, x.amount_cents, x.currency) for x in lines] == [
        ("a", 5_001, 2_500, "EUR")
    ]
    assert lines[0].payout_id == payout_id("a", DAY)  # the same creator and day: the same id, always
    reasons = {e.creator_id: e.reason for e in excluded}
    assert reasons["b"] == "999 cents is below the 1000 minimum"
    assert reasons["c"].startswith("nothing payable")
    assert reasons["d"].startswith("nothing payable")


def test_a_rerun_keeps_existing_payouts_unchanged_and_adds_nothing_for_them() -> None:
    existing = PayoutLine(payout_id("a", DAY), "a", DAY, 4_000, 2_000, "EUR")
    lines, _ = plan(DAY, {"a": 9_999, "b": 4_000}, {"a": existing}, FINANCE)
    assert lines == [existing, PayoutLine(payout_id("b", DAY), "b", DAY, 4_000, 2_000, "EUR")]


def test_failed_payouts_and_later_payouts_are_not_paid_again_for_this_day() -> None:
    lines, excluded = plan(
        DAY, {"a": 9_000, "b": 9_000}, {}, FINANCE, failed=frozenset({"a"}), later=frozenset({"b"})
    )
    assert lines == []
    assert {e.creator_id: e.reason for e in excluded} == {
        "a": "this period's payout failed; paid with a later period",
        "b": "a later period is already paid, which covered this one",
    }


def test_settlement_files_are_read_line_by_line_with_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "settle.csv"
    path.write_text("payout_id,status,amount_cents,provider_ref\n p1 ,paid,100,r1\np2,failed,,\n")
    first, second = read_settlement_file(path)
    assert (first.line, first.payout_id, first.status, first.amount_cents, first.provider_ref) == (
        2,
        "p1",
        "paid",
        "100",
        "r1",
    )
    assert (second.line, second.status, second.amount_cents) == (3, "failed", "")
