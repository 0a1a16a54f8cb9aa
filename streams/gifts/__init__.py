"""Gifts: the catalog, and the settlement of gift requests against the ledger."""
