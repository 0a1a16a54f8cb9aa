"""Fraud and abuse rules on gifts: counters over windows, outcomes allow / review / block."""
