"""Event contracts: one typed model per event (ARCHITECTURE.md, Contracts)."""
