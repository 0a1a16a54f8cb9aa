"""PostgreSQL: connections and the ordered migration runner for the ledger database."""
