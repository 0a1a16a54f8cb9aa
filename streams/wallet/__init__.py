"""Wallet use-cases that run in the background (top-up expiry)."""
