"""Great Expectations (GX Core 1.x) suite for a payout batch, run from a blocking asset check."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

VALID_CURRENCIES = ("USD", "EUR", "GBP")


@dataclass(frozen=True)
class SuiteOutcome:
    passed: bool
    failed: list[str]
    checked: int


def validate_batch(batch: pd.DataFrame, ledger_total_coins: int) -> SuiteOutcome:
    """No nulls, positive amounts, one row per creator, a valid currency, and the batch's coins
    adding up to the ledger's payables for the same creators."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    batch_definition = (
        context.data_sources.add_pandas("payouts")
        .add_dataframe_asset("payout_batch")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(name="payout_batch")
    for column in ("payout_id", "creator_id", "period", "coins", "amount_cents", "currency"):
        suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(column="amount_cents", min_value=1))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(column="coins", min_value=1))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="creator_id"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="payout_id"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="currency", value_set=list(VALID_CURRENCIES))
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnSumToBeBetween(
            column="coins", min_value=ledger_total_coins, max_value=ledger_total_coins
        )
    )
    result = batch_definition.get_batch(batch_parameters={"dataframe": batch}).validate(suite)
    failed = [
        f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
        for r in result.results
        if not r.success and r.expectation_config is not None
    ]
    return SuiteOutcome(bool(result.success), failed, len(result.results))
