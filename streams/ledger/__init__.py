"""The ledger of record: double-entry, append-only, integer amounts, idempotent by id."""
